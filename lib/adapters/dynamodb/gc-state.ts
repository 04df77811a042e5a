import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { GcState } from '../../core/ports.ts';
import { mapAwsError } from '../aws-errors.ts';
import { N, num, S } from './attributes.ts';
import { FORMAT_VERSION } from './head-codec.ts';

/**
 * pk '<topicId>#gc', sk -1: `v`, `w` (collected through, ms), `c` (list of N: collection cursor per
 * partition), `k` (list of N: compaction cursor per partition), `lf` (ms: the retention rule's last
 * listing saw every object created before it), `cl` (list of N: key compaction's cleaned offset per
 * partition), `cu` (ms: every entry appended before it is cleaned), `tb` (list of N: the oldest
 * tombstone's append time below `cl` per partition, -1 none). Retired-objects records share
 * the pk (retired.ts).
 */
export function gcKey(topicId: string) {
  return { pk: S(`${topicId}#gc`), sk: N(-1) };
}

export async function readGcState(
  client: DynamoDBClient,
  table: string,
  topicId: string,
): Promise<GcState | undefined> {
  const out = await client
    .send(new GetItemCommand({ TableName: table, Key: gcKey(topicId), ConsistentRead: true }))
    .catch(mapAwsError);
  if (out.Item === undefined) return undefined;
  return {
    through: num(out.Item, 'w'),
    cursors: (out.Item.c?.L ?? []).map((v) => Number(v.N ?? 0)),
    compacted: (out.Item.k?.L ?? []).map((v) => Number(v.N ?? 0)),
    ...(out.Item.lf?.N === undefined ? {} : { listedFrom: Number(out.Item.lf.N) }),
    ...(out.Item.cl?.L === undefined ? {} : { cleaned: out.Item.cl.L.map((v) => Number(v.N ?? 0)) }),
    ...(out.Item.cu?.N === undefined ? {} : { cleanedUntil: Number(out.Item.cu.N) }),
    ...(out.Item.tb?.L === undefined ? {} : { tombstones: out.Item.tb.L.map((v) => Number(v.N ?? -1)) }),
  };
}

export async function writeGcState(
  client: DynamoDBClient,
  table: string,
  topicId: string,
  seen: GcState | undefined,
  next: GcState,
): Promise<boolean> {
  try {
    await client.send(
      new PutItemCommand({
        TableName: table,
        Item: {
          ...gcKey(topicId),
          v: N(FORMAT_VERSION),
          w: N(next.through),
          c: { L: next.cursors.map((c) => N(c)) },
          k: { L: (next.compacted ?? []).map((c) => N(c)) },
          ...(next.listedFrom === undefined || !Number.isFinite(next.listedFrom)
            ? {}
            : { lf: N(next.listedFrom) }),
          ...(next.cleaned === undefined ? {} : { cl: { L: next.cleaned.map((c) => N(c)) } }),
          ...(next.cleanedUntil === undefined ? {} : { cu: N(next.cleanedUntil) }),
          ...(next.tombstones === undefined ? {} : { tb: { L: next.tombstones.map((t) => N(t)) } }),
        },
        ConditionExpression: seen === undefined ? 'attribute_not_exists(pk)' : 'w = :w',
        ...(seen === undefined ? {} : { ExpressionAttributeValues: { ':w': N(seen.through) } }),
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    return mapAwsError(error);
  }
}
