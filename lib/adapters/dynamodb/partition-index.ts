import { setTimeout as sleep } from 'node:timers/promises';
import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
  type UpdateItemCommandOutput,
} from '@aws-sdk/client-dynamodb';
import { CommitTooLateError, PartitionBusyError, UnknownTopicError } from '../../core/errors.ts';
import type { IndexEntry, PendingEntry } from '../../core/index-entry.ts';
import { objectTime } from '../../core/object-keys.ts';
import type {
  AppendOutcome,
  AtomicAppend,
  AtomicWrite,
  PartitionHead,
  PartitionIndex,
  PartitionRef,
} from '../../core/ports.ts';
import type { ProducerBatch } from '../../core/producer-state.ts';
import { COMMIT_LIMIT_MS } from '../../core/retention.ts';
import { mapAwsError } from '../aws-errors.ts';
import { N, num } from './attributes.ts';
import { batchGet, batchWrite } from './batch.ts';
import { DEFAULT_FENCE_TTL_MS, Flusher, flushDue } from './flusher.ts';
import {
  DEFAULT_PAGE_SIZE,
  decodeHead,
  encodeEntry,
  type HeadState,
  headKey,
  newHeadItem,
  partitionKey,
} from './head-codec.ts';
import { IdempotentAppender } from './idempotent-append.ts';
import { pageIdleTail } from './idle-tail.ts';
import { DynamoLifecycleIndex } from './lifecycle-index.ts';
import { pageEntriesFrom } from './pages.ts';
import { deletePartitionItems, fenceAttempt, fencePartitions } from './partition-lifecycle.ts';
import { AmbiguousWriteError, sendWithoutBlindRetry } from './send-once.ts';
import { firstPageAtTime } from './time-index.ts';
import { TransactionalAppender } from './transactional-append.ts';

export interface DynamoPartitionIndexOptions {
  readonly client: DynamoDBClient;
  readonly table: string;
  /**
   * Tail entries moved to one index page at a time, for partitions created from now on (each
   * partition keeps the page size it was created with). @default 32
   */
  readonly pageSize?: number;
  /** Idle time after which an idempotent producer's state is gone (Kafka: producer.id.expiration.ms). @default 1 day */
  readonly producerExpirationMs?: number;
  /** How long a fenced append attempt is remembered. @default 1 hour */
  readonly fenceTtlMs?: number;
  /** A cached lower bound of a partition's end offset older than this is refreshed by `prepare`. @default 60 s */
  readonly boundRefreshMs?: number;
  /** Called when a best-effort page flush fails (a later append flushes again). */
  readonly onFlushError?: (error: unknown) => void;
  /** @default Date.now */
  readonly now?: () => number;
}

const MAX_BOUNDS = 100_000;

/**
 * The partition index on DynamoDB (index format v2, docs/design.md §2–3). A plain append is ONE
 * UpdateItem of the partition's head: it adds the record count to `next` and appends the ~20-byte
 * entry to `tail`, atomically, so offsets are never reserved without an entry. An idempotent
 * producer's append is one transaction of that update and its (partition, producer) state item.
 * Every `ps` appends, the appender that filled the page moves it into an immutable page item.
 * An append whose outcome is unknown is never resent blindly: it is fenced, then looked for.
 *
 * @example
 * const index = new DynamoPartitionIndex({ client, table: 'streambed-log' });
 * await index.prepare([ref]);
 * const { baseOffset } = await index.append(ref, entry);
 */
export class DynamoPartitionIndex extends DynamoLifecycleIndex implements PartitionIndex {
  private readonly pageSize: number;
  private readonly boundRefreshMs: number;
  private readonly onFlushError: (error: unknown) => void;
  private readonly flusher: Flusher;
  private readonly idempotent: IdempotentAppender;
  private readonly transactional: TransactionalAppender;
  /** Page sizes of partitions seen (fixed per partition, so safe to keep). */
  private readonly pageSizes = new Map<string, number>();
  /** The largest `next` seen per partition, and when: a lower bound of where a new append lands. */
  private readonly bounds = new Map<string, { next: number; at: number }>();

  constructor(options: DynamoPartitionIndexOptions) {
    super(options.client, options.table, options.now ?? Date.now);
    this.pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    if (!Number.isInteger(this.pageSize) || this.pageSize < 1 || this.pageSize > 64) {
      throw new Error(`pageSize must be an integer in [1, 64], got ${options.pageSize}`);
    }
    this.boundRefreshMs = options.boundRefreshMs ?? 60_000;
    const report = options.onFlushError ?? (() => {});
    this.onFlushError = (error) => {
      try {
        report(error);
      } catch {
        // A reporting failure must not turn a committed append into a failed one.
      }
    };
    this.flusher = new Flusher({
      client: this.client,
      table: this.table,
      fenceTtlMs: options.fenceTtlMs ?? DEFAULT_FENCE_TTL_MS,
      now: this.now,
    });
    this.idempotent = new IdempotentAppender({
      client: this.client,
      table: this.table,
      expirationMs: options.producerExpirationMs ?? 24 * 3600 * 1000,
      now: this.now,
      maxTail: (ref) => this.maxTail(ref),
      checkInTime: (objectId) => this.checkInTime(objectId),
      bound: (ref) => this.bound(ref),
      readHead: (ref) => this.readHeadState(ref),
      locate: (ref, objectId, bound) => this.locate(ref, objectId, bound),
      afterAppend: (ref, head, position) => this.afterAppend(ref, head, position),
    });
    this.transactional = new TransactionalAppender({
      client: this.client,
      table: this.table,
      maxTail: (ref) => this.maxTail(ref),
      checkInTime: (objectId) => this.checkInTime(objectId),
      readHead: (ref) => this.readHeadState(ref),
      afterAppend: (ref, head, position) => this.afterAppend(ref, head, position),
      onFlushError: this.onFlushError,
    });
  }

  /** Refuses to send an append of an object older than the commit limit (COMMIT_LIMIT_MS). */
  private checkInTime(objectId: string): void {
    if (this.now() - objectTime(objectId) > COMMIT_LIMIT_MS) {
      throw new CommitTooLateError(
        `the produce call could not commit within ${COMMIT_LIMIT_MS} ms of writing its object; retry it`,
      );
    }
  }

  private maxTail(ref: PartitionRef): number {
    return 4 * (this.pageSizes.get(partitionKey(ref.topicId, ref.partition)) ?? DEFAULT_PAGE_SIZE);
  }

  private bound(ref: PartitionRef): number {
    return this.bounds.get(partitionKey(ref.topicId, ref.partition))?.next ?? 0;
  }

  /** Remembers what a head read or write showed. */
  private observe(ref: PartitionRef, head: HeadState): HeadState {
    const key = partitionKey(ref.topicId, ref.partition);
    this.pageSizes.set(key, head.pageSize);
    const known = this.bounds.get(key);
    if (known === undefined && this.bounds.size >= MAX_BOUNDS) this.bounds.clear();
    this.bounds.set(key, { next: Math.max(known?.next ?? 0, head.highWatermark), at: this.now() });
    return head;
  }

  async createPartitions(topicId: string, partitions: number): Promise<void> {
    const puts = Array.from({ length: partitions }, (_, partition) => ({
      PutRequest: { Item: newHeadItem(topicId, partition, this.pageSize) },
    }));
    await batchWrite(this.client, this.table, puts);
  }

  async fencePartitions(topicId: string, partitions: number): Promise<void> {
    await fencePartitions(this.client, this.table, topicId, partitions);
  }

  async deletePartitions(topicId: string, partitions: number, deadline?: number): Promise<boolean> {
    return await deletePartitionItems(this.client, this.table, topicId, partitions, deadline, this.now);
  }

  async prepare(refs: readonly PartitionRef[], producerId?: string): Promise<void> {
    const stale = refs.filter((ref) => {
      const known = this.bounds.get(partitionKey(ref.topicId, ref.partition));
      return known === undefined || this.now() - known.at > this.boundRefreshMs;
    });
    await Promise.all([
      stale.length === 0 ? undefined : this.refreshBounds(stale),
      producerId === undefined ? undefined : this.idempotent.prefetch(refs, producerId),
    ]);
  }

  /** An eventually consistent read is enough: any `next` ever observed is a lower bound. */
  private async refreshBounds(refs: readonly PartitionRef[]): Promise<void> {
    for (let i = 0; i < refs.length; i += 100) {
      const out = await this.client
        .send(
          new BatchGetItemCommand({
            RequestItems: {
              [this.table]: {
                Keys: refs.slice(i, i + 100).map((ref) => headKey(ref.topicId, ref.partition)),
                ProjectionExpression: 'pk, #next',
                ExpressionAttributeNames: { '#next': 'next' },
              },
            },
          }),
        )
        .catch(mapAwsError);
      // Unprocessed keys (throttling) keep their older bound: still a valid one.
      for (const item of out.Responses?.[this.table] ?? []) {
        const key = item.pk?.S ?? '';
        const known = this.bounds.get(key);
        this.bounds.set(key, { next: Math.max(known?.next ?? 0, num(item, 'next')), at: this.now() });
      }
    }
  }

  async append(ref: PartitionRef, entry: PendingEntry, producer?: ProducerBatch): Promise<AppendOutcome> {
    if (producer !== undefined) return await this.idempotent.append(ref, entry, producer);
    const bound = this.bound(ref);
    let attempt = 1;
    for (let tries = 0; ; tries++) {
      this.checkInTime(entry.objectId);
      try {
        const out = await sendWithoutBlindRetry<UpdateItemCommandOutput>(
          this.client,
          this.appendCommand(ref, entry, `${entry.objectId}.${attempt}`),
        );
        const head = this.observe(ref, decodeHead(ref.partition, out.Attributes ?? {}));
        await this.afterAppend(ref, head, head.tailLength - 1);
        return { kind: 'appended', baseOffset: head.highWatermark - entry.recordCount };
      } catch (error) {
        if (error instanceof AmbiguousWriteError) {
          // The attempt may have landed. Fence it so it never can from now on, then look.
          await fenceAttempt(this.client, this.table, ref, `${entry.objectId}.${attempt}`, this.now());
          const found = await this.locate(ref, entry.objectId, bound);
          if (found !== undefined) return { kind: 'appended', baseOffset: found };
          attempt++;
          continue;
        }
        if ((error as Error).name === 'TransactionConflictException') {
          await sleep(1 + Math.random() * 4 * Math.min(tries + 1, 10));
        } else {
          if (!(error instanceof ConditionalCheckFailedException)) mapAwsError(error);
          // The failed condition returned the item as it was: decide from it, without another read.
          // No head, or a head fenced by a topic deletion: this incarnation is gone.
          if (error.Item === undefined || error.Item.del !== undefined)
            throw new UnknownTopicError(ref.topic);
          const head = this.observe(ref, decodeHead(ref.partition, error.Item));
          // The tail is full: the flusher is behind. Step in if it seems stuck, and wait.
          if (tries >= 2) await this.flusher.flush(ref, head).catch(this.onFlushError);
          await sleep(2 + Math.random() * 5 * Math.min(tries + 1, 10));
        }
        if (tries >= 40) {
          throw new PartitionBusyError(
            `partition ${ref.partition} of '${ref.topic}' is catching up; retry shortly`,
          );
        }
      }
    }
  }

  /** One transaction of the heads' updates and `write` (see transactional-append.ts). */
  async appendAtomically(appends: readonly AtomicAppend[], write: AtomicWrite): Promise<void> {
    await this.transactional.append(appends, write);
  }

  private appendCommand(ref: PartitionRef, entry: PendingEntry, fence: string) {
    return new UpdateItemCommand({
      TableName: this.table,
      Key: headKey(ref.topicId, ref.partition),
      UpdateExpression: 'SET #tail = list_append(#tail, :entry), #next = #next + :n',
      ConditionExpression:
        'attribute_exists(pk) AND attribute_not_exists(#del) AND size(#tail) < :maxTail AND attribute_not_exists(#fx.#fence)',
      ExpressionAttributeNames: {
        '#next': 'next',
        '#tail': 'tail',
        '#fx': 'fx',
        '#fence': fence,
        '#del': 'del',
      },
      ExpressionAttributeValues: {
        ':n': N(entry.recordCount),
        ':entry': { L: [encodeEntry(entry)] },
        ':maxTail': N(this.maxTail(ref)),
      },
      ReturnValues: 'ALL_NEW',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
  }

  /**
   * Pages the tail out when this append is the one that should: the one whose entry sits at the end
   * of a whole page of the tail (see {@link flushDue}). An entry's position is unique at a given
   * `lb`, so exactly one appender per page flushes, also when idempotent appenders learn their
   * position from a later read.
   */
  private async afterAppend(ref: PartitionRef, head: HeadState, position: number): Promise<void> {
    if (flushDue(position + 1, head.pageSize)) await this.flusher.flush(ref, head).catch(this.onFlushError);
  }

  /**
   * The base offset of the entry of object `objectId`, searched from `bound` (an offset at or below
   * where it would be) to the end; undefined when it is not in the index.
   */
  async locate(ref: PartitionRef, objectId: string, bound: number): Promise<number | undefined> {
    const head = await this.readHeadState(ref);
    if (head === undefined) throw new UnknownTopicError(ref.topic);
    const inTail = head.tail.find((entry) => entry.objectId === objectId);
    if (inTail !== undefined) return inTail.baseOffset;
    if (bound >= head.tailBase) return undefined;
    for await (const entry of this.entriesFrom(ref, Math.max(bound, head.logStartOffset), head)) {
      if (entry.objectId === objectId) return entry.baseOffset;
    }
    return undefined;
  }

  private async readHeadState(ref: PartitionRef): Promise<HeadState | undefined> {
    const out = await this.client
      .send(
        new GetItemCommand({
          TableName: this.table,
          Key: headKey(ref.topicId, ref.partition),
          ConsistentRead: true,
        }),
      )
      .catch(mapAwsError);
    return out.Item === undefined ? undefined : this.observe(ref, decodeHead(ref.partition, out.Item));
  }

  async pageIdleTail(ref: PartitionRef, idleBefore: number): Promise<boolean> {
    const head = await this.readHeadState(ref);
    return head !== undefined && (await pageIdleTail(this.client, this.table, ref, head, idleBefore));
  }

  async readHead(ref: PartitionRef): Promise<PartitionHead | undefined> {
    return await this.readHeadState(ref);
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

  async timestampStart(
    ref: PartitionRef,
    timestamp: number,
    head: PartitionHead,
  ): Promise<number | undefined> {
    return await firstPageAtTime(this.client, this.table, ref, timestamp, head);
  }

  entriesFrom(ref: PartitionRef, offset: number, head: PartitionHead): AsyncIterable<IndexEntry> {
    return pageEntriesFrom(this.client, this.table, ref, offset, head);
  }
}
