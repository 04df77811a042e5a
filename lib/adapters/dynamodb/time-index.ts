import { type DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import type { PartitionHead, PartitionRef } from '../../core/ports.ts';
import { mapAwsError } from '../aws-errors.ts';
import { N, num, S } from './attributes.ts';
import {
  decodePage,
  type HeadState,
  partitionKey,
  TIME_INDEX_STRIDE,
  timeKey,
  timeSortKeyFloor,
} from './head-codec.ts';
import { pageHolding } from './pages.ts';

/**
 * Kafka's time index over pages: where the first record with a timestamp ≥ `timestamp` can be.
 * Returns an offset such that every record before it has a smaller timestamp (the base offset of
 * the first entry whose largest timestamp reaches `timestamp`), or undefined when no entry does.
 *
 * Reads: at most two Queries (the time index, then at most TIME_INDEX_STRIDE + 1 pages), whatever
 * the partition's length; the head was read by the caller. Pages carry `cm`, the largest timestamp
 * up to their end, which never decreases along the log; the time index holds (cm, ordinal) of
 * every TIME_INDEX_STRIDE-th page. The last indexed page with cm < T is therefore followed, within
 * TIME_INDEX_STRIDE pages, by the first page with cm ≥ T, and inside that page the first entry
 * whose own largest timestamp reaches T is the answer.
 *
 * @example
 * const from = await firstPageAtTime(client, table, ref, Date.parse('2026-11-28'), head);
 */
export async function firstPageAtTime(
  client: DynamoDBClient,
  table: string,
  ref: PartitionRef,
  timestamp: number,
  head: PartitionHead,
): Promise<number | undefined> {
  const pagedMax = (head as Partial<HeadState>).cumulativeMax;
  if (pagedMax === undefined || pagedMax >= timestamp) {
    const indexed = await client
      .send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'pk = :pk AND sk < :t',
          ExpressionAttributeValues: {
            ':pk': S(timeKey(ref.topicId, ref.partition)),
            ':t': { N: timeSortKeyFloor(timestamp) },
          },
          ScanIndexForward: false,
          Limit: 1,
          ConsistentRead: true,
        }),
      )
      .catch(mapAwsError);
    const item = indexed.Items?.[0];
    let after = item === undefined ? 0 : num(item, 'o');
    let first = after > 0;
    // Usually one Query: the answer is within TIME_INDEX_STRIDE pages of the indexed one.
    while (after < head.tailBase) {
      const pages = await client
        .send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
            ExpressionAttributeValues: {
              ':pk': S(partitionKey(ref.topicId, ref.partition)),
              ':from': N(after),
              ':to': N(head.tailBase - 1),
            },
            ConsistentRead: true,
            Limit: TIME_INDEX_STRIDE + 1,
          }),
        )
        .catch(mapAwsError);
      const items = [...(pages.Items ?? [])];
      // Compaction may have merged the indexed page into one that starts before it: only then is
      // the page holding `o` read too.
      if (first && (items[0] === undefined || num(items[0], 'sk') !== after)) {
        const holding = await pageHolding(client, table, ref, after);
        if (holding !== undefined && num(holding, 'sk') < after) items.unshift(holding);
      }
      first = false;
      if (items.length === 0) break;
      for (const page of items) {
        if (num(page, 'cm') < timestamp) continue;
        const entry = decodePage(page).find((e) => e.maxTimestamp >= timestamp);
        if (entry !== undefined) return entry.baseOffset;
      }
      after = num(items.at(-1) ?? {}, 'sk') + 1;
    }
  }
  return head.tail.find((entry) => entry.maxTimestamp >= timestamp)?.baseOffset;
}
