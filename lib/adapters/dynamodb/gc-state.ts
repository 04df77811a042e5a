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
 * listing saw every object created before it).
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
