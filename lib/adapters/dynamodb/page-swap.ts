import {
  type AttributeValue,
  type DynamoDBClient,
  QueryCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import type { IndexEntry } from '../../core/index-entry.ts';
import type { IndexPage, PartitionRef, SizeCount } from '../../core/ports.ts';
import { mapAwsError } from '../aws-errors.ts';
import { type Item, N, num, S } from './attributes.ts';
import { decodePage, encodePage, headKey, partitionKey } from './head-codec.ts';
import { pageHolding } from './pages.ts';
import { pendingDelete, retiredPut } from './retired.ts';

/** The most pages one swap replaces: a transaction holds 100 items; two are gc records, one the head. */
export const MAX_SWAP_PAGES = 97;

/** Retention's byte count (`so`, `sc` as read) and what a swap changes it by. */
export interface SizeChange {
  readonly seen: SizeCount;
  readonly delta: number;
}

/** The head's byte count follows the swap, if it still covers the range it was read with. */
function sizeUpdate(table: string, ref: PartitionRef, { seen, delta }: SizeChange) {
  return {
    TableName: table,
    Key: headKey(ref.topicId, ref.partition),
    UpdateExpression: 'SET sz = sz + :d',
    ConditionExpression: 'so = :so AND sc = :sc',
    ExpressionAttributeValues: { ':d': N(delta), ':so': N(seen.from), ':sc': N(seen.through) },
  };
}

/**
 * Up to `limit` index pages of a partition, ascending, from the one holding `offset` (strongly
 * consistent).
 *
 * @example
 * const pages = await readPages(client, 'streambed-log', ref, 0, 50);
 */
export async function readPages(
  client: DynamoDBClient,
  table: string,
  ref: PartitionRef,
  offset: number,
  limit: number,
): Promise<IndexPage[]> {
  const pk = S(partitionKey(ref.topicId, ref.partition));
  const holding = await pageHolding(client, table, ref, offset);
  const from = holding === undefined ? offset : num(holding, 'sk');
  const out = await client
    .send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk AND sk >= :from',
        ExpressionAttributeValues: { ':pk': pk, ':from': N(from) },
        Limit: limit,
        ConsistentRead: true,
      }),
    )
    .catch(mapAwsError);
  return (out.Items ?? []).map((item: Item) => ({
    first: num(item, 'sk'),
    end: num(item, 'end'),
    cumulativeMax: num(item, 'cm'),
    entries: decodePage(item),
  }));
}

/**
 * Compaction's swap: the pages `replaced` (consecutive, as read) become one page at the first one's
 * offset holding `entries` (which cover exactly the same offsets), in one transaction conditional
 * on every replaced page being unchanged (same entries). A reader sees the old pages or the new
 * one, never a mix it cannot tell (a reader between them meets a gap and starts again). The
 * objects `retired` (no longer referenced once the swap is done) are recorded in the same
 * transaction, for deletion after the grace, and the run's `pending` record (the objects it wrote)
 * is deleted in it (retired.ts), and the head's byte count moves by the size change (conditional on
 * it counting what it did when read). False when a page changed, the pending record was claimed or
 * the count moved.
 */
export async function replacePages(
  client: DynamoDBClient,
  table: string,
  ref: PartitionRef,
  replaced: readonly IndexPage[],
  entries: readonly IndexEntry[],
  retired: readonly string[] = [],
  pending: number | undefined = undefined,
  sizes: SizeChange | undefined = undefined,
  now = Date.now(),
): Promise<boolean> {
  const first = replaced[0];
  const last = replaced.at(-1);
  if (first === undefined || last === undefined || replaced.length > MAX_SWAP_PAGES) {
    throw new Error(`replacePages takes 1 to ${MAX_SWAP_PAGES} pages`);
  }
  const page = encodePage(ref.topicId, ref.partition, entries, last.cumulativeMax);
  if (num(page, 'sk') !== first.first || num(page, 'end') !== last.end) {
    throw new Error(
      `compacted entries cover [${num(page, 'sk')}, ${num(page, 'end')}), not [${first.first}, ${last.end})`,
    );
  }
  const pk = S(partitionKey(ref.topicId, ref.partition));
  const unchanged = (old: IndexPage) => ({
    ConditionExpression: '#end = :end AND ents = :ents',
    ExpressionAttributeNames: { '#end': 'end' },
    ExpressionAttributeValues: {
      ':end': N(old.end),
      ':ents': encodePage(ref.topicId, ref.partition, old.entries, old.cumulativeMax).ents as AttributeValue,
    },
  });
  try {
    await client.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          { Put: { TableName: table, Item: page, ...unchanged(first) } },
          ...replaced.slice(1).map((old) => ({
            Delete: { TableName: table, Key: { pk, sk: N(old.first) }, ...unchanged(old) },
          })),
          ...(retired.length === 0 ? [] : [{ Put: retiredPut(table, ref.topicId, retired, now) }]),
          ...(pending === undefined ? [] : [{ Delete: pendingDelete(table, ref.topicId, pending) }]),
          ...(sizes === undefined || sizes.delta === 0 ? [] : [{ Update: sizeUpdate(table, ref, sizes) }]),
        ],
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof TransactionCanceledException) return false;
    return mapAwsError(error);
  }
}
