import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { RetiredObjects } from '../../core/ports.ts';
import { mapAwsError } from '../aws-errors.ts';
import { type Item, L, N, num, S } from './attributes.ts';
import { FORMAT_VERSION } from './head-codec.ts';

/*
 * Objects to delete after the grace, beside the topic's gc state (sk -1), one item each:
 *
 *   pk '<topicId>#gc', sk at × 1000 + random(0..999)     (N; ms since the epoch, scaled)
 *   v        format version
 *   ids      L of S: object ids (relative to the topic's prefix)
 *   pend     BOOL true: a pending record (below), absent on a retired one
 *   claimed  BOOL true: a collector has claimed the pending record (the swap can no longer happen)
 *
 * Retired: compactor objects a swap stopped referencing, written in the swap's transaction.
 * Pending: objects a compaction run writes, noted before each PUT; the run's swap deletes the
 * record in its transaction, conditional on it being unclaimed. So a record still there names
 * objects no entry references unless its swap is still coming; a collector claims it first (after
 * which that swap fails), then deletes the objects, then the record. Crashes and lost swaps leave
 * nothing behind.
 */

const SCALE = 1000;

function gcPk(topicId: string) {
  return S(`${topicId}#gc`);
}

function newSortKey(at: number): number {
  return at * SCALE + Math.floor(Math.random() * SCALE);
}

/** The Put of a retired-objects item (written in the swap's transaction). */
export function retiredPut(table: string, topicId: string, ids: readonly string[], at: number) {
  return {
    TableName: table,
    Item: {
      pk: gcPk(topicId),
      sk: N(newSortKey(at)),
      v: N(FORMAT_VERSION),
      ids: L(ids.map((id) => S(id))),
    } satisfies Item,
    ConditionExpression: 'attribute_not_exists(pk)',
  };
}

/** The Delete of a pending record in the swap's transaction: it fails once a collector claimed it. */
export function pendingDelete(table: string, topicId: string, pending: number) {
  return {
    TableName: table,
    Key: { pk: gcPk(topicId), sk: N(pending) },
    ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(claimed)',
  };
}

/**
 * Notes that `objectId` is about to be written by a compaction run: creates the run's pending
 * record (`pending` undefined) or adds to it; its sort key. Throws when a collector claimed it.
 */
export async function notePending(
  client: DynamoDBClient,
  table: string,
  topicId: string,
  pending: number | undefined,
  objectId: string,
  at: number,
): Promise<number> {
  if (pending === undefined) {
    const sk = newSortKey(at);
    const Item = {
      pk: gcPk(topicId),
      sk: N(sk),
      v: N(FORMAT_VERSION),
      ids: L([S(objectId)]),
      pend: { BOOL: true },
    };
    await client
      .send(new PutItemCommand({ TableName: table, Item, ConditionExpression: 'attribute_not_exists(pk)' }))
      .catch(mapAwsError);
    return sk;
  }
  await client
    .send(
      new UpdateItemCommand({
        TableName: table,
        Key: { pk: gcPk(topicId), sk: N(pending) },
        UpdateExpression: 'SET ids = list_append(ids, :id)',
        ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(claimed)',
        ExpressionAttributeValues: { ':id': L([S(objectId)]) },
      }),
    )
    .catch(mapAwsError);
  return pending;
}

/** Claims a pending record for deletion: false when its swap happened (the record is gone). */
export async function claimPending(
  client: DynamoDBClient,
  table: string,
  topicId: string,
  id: number,
): Promise<boolean> {
  try {
    await client.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { pk: gcPk(topicId), sk: N(id) },
        UpdateExpression: 'SET claimed = :true',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':true': { BOOL: true } },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    return mapAwsError(error);
  }
}

/** Up to `limit` records of objects noted before `before` (ms), oldest first. */
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
          ':pk': gcPk(topicId),
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
    pending: item.pend?.BOOL === true,
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
    .send(new DeleteItemCommand({ TableName: table, Key: { pk: gcPk(topicId), sk: N(id) } }))
    .catch(mapAwsError);
}
