import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { DynamoPartitionIndex } from '../../lib/adapters/dynamodb/partition-index.ts';
import type { PendingEntry } from '../../lib/core/index-entry.ts';
import { newObjectId } from '../../lib/core/object-keys.ts';
import type { BenchConfig } from '../config.ts';
import { entryAttribute } from '../support/entry.ts';
import { count, failedConditions } from '../support/instrument.ts';
import { ratio, round, runLoad, throughput } from '../support/load.ts';
import type { BenchStack } from '../support/stack.ts';

/**
 * The commit step alone (DynamoDB only, one partition, 10-record entries): Streambed's head update
 * beside the three reference protocols of docs/design.md §3 — an optimistic conditional Put chain, a
 * transaction (head version + entry), and an atomic ADD reservation followed by a Put. They live
 * here, in bench code only, as the comparison; every protocol stores format 2's binary entry, and
 * every protocol's log is verified after its run.
 */

/** One commit protocol at one writer count. */
export interface ProtocolPoint {
  readonly protocol: string;
  readonly writers: number;
  readonly commitsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly commits: number;
  readonly errors: number;
  readonly ddbRequestsPerCommit: number;
  /** Failed conditions (ConditionalCheckFailed, or cancelled transactions) per commit. */
  readonly failedConditionsPerCommit: number;
  readonly vsOneWriter: number;
  /** ConditionalCheckFailed responses by request, e.g. `ddb:PutItem` (page writes), `ddb:UpdateItem[page-trim]`. */
  readonly failedByRequest: Record<string, number>;
  /** Verified after the run: offsets dense, one entry per commit, no duplicates. */
  readonly correct: boolean;
  readonly check: string;
}

const RECORDS = 10;

/** A commit protocol: `setup` once per run, `commit` per batch, `verify` after. */
interface Protocol {
  readonly name: string;
  prepare(client: DynamoDBClient, table: string, key: string): Promise<ProtocolRun>;
}

interface ProtocolRun {
  /** One 10-record commit by `worker`; returns the number of failed conditions it met. */
  commit(worker: number): Promise<number>;
  /** Checks density and uniqueness for `commits` successful commits; '' when correct. */
  verify(commits: number): Promise<string>;
}

function entry(): PendingEntry {
  const now = Date.now();
  return {
    objectId: newObjectId(now),
    byteOffset: 8,
    byteLength: 10_600,
    recordCount: RECORDS,
    maxTimestamp: now,
    appendTime: now,
  };
}

/** The same entry as the reference protocols store it: format 2's ~20-byte binary entry. */
function entryItem() {
  return entryAttribute({
    byteOffset: 8,
    byteLength: 10_600,
    recordCount: RECORDS,
    maxTimestamp: Date.now(),
  });
}

async function queryAll(client: DynamoDBClient, table: string, pk: string) {
  const items: Record<string, { N?: string; S?: string }>[] = [];
  let start: Record<string, never> | undefined;
  do {
    const out = await client.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk AND sk >= :zero',
        ExpressionAttributeValues: { ':pk': { S: pk }, ':zero': { N: '0' } },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    items.push(...((out.Items ?? []) as typeof items));
    start = out.LastEvaluatedKey as typeof start;
  } while (start !== undefined);
  return items;
}

/** Entries keyed by base offset must tile [0, commits × 10) exactly. */
function checkTiling(items: Record<string, { N?: string }>[], commits: number): string {
  if (items.length !== commits) return `${items.length} entries for ${commits} commits`;
  const bases = items.map((item) => Number(item.sk?.N)).sort((a, b) => a - b);
  for (const [i, b] of bases.entries()) if (b !== i * RECORDS) return `entry ${i} starts at ${b}`;
  return '';
}

/** Streambed's commit step: DynamoPartitionIndex.append (head update, paging included, default page size). */
function streambedProtocol(name: string): Protocol {
  return {
    name,
    prepare: async (client, table, key) => {
      const index = new DynamoPartitionIndex({ client, table });
      await index.createPartitions(key, 1);
      const ref = { topic: 'bench', topicId: key, partition: 0 };
      return {
        commit: async () => {
          await index.append(ref, entry());
          return 0; // failed conditions are counted by the instruments
        },
        verify: async (commits) => {
          const head = await index.readHead(ref);
          if (head?.highWatermark !== commits * RECORDS) {
            return `high watermark ${head?.highWatermark} for ${commits} commits`;
          }
          let cursor = 0;
          for await (const e of index.entriesFrom(ref, 0, head)) {
            if (e.baseOffset + e.recordCount <= cursor) continue;
            if (e.baseOffset !== cursor) return `gap at ${cursor}`;
            cursor += e.recordCount;
          }
          for (const e of head.tail) {
            if (e.baseOffset + e.recordCount <= cursor) continue;
            if (e.baseOffset !== cursor) return `gap at ${cursor}`;
            cursor += e.recordCount;
          }
          return cursor === commits * RECORDS ? '' : `entries end at ${cursor}`;
        },
      };
    },
  };
}

const PROTOCOLS: readonly Protocol[] = [
  streambedProtocol('streambed head update'),
  {
    // Each batch is an item keyed by its base offset, put only if that offset is free; a writer that
    // loses learns the next free offset from the item it collided with (ReturnValuesOnConditionCheckFailure)
    // and tries there. Writers keep their own guess of the end of the chain, as separate producers would.
    name: 'optimistic conditional put chain',
    prepare: async (client, table, key) => {
      const guesses = new Map<number, number>();
      return {
        commit: async (worker) => {
          let failures = 0;
          let next = guesses.get(worker) ?? 0;
          for (;;) {
            try {
              await client.send(
                new PutItemCommand({
                  TableName: table,
                  Item: {
                    pk: { S: key },
                    sk: { N: String(next) },
                    end: { N: String(next + RECORDS) },
                    e: entryItem(),
                  },
                  ConditionExpression: 'attribute_not_exists(pk)',
                  ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
                }),
              );
              guesses.set(worker, next + RECORDS);
              return failures;
            } catch (error) {
              if (!(error instanceof ConditionalCheckFailedException)) throw error;
              failures++;
              const end = error.Item?.end?.N;
              if (end === undefined) throw new Error('the failed condition returned no item');
              next = Number(end);
            }
          }
        },
        verify: async (commits) => checkTiling(await queryAll(client, table, key), commits),
      };
    },
  },
  {
    // A head item with the next offset (its version) and the entry, written in one transaction
    // conditioned on the version read; a cancelled transaction returns the head it conflicted with.
    name: 'transaction (head version + entry)',
    prepare: async (client, table, key) => {
      const head = { pk: { S: key }, sk: { N: '-1' } };
      await client.send(new PutItemCommand({ TableName: table, Item: { ...head, next: { N: '0' } } }));
      const guesses = new Map<number, number>();
      return {
        commit: async (worker) => {
          let failures = 0;
          let next = guesses.get(worker) ?? 0;
          for (;;) {
            try {
              await client.send(
                new TransactWriteItemsCommand({
                  TransactItems: [
                    {
                      Update: {
                        TableName: table,
                        Key: head,
                        UpdateExpression: 'SET #next = :new',
                        ConditionExpression: '#next = :old',
                        ExpressionAttributeNames: { '#next': 'next' },
                        ExpressionAttributeValues: {
                          ':new': { N: String(next + RECORDS) },
                          ':old': { N: String(next) },
                        },
                        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
                      },
                    },
                    {
                      Put: {
                        TableName: table,
                        Item: { pk: { S: key }, sk: { N: String(next) }, e: entryItem() },
                        ConditionExpression: 'attribute_not_exists(pk)',
                      },
                    },
                  ],
                }),
              );
              guesses.set(worker, next + RECORDS);
              return failures;
            } catch (error) {
              if (!(error instanceof TransactionCanceledException)) throw error;
              failures++;
              const seen = error.CancellationReasons?.[0]?.Item?.next?.N;
              if (seen !== undefined) next = Number(seen);
              else {
                const out = await client.send(
                  new GetItemCommand({ TableName: table, Key: head, ConsistentRead: true }),
                );
                next = Number(out.Item?.next?.N ?? 0);
              }
            }
          }
        },
        verify: async (commits) => {
          const out = await client.send(
            new GetItemCommand({ TableName: table, Key: head, ConsistentRead: true }),
          );
          if (Number(out.Item?.next?.N) !== commits * RECORDS) return `head next ${out.Item?.next?.N}`;
          return checkTiling(await queryAll(client, table, key), commits);
        },
      };
    },
  },
  {
    // ADD reserves the range atomically (never fails), then the entry is put at the reserved offset.
    // A writer dying between the two leaves a hole that readers must skip (docs/design.md §3).
    name: 'reservation (ADD) + put',
    prepare: async (client, table, key) => {
      const head = { pk: { S: key }, sk: { N: '-1' } };
      return {
        commit: async () => {
          const out = await client.send(
            new UpdateItemCommand({
              TableName: table,
              Key: head,
              UpdateExpression: 'ADD #next :n',
              ExpressionAttributeNames: { '#next': 'next' },
              ExpressionAttributeValues: { ':n': { N: String(RECORDS) } },
              ReturnValues: 'UPDATED_NEW',
            }),
          );
          const base = Number(out.Attributes?.next?.N) - RECORDS;
          await client.send(
            new PutItemCommand({
              TableName: table,
              Item: { pk: { S: key }, sk: { N: String(base) }, e: entryItem() },
              ConditionExpression: 'attribute_not_exists(pk)',
            }),
          );
          return 0;
        },
        verify: async (commits) => {
          const out = await client.send(
            new GetItemCommand({ TableName: table, Key: head, ConsistentRead: true }),
          );
          if (Number(out.Item?.next?.N) !== commits * RECORDS) return `head next ${out.Item?.next?.N}`;
          return checkTiling(await queryAll(client, table, key), commits);
        },
      };
    },
  },
];

async function protocolPoint(
  stack: BenchStack,
  protocol: Protocol,
  writers: number,
  budgetMs: number,
  run: string,
): Promise<Omit<ProtocolPoint, 'vsOneWriter'>> {
  const key = `proto-${protocol.name.replace(/[^a-z0-9]+/gi, '-')}-n${writers}-${run}`;
  const state = await protocol.prepare(stack.dynamodb, stack.tables.log, key);
  let failed = 0;
  const commit = async (_: number, worker: number) => {
    const failures = await state.commit(worker); // not `failed += await ...`: that reads `failed` before awaiting
    failed += failures;
    return { bytes: 0, records: RECORDS };
  };
  // Warm up (SDK paths, JIT, connections): a few commits per writer, not measured but verified.
  const warm = await runLoad({ concurrency: writers, budgetMs: 0, maxCalls: writers * 3 }, commit);
  failed = 0;
  stack.instruments.reset();
  const load = await runLoad({ concurrency: writers, budgetMs, maxCalls: 1_000_000 }, commit);
  const { requests, errors } = stack.instruments.snapshot();
  const commits = load.calls - load.errors;
  const allCommits = commits + warm.calls - warm.errors;
  // Streambed's failed conditions are the ConditionalCheckFailed (and TransactionCanceled) answers
  // the instruments saw; the reference protocols count their own.
  const conditions = failed + (protocol.name.startsWith('streambed') ? failedConditions(errors) : 0);
  const problem =
    load.errors + warm.errors > 0
      ? `${load.errors + warm.errors} errors: ${load.firstError ?? warm.firstError}`
      : await state.verify(allCommits);
  const t = throughput(load);
  return {
    protocol: protocol.name,
    writers,
    commitsPerSec: t.callsPerSec,
    p50Ms: t.p50Ms,
    p99Ms: t.p99Ms,
    commits,
    errors: load.errors,
    ddbRequestsPerCommit: round(count(requests, 'ddb:') / commits, 3),
    failedConditionsPerCommit: round(conditions / commits, 3),
    failedByRequest: Object.fromEntries(
      Object.entries(errors)
        .filter(([name]) => name.endsWith(':ConditionalCheckFailedException'))
        .map(([name, n]) => [name.replace(/:ConditionalCheckFailedException$/, ''), n]),
    ),
    correct: problem === '',
    check: problem === '' ? 'dense, one entry per commit' : problem,
  };
}

/** Every protocol at every writer count of `config.protocols`, each with its ratio to one writer. */
export async function protocolCurve(
  config: BenchConfig,
  stack: BenchStack,
  run: string,
  log: (line: string) => void,
): Promise<ProtocolPoint[]> {
  const points: ProtocolPoint[] = [];
  for (const protocol of PROTOCOLS) {
    let base: number | undefined;
    for (const writers of config.protocols.writers) {
      const point = await protocolPoint(stack, protocol, writers, config.protocols.budgetMs, run);
      base ??= point.commitsPerSec;
      points.push({ ...point, vsOneWriter: ratio(point.commitsPerSec, base) });
      log(
        `protocol ${protocol.name} n=${writers}: ${point.commitsPerSec} commits/s, ` +
          `${point.failedConditionsPerCommit} failed conditions/commit, correct=${point.correct}`,
      );
    }
  }
  return points;
}
