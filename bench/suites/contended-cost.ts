import type { BenchConfig } from '../config.ts';
import { PRICES } from '../prices.ts';
import { type HeadFigures, watchHead } from '../support/head.ts';
import { count, failedConditions, retriedByName } from '../support/instrument.ts';
import { GiB, round, runLoad, sum } from '../support/load.ts';
import { produceRecords } from '../support/records.ts';
import type { BenchStack } from '../support/stack.ts';

/** The write cost of contention: N producers on one partition, 10 × 1 KiB commits (cost clients). */
export interface ContendedWriteCost {
  readonly writers: number;
  readonly commits: number;
  readonly requestsPerCommit: Record<string, number>;
  /** ConditionalCheckFailed and TransactionCanceled answers per commit. */
  readonly failedConditionsPerCommit: number;
  /** Failed attempts the SDK retried on its own, per commit. */
  readonly sdkRetriesPerCommit: number;
  /** Write request units DynamoDB Local reported per commit, plus failed-write estimates (issue 8). */
  readonly wruPerCommit: number;
  /** The partition head at the end of the run, and the largest seen while it ran. */
  readonly head: HeadFigures;
  readonly usdPerGiB: number;
}

/**
 * WRU per commit with `writers` concurrent writers on one partition, 10 × 1 KiB records per commit,
 * counted on the cost clients (ReturnConsumedCapacity on every DynamoDB request).
 */
export async function contendedCost(
  config: BenchConfig,
  stack: BenchStack,
  cost: ReturnType<BenchStack['costClients']>,
  writers: number,
  run: string,
): Promise<ContendedWriteCost> {
  const topic = `cost-contended-n${writers}-${run}`;
  const created = await cost.engine.createTopic({ name: topic, partitions: 1 });
  const records = produceRecords({ id: 'c', records: 10, valueBytes: 1024 }, 1, 0);
  const call = async () => {
    await cost.engine.produce({ topic, records });
    return { bytes: 10 * 1024, records: 10 };
  };
  await runLoad({ concurrency: writers, budgetMs: 0, maxCalls: writers }, call);
  cost.instruments.reset();
  const budgetMs = Math.min(3000, config.contention.budgetMs / 2);
  const [load, head] = await watchHead(stack, created.id, 0, () =>
    runLoad({ concurrency: writers, budgetMs, maxCalls: 1_000_000 }, call),
  );
  const snapshot = cost.instruments.snapshot();
  const commits = load.calls - load.errors;
  const wru = snapshot.capacity.write + snapshot.capacity.failedWriteEstimate;
  const puts = count(snapshot.requests, 's3:', ['PutObject']);
  const usdPerCommit =
    (puts * (PRICES.s3PutPer1000.usd / 1000) +
      wru * (PRICES.ddbWriteRequestUnitPerMillion.usd / 1e6) +
      snapshot.capacity.read * (PRICES.ddbReadRequestUnitPerMillion.usd / 1e6)) /
    commits;
  return {
    writers,
    commits,
    requestsPerCommit: Object.fromEntries(
      Object.entries(snapshot.requests).map(([name, n]) => [name, round(n / commits, 3)]),
    ),
    failedConditionsPerCommit: round(failedConditions(snapshot.errors) / commits, 3),
    sdkRetriesPerCommit: round(sum(Object.values(retriedByName(snapshot))) / commits, 3),
    wruPerCommit: round(wru / commits, 3),
    head,
    usdPerGiB: round(usdPerCommit * (GiB / (10 * 1024)), 4),
  };
}
