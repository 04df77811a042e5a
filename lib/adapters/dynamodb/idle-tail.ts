import {
  type DynamoDBClient,
  TransactionCanceledException,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import type { PartitionRef } from '../../core/ports.ts';
import { mapAwsError } from '../aws-errors.ts';
import { L, N } from './attributes.ts';
import {
  encodePage,
  encodeTimeItem,
  type HeadState,
  headKey,
  maxTimestamp,
  TIME_INDEX_STRIDE,
} from './head-codec.ts';

/**
 * Pages out a tail shorter than a page once its newest entry was appended before `idleBefore`, so
 * the sweep can compact what an idle partition wrote last (the flusher only writes whole pages).
 * One transaction writes the page (and its time-index item when due) and empties the tail, on
 * condition that the tail is still exactly what was read (same `lb`, same length) and the partition
 * is not being deleted. No flusher can be writing a page at `lb` then: one writes there only for a
 * tail of at least a page, and the tail only grows while `lb` stays. False when nothing was paged.
 *
 * @example
 * await pageIdleTail(client, 'streambed-log', ref, head, Date.now() - 300_000);
 */
export async function pageIdleTail(
  client: DynamoDBClient,
  table: string,
  ref: PartitionRef,
  head: HeadState,
  idleBefore: number,
): Promise<boolean> {
  const count = head.tailLength;
  const tail = head.tail;
  const first = tail[0];
  const last = tail.at(-1);
  if (first === undefined || last === undefined || count >= head.pageSize) return false;
  if (tail.some((entry) => entry.appendTime >= idleBefore)) return false;
  const cm = maxTimestamp(tail, head.cumulativeMax);
  const ordinal = head.pagesWritten;
  const puts = [encodePage(ref.topicId, ref.partition, tail, cm)];
  if (ordinal % TIME_INDEX_STRIDE === 0) {
    puts.push(encodeTimeItem(ref.topicId, ref.partition, cm, ordinal, first.baseOffset));
  }
  try {
    await client.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          ...puts.map((Item) => ({
            Put: { TableName: table, Item, ConditionExpression: 'attribute_not_exists(pk)' },
          })),
          {
            Update: {
              TableName: table,
              Key: headKey(ref.topicId, ref.partition),
              UpdateExpression: 'SET #tail = :empty, #lb = :end, #pn = :pn, #cm = :cm',
              ConditionExpression: '#lb = :lb AND size(#tail) = :n AND attribute_not_exists(del)',
              ExpressionAttributeNames: { '#tail': 'tail', '#lb': 'lb', '#pn': 'pn', '#cm': 'cm' },
              ExpressionAttributeValues: {
                ':empty': L([]),
                ':lb': N(head.tailBase),
                ':n': N(count),
                ':end': N(last.baseOffset + last.recordCount),
                ':pn': N(ordinal + 1),
                ':cm': N(cm),
              },
            },
          },
        ],
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof TransactionCanceledException) return false;
    return mapAwsError(error);
  }
}
