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
  /** Pause of each idempotent producer between its commits. */
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

/**
 * `plainWriters` plain writers and `producers` idempotent producers (ids from initProducer) commit
 * 10 × 1 KiB records at a time to one partition for a while (producers pausing `producerPauseMs`
 * between commits); each kind has its own clients, so its request units are counted apart. The
 * head is sampled while they write. Cancelled transactions report no request units on DynamoDB
 * Local and none are estimated for them: they are counted as failed conditions instead.
 */
export async function producersCost(
  config: BenchConfig,
  stack: BenchStack,
  run: string,
  plainWriters = 16,
  producers = 64,
  producerPauseMs = 250,
): Promise<ProducersWriteCost> {
  const plain = stack.costClients();
  const idem = stack.costClients();
  const topic = `cost-producers-${run}`;
  const created = await plain.engine.createTopic({ name: topic, partitions: 1 });
  const ids = await Promise.all(Array.from({ length: producers }, () => idem.engine.initProducer()));
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
      ...ids.map(async (p, i) => {
        // Active, not flat out: each producer commits about 4 times a second (staggered), so the
        // partition has 64 producers with live state while about 16 + 16 calls are in flight.
        await sleep((i * 250) / producers);
        for (let sequence = 0; performance.now() < until; sequence += records.length) {
          if (sequence > 0) await sleep(producerPauseMs);
          await idem.engine.produce({
            topic,
            records,
            producer: { producerId: p.producerId, epoch: p.epoch, sequences: sequence },
          });
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
