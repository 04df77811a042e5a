import {
  type AttributeValue,
  type DynamoDBClient,
  type TransactWriteItem,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { offsetKey } from '../adapters/dynamodb/group-store.ts';
import type { StreambedEvent } from '../core/subscription.ts';

/** Where a batch starts and ends in the group's offsets, and which incarnation of the topic it is. */
export interface BatchCommit {
  /** The group's committed offset when the batch was delivered (where the batch starts). */
  readonly startOffset: number;
  /** The offset to commit once the batch is done (after its last record). */
  readonly endOffset: number;
  /** The id of the topic incarnation the records come from. */
  readonly topicId: string;
}

export interface OffsetCommitOptions {
  /** The event the handler was invoked with. Its `commit` (when the dispatcher sends one) is used. */
  readonly event: StreambedEvent & { readonly commit?: Partial<BatchCommit> };
  /** Streambed's `meta` table. @default process.env.STREAMBED_META_TABLE */
  readonly table?: string;
  /**
   * Overrides `event.commit`. Without either: the batch starts at its first record and ends after
   * its last, and `topicId` must be given.
   */
  readonly commit?: Partial<BatchCommit>;
}

/** What happened to a transaction holding the offset commit. */
export type OffsetCommitResult =
  /** Applied: the handler's items and the group's offset, together. */
  | 'committed'
  /** Nothing applied: an earlier attempt of this batch committed it (and its effects). Return success. */
  | 'already-committed'
  /** Nothing applied: the group's offset is elsewhere (reset); the dispatcher goes on from there. Return success. */
  | 'offset-moved';

/** The offset item's attributes this commit reads and writes (the meta table, docs/design.md §2, §5). */
const NAMES = {
  '#offset': 'offset',
  '#tid': 'topicId',
  '#at': 'committedAt',
  '#topic': 'topic',
  '#p': 'partition',
  '#meta': 'metadata',
  '#gen': 'generation',
} as const;

function resolve(options: OffsetCommitOptions): { table: string; commit: BatchCommit } {
  const { event } = options;
  const table = options.table ?? process.env.STREAMBED_META_TABLE;
  if (table === undefined || table === '') {
    throw new Error('the meta table is unknown: pass `table` or set STREAMBED_META_TABLE');
  }
  const given = { ...event.commit, ...options.commit };
  const first = event.Records[0];
  const last = event.Records.at(-1);
  const startOffset = given.startOffset ?? first?.offset;
  const endOffset = given.endOffset ?? (last === undefined ? undefined : last.offset + 1);
  const topicId = given.topicId;
  if (startOffset === undefined || endOffset === undefined) {
    throw new Error('the batch has no records and the event no commit: nothing to commit');
  }
  if (topicId === undefined) {
    throw new Error(
      'the topic id is unknown: pass `commit.topicId` (the event carries it as `commit.topicId`)',
    );
  }
  return { table, commit: { startOffset, endOffset, topicId } };
}

/**
 * Builds the item, with attribute values made by `value` (DynamoDB's typed form, or a
 * DocumentClient's plain one).
 *
 * UpdateItem of the committed-offset item (pk 'group#<group>', sk '<topic>#<partition, 4 digits>'):
 *   SET offset = :end, committedAt, topicId, topic, partition (what they are), metadata and
 *       generation only when absent
 *   IF  attribute_not_exists(pk) OR topicId <> :tid OR offset = :start
 * It never touches `lc`, `pv` or `pg` (the dispatcher's and plain commits' fencing, group-store.ts):
 * the dispatcher's own commit of `endOffset` afterwards succeeds (it may repeat an offset within its
 * lease). An item of a deleted incarnation of the topic counts as none, as for the dispatcher.
 */
function buildItem<V>(
  options: OffsetCommitOptions,
  value: (v: string | number) => V,
  key: Record<string, V>,
) {
  const { table, commit } = resolve(options);
  return {
    Update: {
      TableName: table,
      Key: key,
      UpdateExpression:
        'SET #offset = :end, #at = :at, #tid = :tid, #topic = :topic, #p = :p, #meta = if_not_exists(#meta, :none), #gen = if_not_exists(#gen, :nogen)',
      ConditionExpression: 'attribute_not_exists(pk) OR #tid <> :tid OR #offset = :start',
      ExpressionAttributeNames: { ...NAMES },
      ExpressionAttributeValues: {
        ':end': value(commit.endOffset),
        ':start': value(commit.startOffset),
        ':tid': value(commit.topicId),
        ':at': value(Date.now()),
        ':topic': value(options.event.topic),
        ':p': value(options.event.partition),
        ':none': value(''),
        ':nogen': value(-1),
      },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
    },
  };
}

/**
 * The group-offset commit of the batch `event` holds, as ONE item to add to the handler's own
 * `TransactWriteItems`: the handler's writes and the group's offset then commit together or not at
 * all, and the dispatcher sees the batch as committed. Conditioned on the offset the batch started
 * at, so a second attempt of the same batch (a retry after a timeout, a redelivery) fails it and
 * applies nothing; tell that apart with {@link offsetCommitRefusal} (or use
 * {@link transactWithOffsetCommit}). Works with `parallelizationFactor` 1 only (the default): only
 * then does every batch start at the group's committed offset. The function needs UpdateItem on the
 * meta table (keys beginning `group#<group>`).
 *
 * @example
 * const commit = offsetCommitItem({ event });
 * try {
 *   await dynamodb.send(new TransactWriteItemsCommand({ TransactItems: [myPut, commit] }));
 * } catch (error) {
 *   if (offsetCommitRefusal(error, 1, { event }) === undefined) throw error;
 *   // this batch was already committed, with its effects: nothing to do
 * }
 */
export function offsetCommitItem(options: OffsetCommitOptions): TransactWriteItem {
  const { event } = options;
  const N = (v: string | number): AttributeValue => (typeof v === 'number' ? { N: String(v) } : { S: v });
  return buildItem(options, N, offsetKey(event.group, event.topic, event.partition));
}

/**
 * The same item for a DocumentClient's `TransactWriteCommand` (@aws-sdk/lib-dynamodb), which takes
 * plain values and marshalls them itself.
 *
 * @example
 * await doc.send(new TransactWriteCommand({ TransactItems: [myPut, offsetCommitDocumentItem({ event })] }));
 */
export function offsetCommitDocumentItem(options: OffsetCommitOptions) {
  const { event } = options;
  const key = offsetKey(event.group, event.topic, event.partition);
  return buildItem(options, (v) => v, { pk: key.pk.S as string, sk: key.sk.S as string });
}

/**
 * Whether a failed transaction failed because of its offset commit item (at `index` in its
 * TransactItems): 'already-committed' when the offset is at or past the batch's end (an earlier
 * attempt committed it), 'offset-moved' when it is elsewhere (a reset); undefined when the failure
 * has another cause (rethrow it). In both cases nothing of the transaction was applied. Works with a
 * DocumentClient's error too (the stored item is then plain values).
 *
 * @example
 * catch (error) { if (offsetCommitRefusal(error, 1, { event }) === undefined) throw error; }
 */
export function offsetCommitRefusal(
  error: unknown,
  index: number,
  options: OffsetCommitOptions,
): 'already-committed' | 'offset-moved' | undefined {
  const reasons = (error as { name?: unknown; CancellationReasons?: unknown } | null)?.CancellationReasons;
  if (
    (error as { name?: unknown } | null)?.name !== 'TransactionCanceledException' ||
    !Array.isArray(reasons)
  ) {
    return undefined;
  }
  const reason = reasons[index] as { Code?: string; Item?: Record<string, unknown> } | undefined;
  if (reason?.Code !== 'ConditionalCheckFailed') return undefined;
  const { commit } = resolve(options);
  const stored = (name: string): unknown => {
    const attribute = reason.Item?.[name];
    if (attribute !== null && typeof attribute === 'object') {
      const typed = attribute as { S?: string; N?: string };
      return typed.N !== undefined ? Number(typed.N) : typed.S;
    }
    return attribute;
  };
  const offset = Number(stored('offset'));
  return stored('topicId') === commit.topicId && offset >= commit.endOffset
    ? 'already-committed'
    : 'offset-moved';
}

/**
 * Sends the handler's `items` and the batch's offset commit as ONE TransactWriteItems (at most 99
 * items of the handler's own, since DynamoDB takes 100).
 *
 * @example
 * export const handler = async (event: StreambedEvent) => {
 *   const items = event.Records.map((r) => ({ Put: { TableName: 'invoices', Item: invoiceOf(r) } }));
 *   await transactWithOffsetCommit(dynamodb, { event, items }); // 'committed' | 'already-committed' | 'offset-moved'
 * };
 */
export async function transactWithOffsetCommit(
  client: DynamoDBClient,
  options: OffsetCommitOptions & { readonly items: readonly TransactWriteItem[] },
): Promise<OffsetCommitResult> {
  const commit = offsetCommitItem(options);
  try {
    await client.send(new TransactWriteItemsCommand({ TransactItems: [...options.items, commit] }));
    return 'committed';
  } catch (error) {
    // By name, not instanceof: the handler's SDK may be another copy than Streambed's.
    const refusal = offsetCommitRefusal(error, options.items.length, options);
    if (refusal === undefined) throw error;
    return refusal;
  }
}
