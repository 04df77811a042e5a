import { randomBytes } from 'node:crypto';
import { LeaseLostError, UnknownTopicError } from '../core/errors.ts';
import type { Invoker, QueueSender, SubscriptionStore } from '../core/ports.ts';
import { resolveSubscription, type Subscription, type SubscriptionInput } from '../core/subscription.ts';
import type { TopicRecord } from '../core/types.ts';
import { EngineContext, type EngineDeps, mapLimit } from './context.ts';
import { type DeliveryOutcome, PartitionDelivery } from './delivery.ts';
import {
  type DeliverySettings,
  type Outputs,
  producedOutputs,
  type Skip,
  type Stuck,
} from './delivery-io.ts';
import { changedPartitions, type StreamRecordLike } from './dispatch-triggers.ts';
import { listOffsets } from './fetch.ts';
import { partitionLag } from './lag.ts';
import { StickyPartitions } from './produce.ts';

export type { DeliveryOutcome } from './delivery.ts';
export { invocationBudgetMs } from './delivery-io.ts';
export { type ChangedPartition, changedPartitions, type StreamRecordLike } from './dispatch-triggers.ts';

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
  readonly onSkip?: (skip: Skip) => void;
  /**
   * Told once per delivery when one record has kept failing for `stuckAfterMs` (no on-failure
   * destination takes it): the partition waits for a fix. The AWS handler publishes `StuckPartition`.
   * @default console.error
   */
  readonly onStuck?: (stuck: Stuck) => void;
  /** @default 30_000 */
  readonly stuckAfterMs?: number;
  /** How outputs a function returns (`produce`) are committed. @default {@link producedOutputs} */
  readonly outputs?: Outputs;
}

/** One subscribed partition as the sweep saw it, before delivering. */
export interface LagReport {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  /** Records behind (high watermark − committed offset). */
  readonly lag: number;
  /** Age in seconds of the oldest undelivered record, by append time; 0 when caught up. */
  readonly lagSeconds: number;
  /** One record has kept failing for `stuckAfterMs` or longer. */
  readonly stuck: boolean;
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
  readonly ownerId: string;
  private readonly subscriptionCacheMs: number;
  private readonly stuckAfterMs: number;
  private readonly settings: DeliverySettings;
  private cached: { at: number; subscriptions: Subscription[] } | undefined;
  private readonly onError: NonNullable<DispatcherOptions['onError']>;

  constructor(options: DispatcherOptions) {
    this.ctx = new EngineContext(options.deps);
    this.subscriptions = options.subscriptions;
    this.ownerId = options.ownerId ?? `dispatcher:${randomBytes(6).toString('hex')}`;
    this.subscriptionCacheMs = options.subscriptionCacheMs ?? 10_000;
    this.stuckAfterMs = options.stuckAfterMs ?? 30_000;
    this.onError =
      options.onError ??
      ((error, where) =>
        console.error(`delivery to ${where.group} of ${where.topic}/${where.partition} failed`, error));
    const sticky = new StickyPartitions();
    this.settings = {
      ctx: this.ctx,
      sticky,
      sqs: options.sqs,
      invoker: options.invoker,
      ownerId: this.ownerId,
      leaseMs: options.leaseMs ?? 900_000,
      retryBaseMs: options.retryBaseMs ?? 100,
      retryMaxMs: options.retryMaxMs ?? 5_000,
      maxBatchBytes: options.maxBatchBytes ?? 3 * 1024 * 1024,
      stuckAfterMs: this.stuckAfterMs,
      outputs: options.outputs ?? producedOutputs(this.ctx, sticky),
      onSkip:
        options.onSkip ??
        ((s) =>
          console.warn(
            s.reason === 'reset'
              ? `group ${s.group} on ${s.topic}/${s.partition} was reset to ${s.to} (it was at ${s.from}): delivery goes on from there`
              : `group ${s.group} skipped offsets [${s.from}, ${s.to}) of ${s.topic}/${s.partition}: they left the log before delivery`,
          )),
      onStuck:
        options.onStuck ??
        ((s) =>
          console.error(
            `group ${s.group} is stuck on ${s.topic}/${s.partition} at offset ${s.offset}: ${s.attempts} attempts since ${new Date(s.since).toISOString()}: ${s.error}`,
          )),
      read: async (group, topic, partition) =>
        (await this.ctx.groups.fetch(group, topic.name, topic.id)).find((c) => c.partition === partition),
    };
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
   * The safety net: delivers to every partition that has lag, whatever triggers were missed. Each
   * subscribed partition's lag (and whether it is stuck) is given to `onReports` BEFORE delivering,
   * so metrics are not as late as a backlog's delivery; the same reports are returned.
   */
  async sweep(deadline: number, onReports?: (reports: LagReport[]) => void): Promise<LagReport[]> {
    const reports: LagReport[] = [];
    const work: { subscription: Subscription; partition: number }[] = [];
    const now = this.ctx.now();
    for (const subscription of await this.enabledSubscriptions()) {
      let topic: TopicRecord;
      try {
        topic = await this.ctx.topic(subscription.topic, true);
      } catch (error) {
        if (error instanceof UnknownTopicError) continue;
        throw error;
      }
      const [heads, committed, leases] = await Promise.all([
        this.ctx.index.readHeads(topic.id, topic.partitions),
        this.ctx.groups.fetch(subscription.group, topic.name, topic.id),
        this.ctx.leases.list(subscription.group, topic.name),
      ]);
      const lags = await mapLimit(heads, 8, async (head) => {
        const offset = committed.find((c) => c.partition === head.partition)?.offset ?? 0;
        return { head, offset, lag: await partitionLag(this.ctx, topic, head.partition, offset, now, head) };
      });
      for (const { head, offset, lag } of lags) {
        const lease = leases.find((l) => l.partition === head.partition);
        const ours = (lease?.failedTopicId ?? '') === '' || lease?.failedTopicId === topic.id;
        const stuck =
          lag.lagRecords > 0 &&
          ours &&
          (lease?.failedOffset ?? -1) >= offset &&
          now - (lease?.failedSince || now) >= this.stuckAfterMs;
        reports.push({
          group: subscription.group,
          topic: topic.name,
          partition: head.partition,
          lag: lag.lagRecords,
          lagSeconds: lag.lagSeconds,
          stuck,
        });
        if (lag.lagRecords > 0) work.push({ subscription, partition: head.partition });
      }
    }
    onReports?.(reports);
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
    return await this.ctx.leases.take(group, topic.name, lease, this.ownerId, now + this.settings.leaseMs);
  }

  /**
   * Delivers one partition until it is caught up, the deadline passes, or the lease is lost. After
   * catching up it releases the lease and looks at the high watermark once more: a trigger that came
   * while it held the lease found the partition busy and was dropped, so its records are delivered here.
   */
  async deliver(subscription: Subscription, partition: number, deadline: number): Promise<DeliveryOutcome> {
    if (!subscription.enabled) return 'disabled';
    const topic = await this.ctx.topic(subscription.topic);
    const ref = this.ctx.partitionRef(topic, partition);
    for (;;) {
      const { outcome, position } = await this.deliverOnce(subscription, topic, partition, deadline);
      if (outcome !== 'caught-up' || this.ctx.now() >= deadline) return outcome;
      const head = await this.ctx.index.readHead(ref);
      if ((head?.highWatermark ?? 0) <= position) return outcome;
    }
  }

  private async deliverOnce(
    subscription: Subscription,
    topic: TopicRecord,
    partition: number,
    deadline: number,
  ): Promise<{ outcome: DeliveryOutcome; position: number }> {
    const lease = await this.acquire(subscription, topic, partition);
    if (lease === undefined) return { outcome: 'busy', position: Number.POSITIVE_INFINITY };
    const { group } = subscription;
    let delivery: PartitionDelivery | undefined;
    try {
      // Read the committed offset once: while this dispatcher holds the lease only it commits here,
      // unless a plain commit resets the offset; then its own commit fails and it reads it again.
      const committed = await this.settings.read(group, topic, partition);
      delivery = new PartitionDelivery(this.settings, subscription, topic, partition, lease, {
        offset: committed?.offset ?? (await this.startOffset(subscription, topic, partition)),
        plainCommits: committed?.plainCommits ?? 0,
      });
      return { outcome: await delivery.run(deadline), position: delivery.position };
    } catch (error) {
      if (error instanceof LeaseLostError) return { outcome: 'lost', position: Number.POSITIVE_INFINITY };
      throw error;
    } finally {
      const held = delivery?.heldLease ?? lease;
      await this.ctx.leases.release(group, topic.name, held, this.ownerId).catch(() => false);
    }
  }
}
