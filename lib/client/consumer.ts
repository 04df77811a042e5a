import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, type StreambedError } from '../core/errors.ts';
import { moveTo, type Owned, PartitionReader, type SeekTarget } from './consumer-fetch.ts';
import { GroupMembership } from './consumer-membership.ts';
import type { ConsumerRecord } from './records.ts';
import { type RetryOptions, withRetry } from './retry.ts';
import type { Transport } from './transport.ts';

export type { SeekTarget } from './consumer-fetch.ts';

export interface ConsumerOptions {
  readonly group: string;
  readonly topic: string;
  /** A stable member id (1-128 of [a-zA-Z0-9._:-]). @default a random one */
  readonly memberId?: string;
  /** The member loses its partitions this long after its last heartbeat. @default 10_000 */
  readonly sessionTimeoutMs?: number;
  /** Commit consumed positions every `autoCommitIntervalMs`, before each heartbeat and on close. @default true */
  readonly autoCommit?: boolean;
  /** @default 5_000 */
  readonly autoCommitIntervalMs?: number;
  /** Where a partition without a committed offset, or whose offset left the log, starts. @default 'latest' */
  readonly autoOffsetReset?: 'earliest' | 'latest';
  /** Most records one {@link Consumer.poll} returns (Kafka's max.poll.records). @default 500 */
  readonly maxPollRecords?: number;
  /**
   * Soft cap on the stored bytes of one fetch of one partition (Kafka's max.partition.fetch.bytes):
   * whole batches while they fit; a first batch larger than it still comes whole when read from the
   * bucket (HttpTransport's `directReads`), or sliced by the server in a frame. @default 1_048_576
   */
  readonly maxFetchBytes?: number;
  /** How long to wait before reading a caught-up partition again. @default 500 */
  readonly pollIntervalMs?: number;
  /** Called with partitions the member got, before their records are returned. */
  readonly onAssigned?: (partitions: number[]) => void | Promise<void>;
  /** Called with partitions the member lost or gave up (on a rebalance, and all of them on close). */
  readonly onRevoked?: (partitions: number[]) => void | Promise<void>;
  /** Failures of background work (heartbeats, automatic commits); they are retried on the next round. */
  readonly onError?: (error: unknown) => void;
  /** Backoff for retryable failures of calls the consumer makes. */
  readonly retry?: RetryOptions;
}

/**
 * A member of a consumer group (one topic): it joins, heartbeats on the interval the server gives,
 * and follows rebalances (`onAssigned`/`onRevoked`), reading its partitions from the group's
 * committed offsets (or `autoOffsetReset`). Read with `for await (const record of consumer)` or a
 * {@link poll} loop; commits are automatic (positions of records a later poll or iteration moved
 * past: at least once) or manual with {@link commit}. {@link seek}, {@link pause} and
 * {@link resume} work per partition. A read below the log start (416) resets per
 * `autoOffsetReset`; a refused commit (409 OffsetReset or LeaseLost) re-reads the committed offsets.
 *
 * @example
 * const consumer = client.consumer({ group: 'billing', topic: 'orders', autoOffsetReset: 'earliest' });
 * for await (const record of consumer) {
 *   await bill(valueJson(record));
 *   if (done) break; // break (or close()) leaves the group
 * }
 */
export class Consumer implements AsyncIterable<ConsumerRecord> {
  readonly group: string;
  readonly topic: string;
  readonly memberId: string;
  private readonly transport: Transport;
  private readonly autoCommit: boolean;
  private readonly autoCommitIntervalMs: number;
  private readonly maxPollRecords: number;
  private readonly pollIntervalMs: number;
  private readonly options: ConsumerOptions;
  private readonly retry: RetryOptions;
  private readonly owned = new Map<number, Owned>();
  private readonly pausedPartitions = new Set<number>();
  private readonly membership: GroupMembership;
  private readonly reader: PartitionReader;
  private lastAutoCommit = Date.now();
  private closed = false;
  /** Read through the async iterator: it knows which records were consumed (see close()). */
  private iterating = false;
  /** The automatic commits, chained (commitQuietly), and the one waiting for its turn. */
  private autoCommits: Promise<void> = Promise.resolve();
  private queuedCommit: { which: 'consumed' | 'position'; done: Promise<void> } | undefined;

  /** Use `client.consumer(options)`; this constructor is for a transport of your own. */
  constructor(transport: Transport, options: ConsumerOptions) {
    if (typeof options?.group !== 'string' || typeof options.topic !== 'string') {
      throw new InvalidArgumentError('a consumer needs a group and a topic');
    }
    const positive = (value: number | undefined, name: string, fallback: number) => {
      const v = value ?? fallback;
      if (!Number.isSafeInteger(v) || v < 1)
        throw new InvalidArgumentError(`${name} must be a positive integer, got ${v}`);
      return v;
    };
    this.transport = transport;
    this.options = options;
    this.group = options.group;
    this.topic = options.topic;
    this.memberId = options.memberId ?? `m-${randomBytes(8).toString('hex')}`;
    const sessionTimeoutMs = positive(options.sessionTimeoutMs, 'sessionTimeoutMs', 10_000);
    this.autoCommit = options.autoCommit ?? true;
    this.autoCommitIntervalMs = positive(options.autoCommitIntervalMs, 'autoCommitIntervalMs', 5_000);
    const autoOffsetReset = options.autoOffsetReset ?? 'latest';
    if (autoOffsetReset !== 'earliest' && autoOffsetReset !== 'latest') {
      throw new InvalidArgumentError(
        `autoOffsetReset must be 'earliest' or 'latest', got '${String(autoOffsetReset)}'`,
      );
    }
    this.maxPollRecords = positive(options.maxPollRecords, 'maxPollRecords', 500);
    const maxFetchBytes = positive(options.maxFetchBytes, 'maxFetchBytes', 1024 * 1024);
    this.pollIntervalMs = positive(options.pollIntervalMs, 'pollIntervalMs', 500);
    this.retry = { retries: 5, ...options.retry };
    const isClosed = () => this.closed;
    this.membership = new GroupMembership({
      transport,
      group: this.group,
      topic: this.topic,
      memberId: this.memberId,
      sessionTimeoutMs,
      autoOffsetReset,
      retry: this.retry,
      hooks: options,
      owned: this.owned,
      pausedPartitions: this.pausedPartitions,
      isClosed,
      beforeHeartbeat: this.autoCommit ? () => this.commitQuietly('consumed') : undefined,
    });
    this.reader = new PartitionReader({
      transport,
      topic: this.topic,
      maxPollRecords: this.maxPollRecords,
      maxFetchBytes,
      owned: this.owned,
      isClosed,
      resetOffset: (partition) => this.membership.resetOffset(partition),
      onError: (error) => this.options.onError?.(error),
    });
  }

  /** The partitions the member holds now, in order. */
  assignment(): number[] {
    return [...this.owned.keys()].sort((a, b) => a - b);
  }

  /** The next offset {@link poll} returns for each partition held. */
  positions(): Map<number, number> {
    return new Map(this.assignment().map((p) => [p, (this.owned.get(p) as Owned).position]));
  }

  /**
   * Joins the group (the first {@link poll} or iteration does it too) and gets partitions.
   *
   * @example
   * await consumer.connect();
   * console.log(consumer.assignment()); // [0, 2]
   */
  connect(): Promise<void> {
    if (this.closed) return Promise.reject(new InvalidArgumentError('the consumer is closed'));
    return this.membership.connect();
  }

  /**
   * Returns the next records of the partitions held and not paused (at most `maxRecords`), waiting up
   * to `timeoutMs` for some; [] when none came. Calling it again marks the records it returned
   * before as consumed (what automatic commits commit).
   *
   * @example
   * while (running) {
   *   for (const record of await consumer.poll({ timeoutMs: 1_000 })) handle(record);
   * }
   */
  async poll(
    options: { readonly maxRecords?: number; readonly timeoutMs?: number } = {},
  ): Promise<ConsumerRecord[]> {
    await this.connect();
    for (const o of this.owned.values()) o.consumed = o.position;
    if (this.autoCommit && Date.now() - this.lastAutoCommit >= this.autoCommitIntervalMs) {
      this.lastAutoCommit = Date.now();
      await this.commitQuietly('consumed');
    }
    const max = options.maxRecords ?? this.maxPollRecords;
    const deadline = Date.now() + (options.timeoutMs ?? this.pollIntervalMs);
    for (;;) {
      if (this.closed) return [];
      const records = this.reader.take(max);
      if (records.length > 0) return records;
      const fetched = await this.reader.fill();
      if (this.closed) return [];
      if (fetched) continue;
      const left = deadline - Date.now();
      if (left <= 0) return [];
      await this.reader.idle(Math.min(left, this.pollIntervalMs));
    }
  }

  /**
   * Records one at a time until the consumer is closed; leaving the loop (break, return, throw)
   * closes the consumer. A record counts as consumed once the loop asks for the next one, and only
   * consumed records are committed: the record the loop is on when it stops, or when `close()` is
   * called, is delivered again (at least once).
   *
   * @example
   * for await (const record of consumer) console.log(record.partition, record.offset, valueText(record));
   */
  async *[Symbol.asyncIterator](): AsyncIterator<ConsumerRecord> {
    this.iterating = true;
    try {
      while (!this.closed) {
        const [record] = await this.poll({ maxRecords: 1, timeoutMs: this.pollIntervalMs });
        if (record !== undefined) yield record;
      }
    } finally {
      await this.close();
    }
  }

  /**
   * Commits, as this member (fenced by its leases), the positions of every record returned so far,
   * or the given offsets (the next offset to read, as Kafka). Throws LeaseLost or OffsetReset when the
   * member no longer holds a partition or the group's offsets were reset; it then takes the server's
   * view of its partitions (and the committed offsets) before throwing.
   *
   * @example
   * for (const record of await consumer.poll()) await handle(record);
   * await consumer.commit();
   */
  async commit(offsets?: readonly { readonly partition: number; readonly offset: number }[]): Promise<void> {
    await this.connect();
    const wanted =
      offsets === undefined
        ? [...this.owned.values()].map((o) => ({ partition: o.partition, offset: o.position }))
        : offsets;
    await this.commitOffsets(wanted);
  }

  /**
   * An automatic commit, one at a time: a heartbeat may go out while one still retries (see
   * GroupMembership.beat), and a later commit must not land before an earlier one (offsets would go
   * back); commits asked for while one waits are one. Failures go to `onError`.
   */
  private commitQuietly(which: 'consumed' | 'position'): Promise<void> {
    // At most one waits behind the one under way; it reads the positions when it runs, so a commit
    // asked for meanwhile joins it ('position' wins: it is at or past 'consumed').
    const queued = this.queuedCommit;
    if (queued !== undefined) {
      if (which === 'position') queued.which = 'position';
      return queued.done;
    }
    const next = { which, done: Promise.resolve() };
    next.done = this.autoCommits.then(() => {
      this.queuedCommit = undefined;
      return this.commitNowQuietly(next.which);
    });
    this.queuedCommit = next;
    this.autoCommits = next.done;
    return next.done;
  }

  private async commitNowQuietly(which: 'consumed' | 'position'): Promise<void> {
    const wanted = [...this.owned.values()]
      .map((o) => ({ partition: o.partition, offset: which === 'consumed' ? o.consumed : o.position }))
      .filter((c): c is { partition: number; offset: number } => c.offset !== undefined);
    try {
      // Only forward: a manual commit() may have gone past what was consumed (commit, then break),
      // and the server refuses a commit that moves back within a lease.
      const ahead = wanted.filter((c) => c.offset > (this.owned.get(c.partition)?.committed ?? -1));
      if (ahead.length > 0) await this.commitOffsets(ahead);
    } catch (error) {
      this.options.onError?.(error);
    }
  }

  private async commitOffsets(
    offsets: readonly { readonly partition: number; readonly offset: number }[],
  ): Promise<void> {
    const commits = offsets.map((c) => {
      const o = this.owned.get(c.partition);
      if (o === undefined) {
        throw new InvalidArgumentError(
          `partition ${c.partition} of '${this.topic}' is not assigned to this member`,
        );
      }
      return { partition: c.partition, offset: c.offset, leaseCounter: o.leaseCounter, owned: o };
    });
    const chunk = this.transport.limits.maxPartitionsPerCommit;
    for (let i = 0; i < commits.length; i += chunk) {
      const part = commits.slice(i, i + chunk);
      try {
        await withRetry(
          () =>
            this.transport.commitAsMember(
              this.group,
              this.topic,
              this.memberId,
              part.map(({ partition, offset, leaseCounter }) => ({ partition, offset, leaseCounter })),
            ),
          this.retry,
        );
      } catch (error) {
        const code = (error as StreambedError).code;
        // Fenced: learn which partitions we still hold; new lease counters re-read the committed offsets.
        if (code === 'LeaseLost' || code === 'OffsetReset') {
          await this.membership.heartbeatNow().catch(() => undefined);
        }
        throw error;
      }
      for (const c of part) c.owned.committed = c.offset;
    }
  }

  /**
   * Moves a held partition's position: to an offset, the log start (`'beginning'`), the high watermark
   * (`'end'`), or the first record at or after a timestamp (the end when there is none). Buffered
   * records of the partition are dropped.
   *
   * @example
   * await consumer.seek(0, 'beginning');
   * await consumer.seek(1, { timestamp: Date.parse('2024-06-01') });
   */
  async seek(partition: number, target: SeekTarget): Promise<void> {
    await this.connect();
    const o = this.owned.get(partition);
    if (o === undefined) {
      throw new InvalidArgumentError(
        `partition ${partition} of '${this.topic}' is not assigned to this member`,
      );
    }
    moveTo(o, await this.reader.seekOffset(partition, target));
  }

  /**
   * Stops returning records of these partitions (they stay assigned) until {@link resume}.
   *
   * @example
   * consumer.pause([0]); // e.g. while a downstream system is slow
   */
  pause(partitions: readonly number[]): void {
    for (const p of partitions) {
      this.pausedPartitions.add(p);
      const o = this.owned.get(p);
      if (o !== undefined) o.paused = true;
    }
  }

  /**
   * Returns records of paused partitions again.
   *
   * @example
   * consumer.resume([0]);
   */
  resume(partitions: readonly number[]): void {
    for (const p of partitions) {
      this.pausedPartitions.delete(p);
      const o = this.owned.get(p);
      if (o !== undefined) o.paused = false;
    }
    this.reader.wakeUp();
  }

  /** The partitions paused. */
  paused(): number[] {
    return [...this.pausedPartitions].sort((a, b) => a - b);
  }

  /**
   * Commits (with automatic commits) the positions of every record returned by `poll`, or of every
   * record an async iterator moved past; leaves the group (its partitions are free at once), and calls
   * `onRevoked` with them.
   *
   * @example
   * process.on('SIGTERM', () => consumer.close());
   */
  async close(): Promise<void> {
    if (this.closed) return;
    const joined = this.membership.joining;
    if (joined !== undefined) {
      await joined.catch(() => undefined);
      await this.membership.changes;
      // An iterating loop says what it consumed: the record it is on when it stops (a throw, a
      // break, or close() while it is handled) is delivered again. poll() callers commit every
      // record returned, as Kafka's close() does.
      if (this.autoCommit) await this.commitQuietly(this.iterating ? 'consumed' : 'position');
    }
    this.closed = true;
    await this.membership.stopHeartbeats();
    this.reader.wakeUp();
    if (this.membership.joining === undefined) return;
    await this.membership.leave();
  }
}
