import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  LeaseLostError,
  OffsetOutOfRangeError,
  OffsetResetError,
  UnknownTopicError,
} from '../core/errors.ts';
import type { Invoker, LeaseState, QueueSender, SubscriptionStore } from '../core/ports.ts';
import { toHttpRecord } from '../core/record-json.ts';
import {
  type FailedBatchRecord,
  resolveSubscription,
  type StreambedEvent,
  type StreambedRecord,
  type Subscription,
  type SubscriptionInput,
} from '../core/subscription.ts';
import type { FetchedRecord, TopicRecord } from '../core/types.ts';
import { EngineContext, type EngineDeps, mapLimit } from './context.ts';
import { fetchRecords, listOffsets } from './fetch.ts';
import { produce, StickyPartitions } from './produce.ts';

export interface DispatcherOptions {
  readonly deps: EngineDeps;
  readonly subscriptions: SubscriptionStore;
  readonly invoker: Invoker;
  /** Needed when a subscription's on-failure destination is an SQS queue. */
  readonly sqs?: QueueSender;
  /**
   * How long a dispatcher holds a partition without renewing it. It must exceed the consumer
   * function's timeout: a dispatcher that dies mid-batch delays that partition by at most this.
   * @default 900_000 (Lambda's longest timeout)
   */
  readonly leaseMs?: number;
  /** @default a random id per dispatcher instance */
  readonly ownerId?: string;
  /** First retry delay of a failing batch, doubled per attempt. @default 100 */
  readonly retryBaseMs?: number;
  /** @default 5_000 */
  readonly retryMaxMs?: number;
  /** Largest batch payload in bytes (Lambda's synchronous invoke payload is 6 MB). @default 3 MiB */
  readonly maxBatchBytes?: number;
  /** How long the subscription list is cached. @default 10_000 */
  readonly subscriptionCacheMs?: number;
  /** Told about a delivery that failed (it is retried by the next trigger or sweep). @default console.error */
  readonly onError?: (error: unknown, where: { group: string; topic: string; partition: number }) => void;
  /**
   * Told when delivery jumps: records a group had not consumed left the log (retention,
   * DeleteRecords) and delivery resumes at the log start, skipping [from, to) (`left-the-log`); or a
   * plain commit reset the group's offset while this dispatcher delivered, and delivery goes on at
   * `to` instead of `from` (`reset`). @default console.warn
   */
  readonly onSkip?: (skip: {
    group: string;
    topic: string;
    partition: number;
    from: number;
    to: number;
    reason: 'left-the-log' | 'reset';
  }) => void;
}

/**
 * The time an invocation may take from its start to its commit: the function's timeout, plus room for
 * the invoke's own latency and the commit (1 s + 5% of the timeout).
 *
 * @example invocationBudgetMs(60) // 64_000
 */
export function invocationBudgetMs(functionTimeoutSeconds: number): number {
  return functionTimeoutSeconds * 1000 + 1000 + functionTimeoutSeconds * 50;
}

export type DeliveryOutcome = 'caught-up' | 'deadline' | 'busy' | 'lost' | 'disabled';

/** A partition with new records, as a change to its head in the `log` table's stream says. */
export interface ChangedPartition {
  readonly topicId: string;
  readonly partition: number;
}

/** A DynamoDB stream record, as Lambda's event or the DynamoDB Streams API gives it. */
export type StreamRecordLike = unknown;

type AttributeLike = { readonly S?: unknown; readonly N?: unknown } | undefined;
type ImageLike = Readonly<Record<string, AttributeLike>> | undefined;

function streamImages(record: unknown): { keys: ImageLike; next: ImageLike; old: ImageLike } {
  const dynamodb = (
    record as { dynamodb?: { Keys?: ImageLike; NewImage?: ImageLike; OldImage?: ImageLike } } | null
  )?.dynamodb;
  return { keys: dynamodb?.Keys, next: dynamodb?.NewImage, old: dynamodb?.OldImage };
}

export interface LagReport {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  readonly lag: number;
}

/**
 * Partitions whose high watermark moved, from `log` table stream records: head items (sk = -1)
 * whose `next` grew. Page writes and trims are not deliveries and are ignored.
 */
export function changedPartitions(records: readonly StreamRecordLike[]): ChangedPartition[] {
  const seen = new Map<string, ChangedPartition>();
  for (const record of records) {
    const { keys, next: newImage, old } = streamImages(record);
    const pk = keys?.pk?.S;
    if (keys?.sk?.N !== '-1' || typeof pk !== 'string') continue;
    const next = Number(newImage?.next?.N ?? Number.NaN);
    const before = Number(old?.next?.N ?? 0);
    if (!(next > before)) continue;
    const cut = pk.lastIndexOf('#');
    const change = { topicId: pk.slice(0, cut), partition: Number(pk.slice(cut + 1)) };
    seen.set(pk, change);
  }
  return [...seen.values()];
}

/**
 * Delivers records to consumer functions, in order, one batch in flight per (group, partition).
 *
 * A delivery takes the (group, partition) lease — the same leases pull consumers use — so only one
 * dispatcher works on a partition at a time; it invokes the function with the next batch from the
 * group's committed offset, and commits past the batch only after the function succeeded (fenced by
 * the lease). Failures are retried with backoff, optionally bisecting the batch or resuming from the
 * lowest reported item failure; a batch that exhausts its retries or expires goes to the on-failure
 * destination and the partition moves on. At-least-once: a dispatcher that dies mid-batch leaves the
 * offset uncommitted, and the next one redelivers the batch after the lease expires.
 *
 * @example
 * const dispatcher = new Dispatcher({ deps, subscriptions, invoker });
 * await dispatcher.onStreamRecords(event.Records, Date.now() + 60_000);
 */
export class Dispatcher {
  private readonly ctx: EngineContext;
  private readonly subscriptions: SubscriptionStore;
  private readonly invoker: Invoker;
  private readonly sqs: QueueSender | undefined;
  private readonly leaseMs: number;
  readonly ownerId: string;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly maxBatchBytes: number;
  private readonly subscriptionCacheMs: number;
  private readonly sticky = new StickyPartitions();
  private cached: { at: number; subscriptions: Subscription[] } | undefined;
  private readonly onError: NonNullable<DispatcherOptions['onError']>;
  private readonly onSkip: NonNullable<DispatcherOptions['onSkip']>;

  constructor(options: DispatcherOptions) {
    this.ctx = new EngineContext(options.deps);
    this.subscriptions = options.subscriptions;
    this.invoker = options.invoker;
    this.sqs = options.sqs;
    this.leaseMs = options.leaseMs ?? 900_000;
    this.ownerId = options.ownerId ?? `dispatcher:${randomBytes(6).toString('hex')}`;
    this.retryBaseMs = options.retryBaseMs ?? 100;
    this.retryMaxMs = options.retryMaxMs ?? 5_000;
    this.maxBatchBytes = options.maxBatchBytes ?? 3 * 1024 * 1024;
    this.subscriptionCacheMs = options.subscriptionCacheMs ?? 10_000;
    this.onError =
      options.onError ??
      ((error, where) =>
        console.error(`delivery to ${where.group} of ${where.topic}/${where.partition} failed`, error));
    this.onSkip =
      options.onSkip ??
      ((s) =>
        console.warn(
          s.reason === 'reset'
            ? `group ${s.group} on ${s.topic}/${s.partition} was reset to ${s.to} (it was at ${s.from}): delivery goes on from there`
            : `group ${s.group} skipped offsets [${s.from}, ${s.to}) of ${s.topic}/${s.partition}: they left the log before delivery`,
        ));
  }

  /**
   * Stores a subscription (validating its knobs) and gives the group a starting offset on every
   * partition that has none: the log start (`earliest`), the high watermark now (`latest`), or the
   * first offset at or after a timestamp.
   */
  async subscribe(input: SubscriptionInput): Promise<Subscription> {
    const subscription: Subscription = { ...resolveSubscription(input), subscribedAt: this.ctx.now() };
    await this.ctx.groups.register(subscription.group);
    let topic: TopicRecord | undefined;
    try {
      topic = await this.ctx.topic(subscription.topic, true);
    } catch (error) {
      // The topic may be created later (a stack deployed before its topics): its records all come
      // after the subscription, so delivery will start at its beginning.
      if (!(error instanceof UnknownTopicError)) throw error;
    }
    if (topic !== undefined) await this.initializeOffsets(subscription, topic);
    await this.subscriptions.put(subscription);
    this.cached = undefined;
    return subscription;
  }

  /** Gives every partition without a committed offset its starting position. */
  private async initializeOffsets(subscription: Subscription, topic: TopicRecord): Promise<void> {
    const committed = await this.ctx.groups.fetch(subscription.group, topic.name, topic.id);
    const missing = Array.from({ length: topic.partitions }, (_, p) => p).filter(
      (p) => !committed.some((c) => c.partition === p),
    );
    const starts = await mapLimit(missing, 8, async (partition) => ({
      partition,
      offset: await this.startOffset(subscription, topic, partition),
    }));
    for (let i = 0; i < starts.length; i += 100) {
      await this.ctx.groups.commit({
        group: subscription.group,
        topic: topic.name,
        topicId: topic.id,
        offsets: starts.slice(i, i + 100),
      });
    }
  }

  /** Removes a subscription; its committed offsets stay (as a deleted event source mapping's would not, but a group's do). */
  async unsubscribe(group: string): Promise<void> {
    await this.subscriptions.delete(group);
    this.cached = undefined;
  }

  private async startOffset(
    subscription: Subscription,
    topic: TopicRecord,
    partition: number,
  ): Promise<number> {
    // A topic created after the subscription holds only newer records: read it from its start.
    const newerTopic =
      subscription.subscribedAt !== undefined && topic.createdAt >= subscription.subscribedAt;
    const position =
      newerTopic && subscription.startingPosition === 'latest' ? 'earliest' : subscription.startingPosition;
    if (position === 'earliest' || position === 'latest') {
      return (await listOffsets(this.ctx, topic.name, partition, position)) ?? 0;
    }
    const found = await listOffsets(this.ctx, topic.name, partition, position);
    return found ?? (await listOffsets(this.ctx, topic.name, partition, 'latest')) ?? 0;
  }

  private async enabledSubscriptions(): Promise<Subscription[]> {
    const now = this.ctx.now();
    if (this.cached === undefined || now - this.cached.at > this.subscriptionCacheMs) {
      this.cached = { at: now, subscriptions: await this.subscriptions.list() };
    }
    return this.cached.subscriptions.filter((s) => s.enabled);
  }

  /** The trigger: delivers to every subscription of every partition these stream records changed. */
  async onStreamRecords(records: readonly StreamRecordLike[], deadline: number): Promise<void> {
    const changed = changedPartitions(records);
    if (changed.length === 0) return;
    const work: { subscription: Subscription; partition: number }[] = [];
    for (const subscription of await this.enabledSubscriptions()) {
      let topic: TopicRecord;
      try {
        topic = await this.ctx.topic(subscription.topic);
      } catch (error) {
        if (error instanceof UnknownTopicError) continue;
        throw error;
      }
      for (const change of changed) {
        if (change.topicId === topic.id) work.push({ subscription, partition: change.partition });
      }
    }
    await this.deliverAll(work, deadline);
  }

  /** Delivers each (subscription, partition); one failing delivery does not stop the others. */
  private async deliverAll(
    work: readonly { subscription: Subscription; partition: number }[],
    deadline: number,
  ): Promise<void> {
    await mapLimit(work, 8, async (w) => {
      try {
        await this.deliver(w.subscription, w.partition, deadline);
      } catch (error) {
        this.onError(error, {
          group: w.subscription.group,
          topic: w.subscription.topic,
          partition: w.partition,
        });
      }
    });
  }

  /**
   * The safety net: delivers to every partition that has lag, whatever triggers were missed.
   * Returns each subscribed partition's lag as it was before delivering.
   */
  async sweep(deadline: number): Promise<LagReport[]> {
    const reports: LagReport[] = [];
    const work: { subscription: Subscription; partition: number }[] = [];
    for (const subscription of await this.enabledSubscriptions()) {
      let topic: TopicRecord;
      try {
        topic = await this.ctx.topic(subscription.topic, true);
      } catch (error) {
        if (error instanceof UnknownTopicError) continue;
        throw error;
      }
      const [heads, committed] = await Promise.all([
        this.ctx.index.readHeads(topic.id, topic.partitions),
        this.ctx.groups.fetch(subscription.group, topic.name, topic.id),
      ]);
      for (const head of heads) {
        const offset = committed.find((c) => c.partition === head.partition)?.offset ?? 0;
        const lag = Math.max(0, head.highWatermark - offset);
        reports.push({ group: subscription.group, topic: topic.name, partition: head.partition, lag });
        if (lag > 0) work.push({ subscription, partition: head.partition });
      }
    }
    await this.deliverAll(work, deadline);
    return reports;
  }

  /** Takes the partition's lease, unless another dispatcher or member holds it. */
  private async acquire(subscription: Subscription, topic: TopicRecord, partition: number) {
    const { group } = subscription;
    let lease = await this.ctx.leases.get(group, topic.name, partition);
    if (lease === undefined) {
      await this.ctx.leases.create(group, topic.name, [partition]);
      lease = await this.ctx.leases.get(group, topic.name, partition);
      if (lease === undefined) return undefined;
    }
    const now = this.ctx.now();
    if (lease.owner !== null && lease.owner !== this.ownerId && lease.expiresAt > now) return undefined;
    // The failure record (offset and attempts of a failing batch) stays with the lease across owners.
    return await this.ctx.leases.take(group, topic.name, lease, this.ownerId, now + this.leaseMs);
  }

  /**
   * Delivers one partition until it is caught up, the deadline passes, or the lease is lost.
   */
  async deliver(subscription: Subscription, partition: number, deadline: number): Promise<DeliveryOutcome> {
    if (!subscription.enabled) return 'disabled';
    const topic = await this.ctx.topic(subscription.topic);
    this.ctx.partitionRef(topic, partition);
    let lease = await this.acquire(subscription, topic, partition);
    if (lease === undefined) return 'busy';
    const { group } = subscription;
    let limit = subscription.batchSize;
    let failure = { offset: lease.failedOffset ?? -1, attempts: lease.attempts ?? 0 };
    // Read the committed offset once: while this dispatcher holds the lease only it commits here,
    // unless a plain commit resets the offset; then its own commit fails and it reads it again.
    const read = async () =>
      (await this.ctx.groups.fetch(group, topic.name, topic.id)).find((c) => c.partition === partition);
    const committed = await read();
    let offset = committed?.offset ?? (await this.startOffset(subscription, topic, partition));
    let plainCommits = committed?.plainCommits ?? 0;
    const commitAt = async (next: number) => {
      try {
        await this.commit(subscription, topic, lease as LeaseState, partition, next, plainCommits);
        offset = next;
      } catch (error) {
        if (!(error instanceof OffsetResetError)) throw error;
        const reset = await read();
        offset = reset?.offset ?? offset;
        plainCommits = reset?.plainCommits ?? plainCommits;
        this.onSkip({ group, topic: topic.name, partition, from: next, to: offset, reason: 'reset' });
      }
    };
    try {
      while (this.ctx.now() < deadline) {
        let records: readonly FetchedRecord[];
        let nextOffset: number;
        try {
          ({ records, nextOffset } = await this.batch(
            subscription,
            topic,
            partition,
            offset,
            Math.min(limit, subscription.batchSize),
            deadline,
          ));
        } catch (error) {
          if (!(error instanceof OffsetOutOfRangeError)) throw error;
          // The committed offset fell below the log start (retention): resume at the log start.
          this.onSkip({
            group: subscription.group,
            topic: topic.name,
            partition,
            from: offset,
            to: error.logStartOffset,
            reason: 'left-the-log',
          });
          await commitAt(error.logStartOffset);
          continue;
        }
        if (records.length === 0) {
          // Only holes (a compacted log) up to the high watermark: the group's position passes them.
          if (nextOffset > offset) await commitAt(nextOffset);
          return 'caught-up';
        }
        // Records older than the maximum age are not delivered (as Lambda discards them).
        const expired = this.expiredPrefix(subscription, records);
        if (expired > 0) {
          await this.giveUp(
            subscription,
            topic,
            partition,
            records.slice(0, expired),
            'RecordAgeExceeded',
            0,
            'expired',
          );
          await commitAt((records[expired - 1] as FetchedRecord).offset + 1);
          continue;
        }
        // An invocation starts only if this dispatcher can see it end, and with a lease that outlasts
        // it: no other dispatcher can take the partition and deliver the batch again meanwhile.
        const invocationMs = invocationBudgetMs(subscription.functionTimeoutSeconds ?? 3);
        if (deadline - this.ctx.now() < invocationMs) return 'deadline';
        if (lease.expiresAt - this.ctx.now() < invocationMs) {
          const renewed = await this.ctx.leases.renew(
            group,
            topic.name,
            lease,
            this.ownerId,
            this.ctx.now() + Math.max(this.leaseMs, invocationMs),
          );
          if (renewed === undefined) return 'lost';
          lease = renewed;
        }
        const outcome = await this.invoker.invoke(
          subscription.target,
          this.event(subscription, topic, partition, records),
        );
        const failedAt = this.failedOffset(subscription, records, outcome);
        const last = records.at(-1) as FetchedRecord;
        if (failedAt === undefined) {
          await commitAt(last.offset + 1);
          if (failure.attempts > 0) await this.clearFailure(subscription, topic, lease);
          failure = { offset: -1, attempts: 0 };
          limit = subscription.batchSize;
          continue;
        }
        const error = outcome.ok ? 'the function reported batch item failures' : outcome.error;
        if (failedAt > (records[0] as FetchedRecord).offset) {
          // Everything before the lowest reported failure succeeded: keep it, retry from there.
          await commitAt(failedAt);
        } else if (!outcome.ok && subscription.bisectBatchOnFunctionError && records.length > 1) {
          limit = Math.ceil(records.length / 2);
          continue;
        }
        const attempts = (failure.offset === failedAt ? failure.attempts : 0) + 1;
        failure = { offset: failedAt, attempts };
        await this.ctx.leases.recordFailure(group, topic.name, lease, this.ownerId, failedAt, attempts);
        const failing = records.filter((r) => r.offset >= failedAt);
        const exhausted = subscription.maxRetryAttempts >= 0 && attempts > subscription.maxRetryAttempts;
        const aged = this.expiredPrefix(subscription, failing) > 0;
        if (exhausted || aged) {
          await this.giveUp(
            subscription,
            topic,
            partition,
            failing,
            aged ? 'RecordAgeExceeded' : 'RetryAttemptsExhausted',
            attempts,
            error,
          );
          await commitAt(last.offset + 1);
          await this.clearFailure(subscription, topic, lease);
          failure = { offset: -1, attempts: 0 };
          limit = subscription.batchSize;
          continue;
        }
        const delay = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** (attempts - 1));
        if (this.ctx.now() + delay >= deadline) return 'deadline';
        await sleep(delay);
      }
      return 'deadline';
    } catch (error) {
      if (error instanceof LeaseLostError) return 'lost';
      throw error;
    } finally {
      await this.ctx.leases.release(group, topic.name, lease, this.ownerId).catch(() => false);
    }
  }

  private async batch(
    subscription: Subscription,
    topic: TopicRecord,
    partition: number,
    offset: number,
    limit: number,
    deadline: number,
  ): Promise<{ records: readonly FetchedRecord[]; nextOffset: number }> {
    const read = async () =>
      await fetchRecords(this.ctx, {
        topic: topic.name,
        partition,
        offset,
        maxRecords: limit,
        maxBytes: this.maxBatchBytes,
      });
    let result = await read();
    const records = result.records;
    const windowMs = subscription.maxBatchingWindowSeconds * 1000;
    const first = records[0];
    if (windowMs > 0 && first !== undefined && records.length < limit) {
      // Wait for the batch to fill, until the window (counted from the first record) closes.
      const closes = Math.min(first.appendTime + windowMs, deadline - 1000);
      const wait = closes - this.ctx.now();
      if (wait > 0) {
        await sleep(wait);
        result = await read();
      }
    }
    return result;
  }

  private expiredPrefix(subscription: Subscription, records: readonly FetchedRecord[]): number {
    if (subscription.maxRecordAgeSeconds < 0) return 0;
    const oldest = this.ctx.now() - subscription.maxRecordAgeSeconds * 1000;
    let count = 0;
    // By append time: a producer's timestamp may be far in the past (a backfill) or the future.
    while (count < records.length && (records[count] as FetchedRecord).appendTime < oldest) count++;
    return count;
  }

  /** The lowest offset that failed, or undefined when the whole batch succeeded. */
  private failedOffset(
    subscription: Subscription,
    records: readonly FetchedRecord[],
    outcome: Awaited<ReturnType<Invoker['invoke']>>,
  ): number | undefined {
    const first = (records[0] as FetchedRecord).offset;
    if (!outcome.ok) return first;
    if (!subscription.reportBatchItemFailures) return undefined;
    const failures = (outcome.response as { batchItemFailures?: unknown } | null | undefined)
      ?.batchItemFailures;
    if (failures === undefined || failures === null) return undefined;
    if (!Array.isArray(failures)) return first;
    if (failures.length === 0) return undefined;
    const offsets = new Set(records.map((r) => r.offset));
    let lowest = Number.POSITIVE_INFINITY;
    for (const failure of failures) {
      const id = Number((failure as { itemIdentifier?: unknown } | null)?.itemIdentifier);
      // An identifier that is not in the batch makes the whole batch a failure, as with Lambda.
      if (!offsets.has(id)) return first;
      lowest = Math.min(lowest, id);
    }
    return lowest;
  }

  private event(
    subscription: Subscription,
    topic: TopicRecord,
    partition: number,
    records: readonly FetchedRecord[],
  ): StreambedEvent {
    return {
      eventSource: 'streambed',
      group: subscription.group,
      topic: topic.name,
      partition,
      Records: records.map(
        (record): StreambedRecord => ({
          eventSource: 'streambed',
          messageId: String(record.offset),
          topic: topic.name,
          partition,
          ...toHttpRecord(record),
        }),
      ),
    };
  }

  private async commit(
    subscription: Subscription,
    topic: TopicRecord,
    lease: LeaseState,
    partition: number,
    offset: number,
    plainCommits: number,
  ): Promise<void> {
    await this.ctx.leases.commitLeased({
      group: subscription.group,
      topic: topic.name,
      topicId: topic.id,
      owner: this.ownerId,
      offsets: [{ partition, offset, leaseCounter: lease.counter, plainCommits }],
    });
  }

  private async clearFailure(
    subscription: Subscription,
    topic: TopicRecord,
    lease: LeaseState,
  ): Promise<void> {
    await this.ctx.leases.recordFailure(subscription.group, topic.name, lease, this.ownerId, -1, 0);
  }

  /** Sends the failing records' partition and offset range to the on-failure destination(s). */
  private async giveUp(
    subscription: Subscription,
    topic: TopicRecord,
    partition: number,
    records: readonly FetchedRecord[],
    condition: FailedBatchRecord['requestContext']['condition'],
    attempts: number,
    error: string,
  ): Promise<void> {
    const first = records[0] as FetchedRecord;
    const last = records.at(-1) as FetchedRecord;
    const message: FailedBatchRecord = {
      requestContext: { condition, approximateInvokeCount: attempts, target: subscription.target },
      responseContext: { functionError: error.slice(0, 4096) },
      streambedBatchInfo: {
        group: subscription.group,
        topic: topic.name,
        partition,
        startOffset: first.offset,
        endOffset: last.offset,
        batchSize: records.length,
        approximateArrivalOfFirstRecord: new Date(first.appendTime).toISOString(),
        approximateArrivalOfLastRecord: new Date(last.appendTime).toISOString(),
      },
      timestamp: new Date(this.ctx.now()).toISOString(),
    };
    const body = JSON.stringify(message);
    const destination = subscription.onFailure;
    if (destination?.topic !== undefined) {
      await produce(this.ctx, this.sticky, {
        topic: destination.topic,
        records: [
          {
            key: new TextEncoder().encode(`${topic.name}/${partition}`),
            value: new TextEncoder().encode(body),
            valueIsJson: true,
          },
        ],
      });
    }
    if (destination?.sqsQueueUrl !== undefined) {
      if (this.sqs === undefined) throw new Error('an SQS on-failure destination needs a QueueSender');
      await this.sqs.send(destination.sqsQueueUrl, body);
    }
  }
}
