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
  const holding = await pageHolding(client, table, ref, offset);
  let cursor = offset;
  let after = holding === undefined ? offset - 1 : num(holding, 'sk');
  for (const item of holding === undefined ? [] : [holding]) {
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

/**
 * The page holding `offset`: the last page starting at or below it (strongly consistent);
 * undefined when no page does.
 */
export async function pageHolding(
  client: DynamoDBClient,
  table: string,
  ref: PartitionRef,
  offset: number,
): Promise<Item | undefined> {
  const out = await client
    .send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :zero AND :offset',
        ExpressionAttributeValues: {
          ':pk': S(partitionKey(ref.topicId, ref.partition)),
          ':zero': N(0),
          ':offset': N(offset),
        },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    )
    .catch(mapAwsError);
  return out.Items?.[0];
}
