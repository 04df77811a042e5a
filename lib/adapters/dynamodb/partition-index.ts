import { setTimeout as sleep } from 'node:timers/promises';
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { PartitionBusyError, UnknownTopicError } from '../../core/errors.ts';
import type { IndexEntry, PendingEntry } from '../../core/index-entry.ts';
import type { AppendOutcome, PartitionHead, PartitionIndex, PartitionRef } from '../../core/ports.ts';
import { accepts, classifyRefusal, type ProducerBatch } from '../../core/producer-state.ts';
import { mapAwsError } from '../aws-errors.ts';
import { type Item, L, M, N, num, optNum, S } from './attributes.ts';
import { batchGet, batchWrite } from './batch.ts';
import {
  DEFAULT_PAGE_SIZE,
  decodeHead,
  decodePage,
  encodeEntry,
  encodePage,
  HEAD_SK,
  headKey,
  headPageSize,
  newHeadItem,
  partitionKey,
  producerState,
  producerTimes,
  tailObjectIds,
} from './head-codec.ts';
import { queryAll } from './query.ts';

export interface DynamoPartitionIndexOptions {
  readonly client: DynamoDBClient;
  readonly table: string;
  /**
   * Tail entries moved to one index page at a time, for partitions created from now on (each
   * partition keeps the page size it was created with). @default 8
   */
  readonly pageSize?: number;
  /** Idle time after which an idempotent producer's state is dropped (Kafka: producer.id.expiration.ms). @default 1 day */
  readonly producerExpirationMs?: number;
  /** Idempotent producers remembered per partition (their state lives in the head item). @default 64 */
  readonly maxProducers?: number;
  /** Called when a best-effort page flush fails (it is retried by a later append). */
  readonly onFlushError?: (error: unknown) => void;
}

/**
 * The partition index on DynamoDB. One conditional UpdateItem per partition commits a batch:
 * it adds the record count to `next`, appends the entry to `tail`, and (for idempotent producers)
 * checks and records the producer's sequence — atomically, so there is no window in which offsets
 * are reserved but not committed. Every `pageSize` appends, the appender moves the oldest
 * `pageSize` tail entries into an immutable page item. See docs/design.md.
 *
 * @example
 * const index = new DynamoPartitionIndex({ client, table: 'streambed-log' });
 * const { baseOffset } = await index.append({ topic: 't', topicId, partition: 0 }, entry);
 */
export class DynamoPartitionIndex implements PartitionIndex {
  private readonly client: DynamoDBClient;
  private readonly table: string;
  private readonly pageSize: number;
  private readonly producerExpirationMs: number;
  private readonly maxProducers: number;
  private readonly onFlushError: (error: unknown) => void;
  /** The page size of partitions this instance has seen (fixed per partition, so safe to keep). */
  private readonly pageSizes = new Map<string, number>();

  constructor(options: DynamoPartitionIndexOptions) {
    this.client = options.client;
    this.table = options.table;
    this.pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    if (!Number.isInteger(this.pageSize) || this.pageSize < 1 || this.pageSize > 64) {
      throw new Error(`pageSize must be an integer in [1, 64], got ${options.pageSize}`);
    }
    this.producerExpirationMs = options.producerExpirationMs ?? 24 * 3600 * 1000;
    this.maxProducers = options.maxProducers ?? 64;
    const report = options.onFlushError ?? (() => {});
    this.onFlushError = (error) => {
      try {
        report(error);
      } catch {
        // A reporting failure must not turn a committed append into a failed one.
      }
    };
  }

  private static maxTail(pageSize: number): number {
    return pageSize * 4;
  }

  async createPartitions(topicId: string, partitions: number): Promise<void> {
    const puts = Array.from({ length: partitions }, (_, partition) => ({
      PutRequest: { Item: newHeadItem(topicId, partition, this.pageSize) },
    }));
    await batchWrite(this.client, this.table, puts);
  }

  async deletePartitions(topicId: string, partitions: number): Promise<void> {
    const heads = Array.from({ length: partitions }, (_, partition) => ({
      DeleteRequest: { Key: headKey(topicId, partition) },
    }));
    // Heads first: an append racing the deletion then fails its attribute_exists condition.
    await batchWrite(this.client, this.table, heads);
    for (let partition = 0; partition < partitions; partition++) {
      const keys = await queryAll(this.client, {
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': S(partitionKey(topicId, partition)) },
        ProjectionExpression: 'pk, sk',
        ConsistentRead: true,
      });
      await batchWrite(
        this.client,
        this.table,
        keys.map((Key) => ({ DeleteRequest: { Key } })),
      );
    }
  }

  async append(ref: PartitionRef, entry: PendingEntry, producer?: ProducerBatch): Promise<AppendOutcome> {
    // The tail length limit is per partition (4 pages); until we have seen the head, assume the default.
    const key = partitionKey(ref.topicId, ref.partition);
    let maxTail = DynamoPartitionIndex.maxTail(this.pageSizes.get(key) ?? DEFAULT_PAGE_SIZE);
    for (let attempt = 0; ; attempt++) {
      try {
        const out = await this.client.send(this.appendCommand(ref, entry, producer, maxTail));
        const item = out.Attributes ?? {};
        this.pageSizes.set(key, headPageSize(item));
        const head = decodeHead(ref.partition, item);
        const pageSize = headPageSize(item);
        if (head.tail.length >= pageSize && head.tail.length % pageSize === 0) {
          await this.flush(ref, item).catch(this.onFlushError);
        }
        return { kind: 'appended', baseOffset: head.highWatermark - entry.recordCount };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) mapAwsError(error);
        // The failed condition returned the item as it was: decide from it, without another read.
        const old = error.Item;
        if (old === undefined) throw new UnknownTopicError(ref.topic);
        const head = decodeHead(ref.partition, old);
        this.pageSizes.set(key, headPageSize(old));
        maxTail = DynamoPartitionIndex.maxTail(headPageSize(old));
        if (tailObjectIds(old).has(entry.objectId)) {
          // An earlier attempt of this very append (an SDK retry after a lost response) committed it.
          const mine = head.tail.find((e) => e.objectId === entry.objectId);
          if (mine !== undefined) return { kind: 'appended', baseOffset: mine.baseOffset };
        }
        if (producer !== undefined) {
          const state = producerState(old, producer.producerId);
          if (!accepts(state, producer)) {
            const refusal = classifyRefusal(state, producer);
            if (refusal.kind === 'duplicate') return { kind: 'duplicate', baseOffset: refusal.baseOffset };
            if (refusal.kind === 'error') throw refusal.error;
          }
          if (state === undefined && producerTimes(old).size >= this.maxProducers) {
            throw new PartitionBusyError(
              `partition ${ref.partition} of '${ref.topic}' already tracks ${this.maxProducers} idempotent producers; ` +
                'idle ones expire after a day',
            );
          }
        }
        if (head.tail.length >= maxTail) {
          // The appender that filled the last page is paging already; step in only if it seems stuck.
          if (attempt >= 2) await this.flush(ref, old).catch(this.onFlushError);
          await sleep(2 + Math.random() * 5 * (attempt + 1));
        }
        if (attempt >= 20) {
          throw new PartitionBusyError(
            `partition ${ref.partition} of '${ref.topic}' is catching up; retry shortly`,
          );
        }
      }
    }
  }

  private appendCommand(
    ref: PartitionRef,
    entry: PendingEntry,
    producer: ProducerBatch | undefined,
    maxTail: number,
  ) {
    const names: Record<string, string> = { '#next': 'next', '#tail': 'tail', '#ids': 'ids' };
    const values: Item = {
      ':n': N(entry.recordCount),
      ':entry': L([M(encodeEntry(entry))]),
      ':maxTail': N(maxTail),
      ':id': S(entry.objectId),
      ':idSet': { SS: [entry.objectId] },
    };
    let update = 'SET #tail = list_append(#tail, :entry), #next = #next + :n';
    let condition = 'attribute_exists(pk) AND size(#tail) < :maxTail AND NOT contains(#ids, :id)';
    if (producer !== undefined) {
      names['#prod'] = 'prod';
      names['#prodo'] = 'prodo';
      names['#pid'] = producer.producerId;
      values[':state'] = M({
        e: N(producer.epoch),
        s: N(producer.sequence),
        ns: N(producer.sequence + producer.count),
        t: N(Date.now()),
      });
      values[':e'] = N(producer.epoch);
      values[':s'] = N(producer.sequence);
      // `#next` on the right-hand side reads the value before this update: the batch's base offset.
      update += ', #prod.#pid = :state, #prodo.#pid = #next';
      const next = '(#prod.#pid.e = :e AND #prod.#pid.ns = :s)';
      const fresh =
        '(attribute_not_exists(#prod.#pid) AND size(#prodo) < :maxProducers) OR #prod.#pid.e < :e';
      if (producer.sequence === 0) values[':maxProducers'] = N(this.maxProducers);
      condition += producer.sequence === 0 ? ` AND (${fresh} OR ${next})` : ` AND ${next}`;
    }
    return new UpdateItemCommand({
      TableName: this.table,
      Key: headKey(ref.topicId, ref.partition),
      UpdateExpression: `${update} ADD #ids :idSet`,
      ConditionExpression: condition,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ReturnValues: 'ALL_NEW',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
  }

  /**
   * Moves the oldest tail entries into pages, `ps` (the partition's page size) at a time. A page is
   * a pure function of (`lb`, the tail, `ps`), so concurrent flushers write identical pages, and a
   * page is only ever created, never overwritten (conditional put). The trim is conditional on `lb`,
   * so exactly one flusher removes the entries, and only after their page exists. A flusher that
   * loses the race continues from the head its failed condition returned. The trim also drops
   * idempotent-producer state idle for longer than the expiration.
   */
  private async flush(ref: PartitionRef, item: Item): Promise<void> {
    const pageSize = headPageSize(item);
    let currentItem = item;
    const maxTail = DynamoPartitionIndex.maxTail(pageSize);
    for (let round = 0; round < 8; round++) {
      const current = decodeHead(ref.partition, currentItem);
      const pages = Math.floor(current.tail.length / pageSize);
      if (pages === 0) return;
      // Every whole page in the tail at once: the pages in parallel, then one trim.
      const moved = current.tail.slice(0, pages * pageSize);
      const lb = current.tailBase;
      const end = lb + moved.reduce((sum, entry) => sum + entry.recordCount, 0);
      await Promise.all(
        Array.from({ length: pages }, (_, i) => {
          const chunk = moved.slice(i * pageSize, (i + 1) * pageSize);
          const last = chunk.at(-1) as IndexEntry;
          return this.writePage(ref, chunk, last.baseOffset + last.recordCount);
        }),
      );
      const names: Record<string, string> = { '#tail': 'tail', '#lb': 'lb', '#ids': 'ids' };
      const removes = moved.map((_, i) => `#tail[${i}]`);
      const cutoff = Date.now() - this.producerExpirationMs;
      let expired = 0;
      for (const [producerId, at] of producerTimes(currentItem)) {
        if (at >= cutoff || expired >= 10) continue;
        names[`#x${expired}`] = producerId;
        names['#prod'] = 'prod';
        names['#prodo'] = 'prodo';
        removes.push(`#prod.#x${expired}`, `#prodo.#x${expired}`);
        expired++;
      }
      try {
        const out = await this.client.send(
          new UpdateItemCommand({
            TableName: this.table,
            Key: headKey(ref.topicId, ref.partition),
            UpdateExpression: `REMOVE ${removes.join(', ')} SET #lb = :end DELETE #ids :trimmed`,
            ConditionExpression: '#lb = :lb',
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: {
              ':lb': N(lb),
              ':end': N(end),
              ':trimmed': { SS: [...new Set(moved.map((e) => e.objectId))] },
            },
            ReturnValues: 'ALL_NEW',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        currentItem = out.Attributes ?? {};
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) mapAwsError(error);
        if (error.Item === undefined) return; // the partition was deleted
        currentItem = error.Item; // another flusher got there first
        // Leave the rest to that flusher unless the tail is still filling up towards its limit.
        if (decodeHead(ref.partition, currentItem).tail.length < maxTail / 2) return;
      }
    }
  }

  /** Creates the page unless it exists; an existing page must cover at least the same range. */
  private async writePage(ref: PartitionRef, chunk: readonly IndexEntry[], end: number): Promise<void> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: encodePage(ref.topicId, ref.partition, chunk),
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) mapAwsError(error);
      const existingEnd = optNum(error.Item, 'end') ?? -1;
      if (existingEnd < end) {
        throw new Error(
          `index page at ${chunk[0]?.baseOffset} of partition ${ref.partition} ends at ${existingEnd}, not ${end}`,
        );
      }
    }
  }

  async readHead(ref: PartitionRef): Promise<PartitionHead | undefined> {
    const out = await this.client
      .send(
        new GetItemCommand({
          TableName: this.table,
          Key: headKey(ref.topicId, ref.partition),
          ConsistentRead: true,
        }),
      )
      .catch(mapAwsError);
    return out.Item === undefined ? undefined : decodeHead(ref.partition, out.Item);
  }

  async readHeads(topicId: string, partitions: number): Promise<PartitionHead[]> {
    const keys = Array.from({ length: partitions }, (_, partition) => headKey(topicId, partition));
    const items = await batchGet(this.client, this.table, keys);
    return items
      .map((item) => {
        const pk = item.pk?.S ?? '';
        return decodeHead(Number(pk.slice(pk.lastIndexOf('#') + 1)), item);
      })
      .sort((a, b) => a.partition - b.partition);
  }

  async *entriesFrom(ref: PartitionRef, offset: number, head: PartitionHead): AsyncIterable<IndexEntry> {
    if (offset >= head.tailBase) return;
    const pk = S(partitionKey(ref.topicId, ref.partition));
    // The page holding `offset` is the last page starting at or below it.
    const first = await this.client
      .send(
        new QueryCommand({
          TableName: this.table,
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
      const out = await this.client
        .send(
          new QueryCommand({
            TableName: this.table,
            KeyConditionExpression: 'pk = :pk AND sk > :after',
            ExpressionAttributeValues: { ':pk': pk, ':after': N(Math.max(after, HEAD_SK)) },
            ConsistentRead: true,
            Limit: 4,
          }),
        )
        .catch(mapAwsError);
      const items = out.Items ?? [];
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
}
