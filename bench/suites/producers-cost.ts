import { setTimeout as sleep } from 'node:timers/promises';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { BenchConfig } from '../config.ts';
import { itemSize } from '../support/item-size.ts';
import { round } from '../support/load.ts';
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
  readonly failedConditionsPerCommit: number;
  /** Requests and errors of the plain writers' and the producers' clients, per commit of each. */
  readonly plainRequestsPerCommit: Record<string, number>;
  readonly idempotentRequestsPerCommit: Record<string, number>;
  /** The head item's size at the end, by DynamoDB's item-size rules. */
  readonly headBytes: number;
}

/**
 * `plainWriters` plain writers and `producers` idempotent producers (ids from initProducer) commit
 * 10 × 1 KiB records at a time to one partition for a while (producers pausing `producerPauseMs`
 * between commits); each kind has its own clients, so
 * its request units are counted apart.
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
  await plain.engine.createTopic({ name: topic, partitions: 1 });
  const ids = await Promise.all(Array.from({ length: producers }, () => idem.engine.initProducer()));
  const records = produceRecords({ id: 'c', records: 10, valueBytes: 1024 }, 1, 0);
  const until = performance.now() + Math.max(1500, Math.min(6000, config.contention.budgetMs));
  let plainCommits = 0;
  let idempotentCommits = 0;
  plain.instruments.reset();
  idem.instruments.reset();
  await Promise.all([
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
  ]);
  const a = plain.instruments.snapshot();
  const b = idem.instruments.snapshot();
  const failed = [a, b]
    .flatMap((s) => Object.entries(s.errors))
    .filter(([name]) => /ConditionalCheckFailed|TransactionCanceled/.test(name))
    .reduce((total, [, n]) => total + n, 0);
  const described = await plain.engine.describeTopic(topic);
  const head = await plain.dynamodb.send(
    new GetItemCommand({
      TableName: stack.tables.log,
      Key: { pk: { S: `${described.id}#0` }, sk: { N: '-1' } },
      ConsistentRead: true,
    }),
  );
  return {
    plainWriters,
    producerPauseMs,
    idempotentProducers: producers,
    plainCommits,
    idempotentCommits,
    wruPerPlainCommit: round(
      (a.capacity.write + a.capacity.failedWriteEstimate) / Math.max(1, plainCommits),
      3,
    ),
    wruPerIdempotentCommit: round(
      (b.capacity.write + b.capacity.failedWriteEstimate) / Math.max(1, idempotentCommits),
      3,
    ),
    rruPerIdempotentCommit: round(b.capacity.read / Math.max(1, idempotentCommits), 3),
    failedConditionsPerCommit: round(failed / Math.max(1, plainCommits + idempotentCommits), 3),
    plainRequestsPerCommit: perCommit({ ...a.requests, ...a.errors }, plainCommits),
    idempotentRequestsPerCommit: perCommit({ ...b.requests, ...b.errors }, idempotentCommits),
    headBytes: itemSize(head.Item ?? {}),
  };
}

function perCommit(counts: Record<string, number>, commits: number): Record<string, number> {
  return Object.fromEntries(
    Object.entries(counts).map(([name, n]) => [name, round(n / Math.max(1, commits), 3)]),
  );
}
