import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { PartitionHead, PartitionRef, SizeCount } from '../../core/ports.ts';
import { mapAwsError } from '../aws-errors.ts';
import { type Item, N, num, S } from './attributes.ts';
import { batchWrite } from './batch.ts';
import { decodeHead, type HeadState, headKey, partitionKey, timeKey } from './head-codec.ts';
import { queryAll } from './query.ts';

/**
 * The log start of a partition moves only forward and never past the high watermark; entries
 * below it stay in the index until `dropPagesBelow` removes whole pages (a reader that read the
 * head before the move can still find them for a while).
 *
 * @example
 * const head = await deleteRecords(client, 'streambed-log', ref, 1_000);
 */
export async function deleteRecords(
  client: DynamoDBClient,
  table: string,
  ref: PartitionRef,
  before: number,
): Promise<HeadState | undefined> {
  try {
    const out = await client.send(
      new UpdateItemCommand({
        TableName: table,
        Key: headKey(ref.topicId, ref.partition),
        UpdateExpression: 'SET #start = :before',
        ConditionExpression: 'attribute_exists(pk) AND #start < :before AND #next >= :before',
        ExpressionAttributeNames: { '#start': 'start', '#next': 'next' },
        ExpressionAttributeValues: { ':before': N(before) },
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return decodeHead(ref.partition, out.Attributes ?? {});
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) return mapAwsError(error);
    // Absent, already at or past `before`, or `before` above the high watermark: the caller decides.
    return error.Item === undefined ? undefined : decodeHead(ref.partition, error.Item as Item);
  }
}

/** Retention's conditional step (see PartitionIndex.advanceStart). */
export async function advanceStart(
  client: DynamoDBClient,
  table: string,
  ref: PartitionRef,
  seen: PartitionHead,
  start: number,
  sizes: SizeCount,
): Promise<boolean> {
  if (start < seen.logStartOffset || start > seen.highWatermark) {
    throw new Error(`log start ${start} outside [${seen.logStartOffset}, ${seen.highWatermark}]`);
  }
  try {
    await client.send(
      new UpdateItemCommand({
        TableName: table,
        Key: headKey(ref.topicId, ref.partition),
        UpdateExpression: 'SET #start = :start, so = :so, sc = :sc, sz = :sz',
        // Planned from this log start and this count: a DeleteRecords or another sweeper in
        // between makes the plan stale (it is made again on the next sweep).
        ConditionExpression:
          'attribute_exists(pk) AND #start = :seen AND (sc = :seenSc OR (attribute_not_exists(sc) AND :seenSc = :zero))',
        ExpressionAttributeNames: { '#start': 'start' },
        ExpressionAttributeValues: {
          ':start': N(start),
          ':so': N(sizes.from),
          ':sc': N(sizes.through),
          ':sz': N(sizes.bytes),
          ':seen': N(seen.logStartOffset),
          ':seenSc': N(seen.sizes.through),
          ':zero': N(0),
        },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    return mapAwsError(error);
  }
}

/**
 * Deletes the pages that end at or below `offset` and the time-index items of pages that start
 * below it. Returns how many pages went. A lookup by time then starts at the first page left.
 */
export async function dropPagesBelow(
  client: DynamoDBClient,
  table: string,
  ref: PartitionRef,
  offset: number,
): Promise<number> {
  if (offset <= 0) return 0;
  const pages = await queryAll(client, {
    TableName: table,
    KeyConditionExpression: 'pk = :pk AND sk BETWEEN :zero AND :below',
    ExpressionAttributeValues: {
      ':pk': S(partitionKey(ref.topicId, ref.partition)),
      ':zero': N(0),
      ':below': N(offset - 1),
    },
    ProjectionExpression: 'pk, sk, #end',
    ExpressionAttributeNames: { '#end': 'end' },
  });
  const gone = pages.filter((page) => num(page, 'end') <= offset);
  await batchWrite(
    client,
    table,
    gone.map((page) => ({
      DeleteRequest: { Key: { pk: page.pk as Item[string], sk: page.sk as Item[string] } },
    })),
  );
  const first = gone.length === pages.length ? offset : num(pages[gone.length] ?? {}, 'sk');
  // Time-index items sort by (cm, ordinal) and cm never decreases along the log, so they are in
  // page order too: read from the oldest until one indexes a page that stays.
  const times: Item[] = [];
  let startKey: Item | undefined;
  scan: do {
    const out = await client
      .send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': S(timeKey(ref.topicId, ref.partition)) },
          ProjectionExpression: 'pk, sk, o',
          Limit: 100,
          ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
        }),
      )
      .catch(mapAwsError);
    for (const item of out.Items ?? []) {
      if (num(item, 'o') >= first) break scan;
      times.push(item);
    }
    startKey = out.LastEvaluatedKey;
  } while (startKey !== undefined);
  await batchWrite(
    client,
    table,
    times.map((item) => ({
      DeleteRequest: { Key: { pk: item.pk as Item[string], sk: item.sk as Item[string] } },
    })),
  );
  return gone.length;
}
