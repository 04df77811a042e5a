import {
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import type { RetiredObjects } from '../../core/ports.ts';
import { mapAwsError } from '../aws-errors.ts';
import { type Item, L, N, num, S } from './attributes.ts';
import { FORMAT_VERSION } from './head-codec.ts';

/*
 * Retired objects: compactor objects a swap stopped referencing, kept for the grace before they are
 * deleted (a fetch that read the old page may still GET them). One item per swap, beside the gc
 * state (which has sk -1):
 *
 *   pk '<topicId>#gc', sk retiredAt × 1000 + random(0..999)   (N; ms since the epoch, scaled)
 *   v    format version
 *   ids  L of S: the object ids (relative to the topic's prefix)
 */

const SCALE = 1000;

/** The Put of a retired-objects item (written in the swap's transaction, or alone). */
export function retiredPut(table: string, topicId: string, ids: readonly string[], at: number) {
  return {
    TableName: table,
    Item: {
      pk: S(`${topicId}#gc`),
      sk: N(at * SCALE + Math.floor(Math.random() * SCALE)),
      v: N(FORMAT_VERSION),
      ids: L(ids.map((id) => S(id))),
    } satisfies Item,
    ConditionExpression: 'attribute_not_exists(pk)',
  };
}

/** Records objects no entry references (a swap that lost: the objects it wrote). */
export async function retireObjects(
  client: DynamoDBClient,
  table: string,
  topicId: string,
  ids: readonly string[],
  at: number,
): Promise<void> {
  if (ids.length === 0) return;
  await client.send(new PutItemCommand(retiredPut(table, topicId, ids, at))).catch(mapAwsError);
}

/** Up to `limit` retired-objects records of the topic retired before `before` (ms), oldest first. */
export async function readRetired(
  client: DynamoDBClient,
  table: string,
  topicId: string,
  before: number,
  limit: number,
): Promise<RetiredObjects[]> {
  const out = await client
    .send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
        ExpressionAttributeValues: {
          ':pk': S(`${topicId}#gc`),
          ':lo': N(0),
          ':hi': N(Math.max(0, before * SCALE - 1)),
        },
        Limit: limit,
        ConsistentRead: true,
      }),
    )
    .catch(mapAwsError);
  return (out.Items ?? []).map((item) => ({
    id: num(item, 'sk'),
    retiredAt: Math.floor(num(item, 'sk') / SCALE),
    objectIds: (item.ids?.L ?? []).map((v) => v.S ?? ''),
  }));
}

/** Forgets a record once its objects are deleted. */
export async function forgetRetired(
  client: DynamoDBClient,
  table: string,
  topicId: string,
  id: number,
): Promise<void> {
  await client
    .send(new DeleteItemCommand({ TableName: table, Key: { pk: S(`${topicId}#gc`), sk: N(id) } }))
    .catch(mapAwsError);
}
