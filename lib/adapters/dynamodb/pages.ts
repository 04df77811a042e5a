import { type DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import type { IndexEntry } from '../../core/index-entry.ts';
import type { PartitionHead, PartitionRef } from '../../core/ports.ts';
import { mapAwsError } from '../aws-errors.ts';
import { type Item, N, num, S } from './attributes.ts';
import { decodePage, HEAD_SK, partitionKey } from './head-codec.ts';

/**
 * Index entries of a partition's pages from the one holding `offset` up to the head's `lb`,
 * ascending, with consistent reads: the page holding `offset` (the last one starting at or below
 * it), then the following pages 16 at a time.
 */
export async function* pageEntriesFrom(
  client: DynamoDBClient,
  table: string,
  ref: PartitionRef,
  offset: number,
  head: PartitionHead,
): AsyncIterable<IndexEntry> {
  if (offset >= head.tailBase) return;
  const pk = S(partitionKey(ref.topicId, ref.partition));
  // The page holding `offset` is the last page starting at or below it.
  const first = await client
    .send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :zero AND :offset',
        ExpressionAttributeValues: { ':pk': pk, ':zero': N(0), ':offset': N(offset) },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    )
    .catch(mapAwsError);
  let cursor = offset;
  let after = first.Items?.[0] === undefined ? offset - 1 : num(first.Items[0], 'sk');
  for (const item of first.Items ?? []) {
    for (const entry of decodePage(item)) {
      if (entry.baseOffset + entry.recordCount <= cursor) continue;
      yield entry;
      cursor = entry.baseOffset + entry.recordCount;
    }
  }
  while (cursor < head.tailBase) {
    const out = await client
      .send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'pk = :pk AND sk > :after',
          ExpressionAttributeValues: { ':pk': pk, ':after': N(Math.max(after, HEAD_SK)) },
          ConsistentRead: true,
          Limit: 16,
        }),
      )
      .catch(mapAwsError);
    const items: Item[] = out.Items ?? [];
    if (items.length === 0) return;
    for (const item of items) {
      after = num(item, 'sk');
      for (const entry of decodePage(item)) {
        if (entry.baseOffset + entry.recordCount <= cursor) continue;
        if (entry.baseOffset >= head.tailBase) return;
        yield entry;
        cursor = entry.baseOffset + entry.recordCount;
      }
    }
  }
}
