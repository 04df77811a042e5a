import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchConfig } from '../config.ts';
import { type HeadFigures, watchHead } from '../support/head.ts';
import {
  errorsNamed,
  failedConditions,
  type InstrumentSnapshot,
  retriedByName,
} from '../support/instrument.ts';
import { round, sum } from '../support/load.ts';
import { produceRecords } from '../support/records.ts';
import type { BenchStack } from '../support/stack.ts';

/** WRU per commit on one partition while idempotent producers write it too (issue 8). */
export interface ProducersWriteCost {
  readonly plainWriters: number;
  /** Callers committing for the idempotent producers, each cycling through its share of them. */
  readonly idempotentWriters: number;
  /** Pause of each idempotent caller between its commits. */
  readonly producerPauseMs: number;
  readonly idempotentProducers: number;
  readonly plainCommits: number;
  readonly idempotentCommits: number;
  /** Write request units per plain commit (head update, paging) while the producers are active. */
  readonly wruPerPlainCommit: number;
  /** Per idempotent commit: a TransactWriteItems of the head and the producer's state item. */
  readonly wruPerIdempotentCommit: number;
  /** Read units per idempotent commit (registration, state, the head for the offset). */
  readonly rruPerIdempotentCommit: number;
  /** ConditionalCheckFailed and TransactionCanceled answers per commit, both kinds together... */
  readonly failedConditionsPerCommit: number;
  /** ...per plain commit (full tail, page races) and per idempotent commit (cancelled transactions). */
  readonly plainFailedConditionsPerCommit: number;
  readonly idempotentFailedConditionsPerCommit: number;
  /** TransactionConflict answers per plain commit: a plain append or trim met a transaction on the head. */
  readonly plainTransactionConflictsPerCommit: number;
  /** Failed attempts the SDK retried on its own, per commit of either kind. */
  readonly sdkRetriesPerCommit: number;
  /** Requests and errors of the plain writers' and the producers' clients, per commit of each. */
  readonly plainRequestsPerCommit: Record<string, number>;
  readonly idempotentRequestsPerCommit: Record<string, number>;
  /** The head item's size at the end, by DynamoDB's item-size rules (= head.endBytes). */
  readonly headBytes: number;
  /** The head at the end and the largest seen while the producers wrote (tail included). */
  readonly head: HeadFigures;
}

export interface ProducersCostShape {
  readonly plainWriters: number;
  readonly idempotentWriters: number;
  readonly producers: number;
  readonly producerPauseMs: number;
}

/**
 * 16 callers on one partition, as in the 16-writer figure: 8 plain writers and 8 callers that
 * commit for 64 idempotent producers (8 each, in turn), so 64 producers have live state while the
 * concurrency on the head stays 16.
 */
export const SIXTEEN_WRITERS: ProducersCostShape = {
  plainWriters: 8,
  idempotentWriters: 8,
  producers: 64,
  producerPauseMs: 0,
};

/**
 * 16 plain writers flat out plus 64 producers committing on their own (about 4 times a second
 * each, when the machine keeps up): up to 80 callers on one head, above what one partition takes
 * on AWS (≈ 1,000 WRU/s at ~10 ms a commit is ~10 in flight).
 */
export const EIGHTY_CALLERS: ProducersCostShape = {
  plainWriters: 16,
  idempotentWriters: 64,
  producers: 64,
  producerPauseMs: 250,
};

/**
 * Plain writers and idempotent callers (ids from initProducer) commit 10 × 1 KiB records at a time
 * to one partition for a while; each kind has its own clients, so its request units are counted
 * apart. The head is sampled while they write. Transactions are billed as on AWS (2 units per item
 * KB); a cancelled one is estimated from the items it returned, 2 units per KB each.
 */
export async function producersCost(
  config: BenchConfig,
  stack: BenchStack,
  run: string,
  shape: ProducersCostShape,
): Promise<ProducersWriteCost> {
  const { plainWriters, idempotentWriters, producers, producerPauseMs } = shape;
  const plain = stack.costClients();
  const idem = stack.costClients();
  const topic = `cost-producers-${run}-${plainWriters}-${idempotentWriters}`;
  const created = await plain.engine.createTopic({ name: topic, partitions: 1 });
  const ids = await Promise.all(Array.from({ length: producers }, () => idem.engine.initProducer()));
  const sequences = ids.map(() => 0);
  const records = produceRecords({ id: 'c', records: 10, valueBytes: 1024 }, 1, 0);
  const until = performance.now() + Math.max(1500, Math.min(6000, config.contention.budgetMs));
  let plainCommits = 0;
  let idempotentCommits = 0;
  plain.instruments.reset();
  idem.instruments.reset();
  const [, head] = await watchHead(stack, created.id, 0, () =>
    Promise.all([
      ...Array.from({ length: plainWriters }, async () => {
        while (performance.now() < until) {
          await plain.engine.produce({ topic, records });
          plainCommits++;
        }
      }),
      ...Array.from({ length: idempotentWriters }, async (_, w) => {
        // Caller w commits for producers w, w + idempotentWriters, ... in turn (staggered start).
        const mine = ids.map((_, i) => i).filter((i) => i % idempotentWriters === w);
        await sleep((w * Math.max(producerPauseMs, 10)) / idempotentWriters);
        for (let turn = 0; performance.now() < until; turn++) {
          if (turn > 0 && producerPauseMs > 0) await sleep(producerPauseMs);
          const i = mine[turn % mine.length] as number;
          const p = ids[i] as (typeof ids)[number];
          await idem.engine.produce({
            topic,
            records,
            producer: { producerId: p.producerId, epoch: p.epoch, sequences: sequences[i] as number },
          });
          sequences[i] = (sequences[i] as number) + records.length;
          idempotentCommits++;
        }
      }),
    ]),
  );
  const a = plain.instruments.snapshot();
  const b = idem.instruments.snapshot();
  const perPlain = (n: number) => round(n / Math.max(1, plainCommits), 3);
  const perIdempotent = (n: number) => round(n / Math.max(1, idempotentCommits), 3);
  const retried = (snapshot: InstrumentSnapshot) => sum(Object.values(retriedByName(snapshot)));
  return {
    plainWriters,
    idempotentWriters,
    producerPauseMs,
    idempotentProducers: producers,
    plainCommits,
    idempotentCommits,
    wruPerPlainCommit: perPlain(a.capacity.write + a.capacity.failedWriteEstimate),
    wruPerIdempotentCommit: perIdempotent(b.capacity.write + b.capacity.failedWriteEstimate),
    rruPerIdempotentCommit: perIdempotent(b.capacity.read),
    failedConditionsPerCommit: round(
      (failedConditions(a.errors) + failedConditions(b.errors)) /
        Math.max(1, plainCommits + idempotentCommits),
      3,
    ),
    plainFailedConditionsPerCommit: perPlain(failedConditions(a.errors)),
    idempotentFailedConditionsPerCommit: perIdempotent(failedConditions(b.errors)),
    plainTransactionConflictsPerCommit: perPlain(errorsNamed(a.errors, 'TransactionConflictException')),
    sdkRetriesPerCommit: round((retried(a) + retried(b)) / Math.max(1, plainCommits + idempotentCommits), 3),
    plainRequestsPerCommit: perCommit({ ...a.requests, ...a.errors }, plainCommits),
    idempotentRequestsPerCommit: perCommit({ ...b.requests, ...b.errors }, idempotentCommits),
    headBytes: head.endBytes,
    head,
  };
}

function perCommit(counts: Record<string, number>, commits: number): Record<string, number> {
  return Object.fromEntries(
    Object.entries(counts).map(([name, n]) => [name, round(n / Math.max(1, commits), 3)]),
  );
}
