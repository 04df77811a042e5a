import { setTimeout as sleep } from 'node:timers/promises';
import {
  commitPoint,
  expiredCount,
  failedOffset,
  laneOf,
  type PendingBatch,
  splitLanes,
} from '../core/delivery-plan.ts';
import { InvalidProduceReturnError, OffsetOutOfRangeError, OffsetResetError } from '../core/errors.ts';
import type { InvokeOutcome, LeaseState } from '../core/ports.ts';
import type { Subscription } from '../core/subscription.ts';
import type { FetchedRecord, FetchResult, TopicRecord } from '../core/types.ts';
import { type DeliverySettings, invocationBudgetMs, type Outputs, streambedEvent } from './delivery-io.ts';
import { fetchRecords, MAX_MAX_BYTES, MAX_MAX_RECORDS } from './fetch.ts';
import { giveUp } from './give-up.ts';
import { Lanes } from './lanes.ts';

export type DeliveryOutcome = 'caught-up' | 'deadline' | 'busy' | 'lost' | 'disabled';

/** What handling one invocation's outcome decided. */
interface Handled {
  /** How long the lane waits before it is retried; 0 to retry (or go on) at once. */
  readonly delay: number;
}

/**
 * One dispatcher's turn at one (group, partition), under its lease: fetches a window of records from
 * the committed offset, splits it into up to `parallelizationFactor` lanes by key, invokes the function
 * once per lane at the same time, and moves the group's offset to the lowest record not yet done
 * (never into a batch whose outputs are pending). A failing lane is retried with backoff — split in
 * two first with `bisectBatchOnFunctionError` or an on-failure destination, so only the failing record
 * ends up there — while the other lanes go on within the window.
 *
 * @example
 * const outcome = await new PartitionDelivery(settings, subscription, topic, 0, lease, committed).run(deadline);
 */
export class PartitionDelivery {
  private offset: number;
  private plainCommits: number;
  /** Offsets at or above `offset` that were delivered or given up. */
  private readonly done = new Set<number>();
  private pending: PendingBatch<unknown>[] = [];
  private readonly lanes: Lanes;
  /** Lanes; 1 after outputs of parallel batches did not fit one commit. */
  private factor: number;
  private readonly s: DeliverySettings;
  private readonly subscription: Subscription;
  private readonly topic: TopicRecord;
  private readonly partition: number;
  private lease: LeaseState;

  constructor(
    settings: DeliverySettings,
    subscription: Subscription,
    topic: TopicRecord,
    partition: number,
    lease: LeaseState,
    committed: { readonly offset: number; readonly plainCommits: number },
  ) {
    this.s = settings;
    this.subscription = subscription;
    this.topic = topic;
    this.partition = partition;
    this.lease = lease;
    this.offset = committed.offset;
    this.plainCommits = committed.plainCommits;
    this.factor = subscription.parallelizationFactor ?? 1;
    // A failure record of a deleted topic of the same name (leases are keyed by name) is not ours.
    const ours = (lease.failedTopicId ?? '') === '' || lease.failedTopicId === topic.id;
    const fo = ours ? (lease.failedOffset ?? -1) : -1;
    this.lanes = new Lanes(
      subscription.batchSize,
      fo < 0 ? undefined : { offset: fo, attempts: lease.attempts ?? 0, since: lease.failedSince ?? 0 },
      // The lowest failing offset is kept in the lease, so the next dispatcher goes on counting.
      async (offset, attempts, since) => {
        await settings.ctx.leases.recordFailure(
          subscription.group,
          topic.name,
          this.lease,
          settings.ownerId,
          offset,
          attempts,
          since,
          topic.id,
        );
      },
    );
  }

  /** The group's offset as this delivery last committed (or read) it. */
  get position(): number {
    return this.offset;
  }

  /** The lease as last taken or renewed (to release it). */
  get heldLease(): LeaseState {
    return this.lease;
  }

  async run(deadline: number): Promise<DeliveryOutcome> {
    const { ctx } = this.s;
    while (ctx.now() < deadline) {
      let window: FetchResult;
      try {
        window = await this.window(deadline);
      } catch (error) {
        if (!(error instanceof OffsetOutOfRangeError)) throw error;
        // The committed offset fell below the log start (retention): resume at the log start.
        this.skip(this.offset, error.logStartOffset, 'left-the-log');
        this.forget();
        await this.commit(error.logStartOffset, []);
        continue;
      }
      const records = window.records.filter((r) => !this.done.has(r.offset));
      const lowestUndone = () =>
        window.records.find((r) => !this.done.has(r.offset))?.offset ?? window.nextOffset;
      if (records.length === 0) {
        // Everything up to the high watermark is done, or only holes (a compacted log) are left.
        await this.advance(window.nextOffset);
        return 'caught-up';
      }
      // Records older than the maximum age are not delivered (as Lambda discards them).
      const expired = this.expired(records);
      if (expired > 0) {
        const gone = records.slice(0, expired);
        await giveUp(ctx, this.s.sticky, this.s.sqs, this.subscription, this.topic, this.partition, {
          records: gone,
          condition: 'RecordAgeExceeded',
          attempts: 0,
          error: 'expired',
        });
        for (const r of gone) this.done.add(r.offset);
        await this.advance(lowestUndone());
        continue;
      }
      // An invocation starts only if this dispatcher can see it end, and with a lease that outlasts
      // it: no other dispatcher can take the partition and deliver the batch again meanwhile.
      const invocationMs = invocationBudgetMs(this.subscription.functionTimeoutSeconds ?? 3);
      if (deadline - ctx.now() < invocationMs) return 'deadline';
      if (!(await this.outlast(invocationMs))) return 'lost';
      // Lanes backing off after a failure sit this round out.
      const now = ctx.now();
      const ready = records.filter((r) => this.lanes.get(laneOf(r, this.factor)).notBefore <= now);
      if (ready.length === 0) {
        const wake = this.lanes.wake(now);
        if (wake >= deadline) return 'deadline';
        await sleep(wake - now);
        continue;
      }
      const batches = [
        ...splitLanes(ready, this.factor, (lane) => this.lanes.get(lane).limit, this.s.maxBatchBytes),
      ];
      const outcomes = await Promise.all(
        batches.map(([, batch]) =>
          this.s.invoker.invoke(
            this.subscription.target,
            streambedEvent(this.subscription, this.topic, this.partition, batch, this.commitToken(batch)),
          ),
        ),
      );
      for (const [i, [lane, batch]] of batches.entries()) {
        const handled = await this.handle(lane, batch, outcomes[i] as InvokeOutcome);
        this.lanes.get(lane).notBefore = handled.delay > 0 ? ctx.now() + handled.delay : 0;
      }
      await this.advance(lowestUndone());
    }
    return 'deadline';
  }

  /** Records from the committed offset: enough for every lane's next batch (waiting out the batching window). */
  private async window(deadline: number): Promise<FetchResult> {
    const limit = Math.min(MAX_MAX_RECORDS, this.subscription.batchSize * this.factor);
    const read = async () =>
      await fetchRecords(this.s.ctx, {
        topic: this.topic.name,
        partition: this.partition,
        offset: this.offset,
        maxRecords: limit,
        maxBytes: Math.min(MAX_MAX_BYTES, this.s.maxBatchBytes * this.factor),
      });
    const result = await read();
    const windowMs = this.subscription.maxBatchingWindowSeconds * 1000;
    const first = result.records[0];
    if (windowMs > 0 && first !== undefined && result.records.length < limit) {
      // Wait for the batch to fill, until the window (counted from the first record's append) closes.
      const wait = Math.min(first.appendTime + windowMs, deadline - 1000) - this.s.ctx.now();
      if (wait > 0) {
        await sleep(wait);
        return await read();
      }
    }
    return result;
  }

  /**
   * With one lane, a batch starts at the committed offset: a handler may commit it in its own
   * DynamoDB transaction (lib/consumer), conditioned on `startOffset`, setting `endOffset`.
   */
  private commitToken(batch: readonly FetchedRecord[]) {
    if (this.factor !== 1) return undefined;
    const end = (batch.at(-1) as FetchedRecord).offset + 1;
    return { startOffset: this.offset, endOffset: end, topicId: this.topic.id };
  }

  private expired(records: readonly FetchedRecord[]): number {
    if (this.subscription.maxRecordAgeSeconds < 0) return 0;
    return expiredCount(records, this.s.ctx.now() - this.subscription.maxRecordAgeSeconds * 1000);
  }

  /** Renews the lease when it would not outlast an invocation; false when it was lost. */
  private async outlast(invocationMs: number): Promise<boolean> {
    const { ctx } = this.s;
    if (this.lease.expiresAt - ctx.now() >= invocationMs) return true;
    const renewed = await ctx.leases.renew(
      this.subscription.group,
      this.topic.name,
      this.lease,
      this.s.ownerId,
      ctx.now() + Math.max(this.s.leaseMs, invocationMs),
    );
    if (renewed === undefined) return false;
    this.lease = renewed;
    return true;
  }

  /** Applies one lane's invocation outcome: done records, pending outputs, bisection, retries, giving up. */
  private async handle(laneId: number, batch: FetchedRecord[], outcome: InvokeOutcome): Promise<Handled> {
    const lane = this.lanes.get(laneId);
    const first = batch[0] as FetchedRecord;
    let failedAt = failedOffset(batch, this.subscription.reportBatchItemFailures, outcome);
    let error = outcome.ok ? 'the function reported batch item failures' : outcome.error;
    let outputs: readonly unknown[] = [];
    // A function error or a malformed return fails the batch, not a record of it: bisect to find it.
    let wholeBatch = !outcome.ok;
    if (outcome.ok) {
      try {
        outputs = await this.s.outputs.parse(outcome.response);
        // Outputs belong to the whole batch: with some records failed, none of them count.
        if (outputs.length > 0 && failedAt !== undefined) failedAt = first.offset;
      } catch (bad) {
        // A malformed return is the function's failure; anything else (a throttled read) is ours.
        if (!(bad instanceof InvalidProduceReturnError)) throw bad;
        failedAt = first.offset;
        error = bad.message;
        wholeBatch = true;
      }
    } else if (this.factor === 1 && (await this.committedByHandler(batch))) {
      // The handler committed the batch in its own transaction, then failed or timed out.
      failedAt = undefined;
    }
    if (failedAt === undefined) {
      this.markDone(batch, outputs);
      lane.suspect = Math.max(0, lane.suspect - batch.length);
      lane.limit = lane.suspect > 0 ? lane.suspect : this.subscription.batchSize;
      await this.lanes.settle(lane, batch);
      return { delay: 0 };
    }
    const prefix = batch.filter((r) => r.offset < failedAt);
    const failing = batch.filter((r) => r.offset >= failedAt);
    this.markDone(prefix, []);
    const bisect =
      wholeBatch &&
      failing.length > 1 &&
      (this.subscription.bisectBatchOnFunctionError || this.subscription.onFailure !== undefined);
    if (bisect) {
      // A failure lies among these records: try the first half at once, then the rest.
      lane.suspect = failing.length;
      lane.limit = Math.ceil(failing.length / 2);
      return { delay: 0 };
    }
    const now = this.s.ctx.now();
    const failure = await this.lanes.fail(lane, failedAt, now);
    const retries = this.subscription.maxRetryAttempts;
    const exhausted = retries >= 0 && failure.attempts > retries;
    const aged = this.expired(failing) > 0;
    if (exhausted || aged) {
      // With a destination only the failing record goes there (bisection isolated it); without one
      // the failing part of the batch is dropped, as Lambda does.
      const given = this.subscription.onFailure !== undefined ? failing.slice(0, 1) : failing;
      await giveUp(this.s.ctx, this.s.sticky, this.s.sqs, this.subscription, this.topic, this.partition, {
        records: given,
        condition: aged ? 'RecordAgeExceeded' : 'RetryAttemptsExhausted',
        attempts: failure.attempts,
        error,
      });
      this.markDone(given, []);
      lane.suspect = Math.max(0, lane.suspect - prefix.length - given.length);
      lane.limit = lane.suspect > 0 ? lane.suspect : this.subscription.batchSize;
      await this.lanes.settle(lane, given);
      return { delay: 0 };
    }
    if (now - failure.since >= this.s.stuckAfterMs && this.lanes.reportStuck()) {
      this.s.onStuck({
        group: this.subscription.group,
        topic: this.topic.name,
        partition: this.partition,
        offset: failedAt,
        attempts: failure.attempts,
        since: failure.since,
        error,
      });
    }
    return { delay: Math.min(this.s.retryMaxMs, this.s.retryBaseMs * 2 ** (failure.attempts - 1)) };
  }

  private markDone(records: readonly FetchedRecord[], outputs: readonly unknown[]): void {
    for (const r of records) this.done.add(r.offset);
    const first = records[0];
    const last = records.at(-1);
    if (outputs.length > 0 && first !== undefined && last !== undefined) {
      this.pending.push({ minOffset: first.offset, maxOffset: last.offset, outputs });
    }
  }

  /** After a failed invocation: did the handler commit the batch itself (see lib/consumer)? */
  private async committedByHandler(batch: readonly FetchedRecord[]): Promise<boolean> {
    const end = (batch.at(-1) as FetchedRecord).offset + 1;
    const committed = await this.s.read(this.subscription.group, this.topic, this.partition);
    if (committed === undefined || (committed.plainCommits ?? 0) !== this.plainCommits) return false;
    return committed.offset >= end;
  }

  /**
   * Moves the group's offset as far as `lowestUndone` allows, with the outputs of the batches it
   * passes. False when a plain commit reset the offset meanwhile (delivery goes on from there).
   */
  private async advance(lowestUndone: number): Promise<boolean> {
    const { to, passed } = commitPoint(lowestUndone, this.pending);
    if (to <= this.offset && passed.length === 0) return true;
    if (passed.length > 1 && !(await this.s.outputs.fits(passed.flatMap((b) => b.outputs)))) {
      // Interleaved lanes' outputs must be committed together, and these are too many partitions for
      // one transaction: drop them (their batches are delivered again) and go on one batch at a time.
      this.forget();
      this.factor = 1;
      return false;
    }
    return await this.commit(
      to,
      passed.flatMap((b) => b.outputs),
    ).then((ok) => {
      if (ok) this.pending = this.pending.filter((b) => !passed.includes(b));
      return ok;
    });
  }

  private async commit(to: number, outputs: readonly unknown[]): Promise<boolean> {
    try {
      await this.s.outputs.commit({
        group: this.subscription.group,
        topic: this.topic,
        partition: this.partition,
        to,
        owner: this.s.ownerId,
        leaseCounter: this.lease.counter,
        plainCommits: this.plainCommits,
        outputs,
      } satisfies Parameters<Outputs['commit']>[0]);
    } catch (error) {
      if (!(error instanceof OffsetResetError)) throw error;
      const reset = await this.s.read(this.subscription.group, this.topic, this.partition);
      this.offset = reset?.offset ?? this.offset;
      this.plainCommits = reset?.plainCommits ?? this.plainCommits;
      this.forget();
      // `from` is where this dispatcher was about to put the group.
      this.skip(to, this.offset, 'reset');
      return false;
    }
    this.offset = to;
    for (const offset of this.done) if (offset < to) this.done.delete(offset);
    return true;
  }

  /** Drops what this delivery knew above the committed offset (a reset or a jump to the log start). */
  private forget(): void {
    this.done.clear();
    this.pending = [];
    this.lanes.reset();
  }

  private skip(from: number, to: number, reason: 'left-the-log' | 'reset'): void {
    const { group } = this.subscription;
    this.s.onSkip({ group, topic: this.topic.name, partition: this.partition, from, to, reason });
  }
}
