import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { awsPorts } from '../../lib/adapters/aws.ts';
import type { OutputRecord } from '../../lib/core/produce-return.ts';
import type { TopicRecord } from '../../lib/core/types.ts';
import { EngineContext, type EngineDeps } from '../../lib/engine/context.ts';
import type { DeliveredRange } from '../../lib/engine/delivery-commit.ts';
import type { Streambed } from '../../lib/engine/streambed.ts';
import { endpointsFromEnv } from '../../lib/harness/services.ts';
import { bytes, type TestStack, text } from './stack.ts';

/** An engine context over the stack (what a dispatcher builds), with ports optionally replaced. */
export function contextOf(
  stack: TestStack,
  wrap: (deps: EngineDeps) => EngineDeps = (d) => d,
): EngineContext {
  return new EngineContext(wrap(awsPorts(stack.config)));
}

/** Takes the (group, topic, partition) lease for `owner` as a dispatcher does; its counter. */
export async function takeLease(
  ctx: EngineContext,
  group: string,
  topic: string,
  partition: number,
  owner: string,
): Promise<number> {
  await ctx.leases.create(group, topic, [partition]);
  const lease = await ctx.leases.get(group, topic, partition);
  if (lease === undefined) throw new Error('no lease');
  const taken = await ctx.leases.take(group, topic, lease, owner, Date.now() + 60_000);
  if (taken === undefined) throw new Error(`${owner} could not take the lease`);
  return taken.counter;
}

/** JSON output records `{ id }` to `topic`, keyed by `key(id)`. */
export function jsonOutputs(topic: string, ids: readonly string[], key = (id: string) => id): OutputRecord[] {
  return ids.map((id) => ({
    topic,
    key: bytes(key(id)),
    value: bytes(JSON.stringify({ id })),
    valueIsJson: true,
  }));
}

/** A range of `group` on partition 0 of `input`, committed by `owner`. */
export function rangeOf(
  input: TopicRecord,
  owner: string,
  leaseCounter: number,
  to: number,
  outputs: readonly OutputRecord[],
  group = 'billing',
  plainCommits = 0,
): DeliveredRange {
  return { group, topic: input, partition: 0, to, owner, leaseCounter, plainCommits, outputs };
}

export interface ReadRecord {
  readonly partition: number;
  readonly offset: number;
  readonly value: string | null;
}

/** Every record of the topic, partition by partition, read through fetch. */
export async function readAll(log: Streambed, topic: string): Promise<ReadRecord[]> {
  const { partitions } = await log.describeTopic(topic);
  const out: ReadRecord[] = [];
  for (let partition = 0; partition < partitions; partition++) {
    let offset = 0;
    for (;;) {
      const page = await log.fetch({ topic, partition, offset, maxRecords: 1000 });
      for (const r of page.records) out.push({ partition, offset: r.offset, value: text(r.value) });
      if (page.nextOffset >= page.highWatermark) break;
      offset = page.nextOffset;
    }
  }
  return out;
}

/** The ids of the JSON `{ id }` records of the topic (every record, duplicates kept). */
export async function idsIn(log: Streambed, topic: string): Promise<string[]> {
  return (await readAll(log, topic)).map((r) => (JSON.parse(r.value ?? 'null') as { id: string }).id);
}

export async function highWatermarks(log: Streambed, topic: string): Promise<number[]> {
  return (await log.describeTopic(topic)).partitionStates.map((p) => p.highWatermark);
}

export async function committedOffset(
  log: Streambed,
  group: string,
  topic: string,
): Promise<number | undefined> {
  return (await log.fetchOffsets(group, topic)).find((c) => c.partition === 0)?.offset;
}

/** Every count in `ids` is 1: the list of ids seen more than once. */
export function duplicates(ids: readonly string[]): string[] {
  const seen = new Set<string>();
  const twice: string[] = [];
  for (const id of ids) {
    if (seen.has(id)) twice.push(id);
    seen.add(id);
  }
  return twice;
}

/**
 * Head changes of the `log` table's stream, from its beginning: (pk, next before, next after) of
 * every head update, which is what triggers consumer functions.
 */
export async function headChanges(
  stack: TestStack,
): Promise<{ pk: string; before: number; after: number }[]> {
  const endpoints = endpointsFromEnv();
  if (endpoints === undefined) throw new Error('no endpoints');
  const streams = new DynamoDBStreamsClient({
    endpoint: endpoints.dynamoDbEndpoint,
    region: endpoints.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    const table = await stack.dynamodb.send(new DescribeTableCommand({ TableName: stack.tables.log }));
    const arn = table.Table?.LatestStreamArn;
    if (arn === undefined) throw new Error('the log table has no stream');
    const description = await streams.send(new DescribeStreamCommand({ StreamArn: arn }));
    const changes: { pk: string; before: number; after: number }[] = [];
    for (const shard of description.StreamDescription?.Shards ?? []) {
      let iterator = (
        await streams.send(
          new GetShardIteratorCommand({
            StreamArn: arn,
            ShardId: shard.ShardId,
            ShardIteratorType: 'TRIM_HORIZON',
          }),
        )
      ).ShardIterator;
      while (iterator !== undefined) {
        const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
        for (const record of page.Records ?? []) {
          const keys = record.dynamodb?.Keys;
          if (keys?.sk?.N !== '-1') continue;
          changes.push({
            pk: keys.pk?.S ?? '',
            before: Number(record.dynamodb?.OldImage?.next?.N ?? 0),
            after: Number(record.dynamodb?.NewImage?.next?.N ?? 0),
          });
        }
        if ((page.Records ?? []).length === 0) break;
        iterator = page.NextShardIterator;
      }
    }
    return changes;
  } finally {
    streams.destroy();
  }
}
