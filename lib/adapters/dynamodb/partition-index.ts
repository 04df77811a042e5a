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
import { type Item, L, M, N, num, S } from './attributes.ts';
import { batchGet, batchWrite } from './batch.ts';
import {
  decodeHead,
  decodePage,
  encodeEntry,
  encodePage,
  HEAD_SK,
  headKey,
  newHeadItem,
  partitionKey,
  producerState,
} from './head-codec.ts';

export interface DynamoPartitionIndexOptions {
  readonly client: DynamoDBClient;
  readonly table: string;
  /** Tail entries moved to one index page at a time. @default 8 */
  readonly pageSize?: number;
  /** Tail length at which appends are refused until a flush catches up. @default 4 × pageSize */
  readonly maxTail?: number;
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
  private readonly maxTail: number;
  private readonly onFlushError: (error: unknown) => void;

  constructor(options: DynamoPartitionIndexOptions) {
    this.client = options.client;
    this.table = options.table;
    this.pageSize = options.pageSize ?? 8;
    this.maxTail = options.maxTail ?? this.pageSize * 4;
    this.onFlushError = options.onFlushError ?? (() => {});
  }

  async createPartitions(topicId: string, partitions: number): Promise<void> {
    const puts = Array.from({ length: partitions }, (_, partition) => ({
      PutRequest: { Item: newHeadItem(topicId, partition) },
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
      const keys: Item[] = [];
      let start: Item | undefined;
      do {
        const out = await this.client
          .send(
            new QueryCommand({
              TableName: this.table,
              KeyConditionExpression: 'pk = :pk',
              ExpressionAttributeValues: { ':pk': S(partitionKey(topicId, partition)) },
              ProjectionExpression: 'pk, sk',
              ExclusiveStartKey: start,
            }),
          )
          .catch(mapAwsError);
        keys.push(...(out.Items ?? []));
        start = out.LastEvaluatedKey;
      } while (start !== undefined);
      await batchWrite(
        this.client,
        this.table,
        keys.map((Key) => ({ DeleteRequest: { Key } })),
      );
    }
  }

  async append(ref: PartitionRef, entry: PendingEntry, producer?: ProducerBatch): Promise<AppendOutcome> {
    for (let attempt = 0; ; attempt++) {
      try {
        const out = await this.client.send(this.appendCommand(ref, entry, producer));
        const head = decodeHead(ref.partition, out.Attributes ?? {});
        const baseOffset = head.highWatermark - entry.recordCount;
        if (head.tail.length >= this.pageSize && head.tail.length % this.pageSize === 0) {
          await this.flush(ref, head).catch(this.onFlushError);
        }
        return { kind: 'appended', baseOffset };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) mapAwsError(error);
        // The failed condition returned the item as it was: decide from it, without another read.
        const old = error.Item;
        if (old === undefined) throw new UnknownTopicError(ref.topic);
        const head = decodeHead(ref.partition, old);
        if (producer !== undefined) {
          const state = producerState(old, producer.producerId);
          if (!accepts(state, producer)) {
            const refusal = classifyRefusal(state, producer);
            if (refusal.kind === 'duplicate') return { kind: 'duplicate', baseOffset: refusal.baseOffset };
            if (refusal.kind === 'error') throw refusal.error;
          }
        }
        if (head.tail.length >= this.maxTail) {
          await this.flush(ref, head).catch(this.onFlushError);
          await sleep(Math.random() * 10 * (attempt + 1));
        }
        if (attempt >= 20) {
          throw new PartitionBusyError(
            `partition ${ref.partition} of '${ref.topic}' is catching up; retry shortly`,
          );
        }
      }
    }
  }

  private appendCommand(ref: PartitionRef, entry: PendingEntry, producer: ProducerBatch | undefined) {
    const names: Record<string, string> = { '#next': 'next', '#tail': 'tail' };
    const values: Item = {
      ':n': N(entry.recordCount),
      ':entry': L([M(encodeEntry(entry))]),
      ':maxTail': N(this.maxTail),
    };
    let update = 'SET #tail = list_append(#tail, :entry), #next = #next + :n';
    let condition = 'attribute_exists(pk) AND size(#tail) < :maxTail';
    if (producer !== undefined) {
      names['#prod'] = 'prod';
      names['#prodo'] = 'prodo';
      names['#pid'] = producer.producerId;
      values[':state'] = M({
        e: N(producer.epoch),
        s: N(producer.sequence),
        ns: N(producer.sequence + producer.count),
      });
      values[':e'] = N(producer.epoch);
      values[':s'] = N(producer.sequence);
      // `#next` on the right-hand side reads the value before this update: the batch's base offset.
      update += ', #prod.#pid = :state, #prodo.#pid = #next';
      const next = '(#prod.#pid.e = :e AND #prod.#pid.ns = :s)';
      const fresh = 'attribute_not_exists(#prod.#pid) OR #prod.#pid.e < :e';
      condition += producer.sequence === 0 ? ` AND (${fresh} OR ${next})` : ` AND ${next}`;
    }
    return new UpdateItemCommand({
      TableName: this.table,
      Key: headKey(ref.topicId, ref.partition),
      UpdateExpression: update,
      ConditionExpression: condition,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ReturnValues: 'ALL_NEW',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
  }

  /**
   * Moves the oldest tail entries into pages, `pageSize` at a time. Each page is a pure function of
   * (`lb`, the tail), so concurrent flushers write identical pages; the trim is conditional on `lb`
   * so exactly one of them removes the entries, and only after their page exists. A flusher that
   * loses the race continues from the head its failed condition returned.
   */
  private async flush(ref: PartitionRef, head: PartitionHead): Promise<void> {
    let current = head;
    for (let round = 0; current.tail.length >= this.pageSize && round < this.maxTail; round++) {
      const chunk = current.tail.slice(0, this.pageSize);
      const lb = current.tailBase;
      const end = lb + chunk.reduce((sum, entry) => sum + entry.recordCount, 0);
      await this.client
        .send(
          new PutItemCommand({ TableName: this.table, Item: encodePage(ref.topicId, ref.partition, chunk) }),
        )
        .catch(mapAwsError);
      const removes = chunk.map((_, i) => `#tail[${i}]`).join(', ');
      try {
        const out = await this.client.send(
          new UpdateItemCommand({
            TableName: this.table,
            Key: headKey(ref.topicId, ref.partition),
            UpdateExpression: `REMOVE ${removes} SET #lb = :end`,
            ConditionExpression: '#lb = :lb',
            ExpressionAttributeNames: { '#tail': 'tail', '#lb': 'lb' },
            ExpressionAttributeValues: { ':lb': N(lb), ':end': N(end) },
            ReturnValues: 'ALL_NEW',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        current = decodeHead(ref.partition, out.Attributes ?? {});
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) mapAwsError(error);
        if (error.Item === undefined) return; // the partition was deleted
        current = decodeHead(ref.partition, error.Item); // another flusher moved on: continue from there
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
