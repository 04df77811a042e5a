import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, StreambedError } from '../core/errors.ts';
import type { ConsumerRecord } from './records.ts';
import { type RetryOptions, withRetry } from './retry.ts';
import type { MemberAssignment, Membership, Transport } from './transport.ts';

/** Where {@link Consumer.seek} moves a partition's position. */
export type SeekTarget = number | 'beginning' | 'end' | { readonly timestamp: number };

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
  /** Soft cap on the bytes of one fetch of one partition. @default 1_048_576 */
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

interface Owned {
  readonly partition: number;
  readonly leaseCounter: number;
  /** The next offset to return to the caller. */
  position: number;
  /** The next offset to fetch (ahead of position by what is buffered). */
  fetchOffset: number;
  /** Consumed: returned by a poll before the latest one; what automatic commits commit. */
  consumed: number | undefined;
  /** The last offset this member committed for the partition. */
  committed: number | undefined;
  buffer: ConsumerRecord[];
  paused: boolean;
  /** Changes on every seek, so a fetch that started before one is dropped. */
  version: number;
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
  private readonly sessionTimeoutMs: number;
  private readonly autoCommit: boolean;
  private readonly autoCommitIntervalMs: number;
  private readonly autoOffsetReset: 'earliest' | 'latest';
  private readonly maxPollRecords: number;
  private readonly maxFetchBytes: number;
  private readonly pollIntervalMs: number;
  private readonly options: ConsumerOptions;
  private readonly retry: RetryOptions;
  private readonly owned = new Map<number, Owned>();
  private readonly pausedPartitions = new Set<number>();
  private joined: Promise<void> | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeatIntervalMs = 3_000;
  private lastAutoCommit = Date.now();
  private serial: Promise<unknown> = Promise.resolve();
  private wake: (() => void) | undefined;
  private rotation = 0;
  private closed = false;

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
    this.sessionTimeoutMs = positive(options.sessionTimeoutMs, 'sessionTimeoutMs', 10_000);
    this.autoCommit = options.autoCommit ?? true;
    this.autoCommitIntervalMs = positive(options.autoCommitIntervalMs, 'autoCommitIntervalMs', 5_000);
    const reset = options.autoOffsetReset ?? 'latest';
    if (reset !== 'earliest' && reset !== 'latest') {
      throw new InvalidArgumentError(
        `autoOffsetReset must be 'earliest' or 'latest', got '${String(reset)}'`,
      );
    }
    this.autoOffsetReset = reset;
    this.maxPollRecords = positive(options.maxPollRecords, 'maxPollRecords', 500);
    this.maxFetchBytes = positive(options.maxFetchBytes, 'maxFetchBytes', 1024 * 1024);
    this.pollIntervalMs = positive(options.pollIntervalMs, 'pollIntervalMs', 500);
    this.retry = { retries: 5, ...options.retry };
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
    this.joined ??= this.join().catch((error: unknown) => {
      this.joined = undefined;
      throw error;
    });
    return this.joined;
  }

  private async join(): Promise<void> {
    const membership = await withRetry(
      () =>
        this.transport.joinGroup(this.group, this.topic, {
          memberId: this.memberId,
          sessionTimeoutMs: this.sessionTimeoutMs,
        }),
      this.retry,
    );
    await this.apply(membership);
    this.scheduleHeartbeat();
  }

  private scheduleHeartbeat(): void {
    if (this.closed) return;
    this.heartbeatTimer = setTimeout(() => {
      void this.beat().finally(() => this.scheduleHeartbeat());
    }, this.heartbeatIntervalMs);
  }

  /** One heartbeat: automatic commit of consumed positions, then the server's view of our partitions. */
  private async beat(): Promise<void> {
    if (this.closed) return;
    try {
      if (this.autoCommit) await this.commitQuietly('consumed');
      await this.heartbeatNow();
    } catch (error) {
      this.options.onError?.(error);
    }
  }

  private async heartbeatNow(): Promise<void> {
    let membership: Membership;
    try {
      membership = await this.transport.heartbeat(
        this.group,
        this.topic,
        this.memberId,
        this.sessionTimeoutMs,
      );
    } catch (error) {
      if ((error as StreambedError).code !== 'UnknownMember') throw error;
      // The session ended (a long pause): everything is lost; join again under the same id.
      await this.apply({ ...this.emptyMembership(), assignments: [] });
      membership = await this.transport.joinGroup(this.group, this.topic, {
        memberId: this.memberId,
        sessionTimeoutMs: this.sessionTimeoutMs,
      });
    }
    if (!this.closed) await this.apply(membership);
  }

  private emptyMembership(): Membership {
    return {
      memberId: this.memberId,
      sessionTimeoutMs: this.sessionTimeoutMs,
      heartbeatIntervalMs: this.heartbeatIntervalMs,
      assignments: [],
    };
  }

  /** Applies the partitions the server says we hold: revoked ones go, new ones start at the committed offset. */
  private apply(membership: Membership): Promise<void> {
    const run = this.serial.then(async () => {
      this.heartbeatIntervalMs = Math.max(100, membership.heartbeatIntervalMs);
      const now = new Map<number, MemberAssignment>(membership.assignments.map((a) => [a.partition, a]));
      const revoked = [...this.owned.values()]
        .filter((o) => now.get(o.partition)?.leaseCounter !== o.leaseCounter)
        .map((o) => o.partition)
        .sort((a, b) => a - b);
      for (const p of revoked) this.owned.delete(p);
      if (revoked.length > 0) await this.options.onRevoked?.(revoked);
      const added = [...now.values()].filter((a) => !this.owned.has(a.partition));
      if (added.length === 0) return;
      const committed = await this.committedOffsets();
      const fresh: Owned[] = await Promise.all(
        added.map(async (a) => {
          const offset = committed.get(a.partition) ?? (await this.resetOffset(a.partition));
          return {
            partition: a.partition,
            leaseCounter: a.leaseCounter,
            position: offset,
            fetchOffset: offset,
            consumed: undefined,
            committed: committed.get(a.partition),
            buffer: [],
            paused: this.pausedPartitions.has(a.partition),
            version: 0,
          };
        }),
      );
      if (this.closed) return;
      for (const o of fresh) this.owned.set(o.partition, o);
      await this.options.onAssigned?.(fresh.map((o) => o.partition).sort((a, b) => a - b));
    });
    this.serial = run.catch(() => undefined);
    return run;
  }

  private async committedOffsets(): Promise<Map<number, number>> {
    try {
      const offsets = await withRetry(() => this.transport.groupOffsets(this.group, this.topic), this.retry);
      return new Map(offsets.map((o) => [o.partition, o.offset]));
    } catch (error) {
      if ((error as StreambedError).code === 'UnknownGroup') return new Map();
      throw error;
    }
  }

  private async resetOffset(partition: number): Promise<number> {
    const spec = this.autoOffsetReset === 'earliest' ? 'earliest' : 'latest';
    return (await withRetry(() => this.transport.listOffsets(this.topic, partition, spec), this.retry)) ?? 0;
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
      const records = this.take(max);
      if (records.length > 0) return records;
      const fetched = await this.fill();
      if (this.closed) return [];
      if (fetched) continue;
      const left = deadline - Date.now();
      if (left <= 0) return [];
      await this.idle(Math.min(left, this.pollIntervalMs));
    }
  }

  /** Takes buffered records, round robin over the partitions held and not paused. */
  private take(max: number): ConsumerRecord[] {
    const out: ConsumerRecord[] = [];
    const partitions = this.assignment().filter((p) => !(this.owned.get(p) as Owned).paused);
    if (partitions.length === 0) return out;
    this.rotation = (this.rotation + 1) % partitions.length;
    for (let i = 0; i < partitions.length && out.length < max; i++) {
      const o = this.owned.get(partitions[(this.rotation + i) % partitions.length] as number) as Owned;
      while (o.buffer.length > 0 && out.length < max) {
        const record = o.buffer.shift() as ConsumerRecord;
        out.push(record);
        o.position = record.offset + 1;
      }
      if (o.buffer.length === 0) o.position = Math.max(o.position, o.fetchOffset);
    }
    return out;
  }

  /** Fetches every held, unpaused partition with an empty buffer; true when records came. */
  private async fill(): Promise<boolean> {
    const targets = [...this.owned.values()].filter((o) => !o.paused && o.buffer.length === 0);
    const results = await Promise.all(targets.map((o) => this.fetchInto(o)));
    return results.some(Boolean);
  }

  private async fetchInto(o: Owned): Promise<boolean> {
    const { version, fetchOffset } = o;
    const current = () => this.owned.get(o.partition) === o && o.version === version && !this.closed;
    try {
      const result = await this.transport.fetch({
        topic: this.topic,
        partition: o.partition,
        offset: fetchOffset,
        maxRecords: this.maxPollRecords,
        maxBytes: this.maxFetchBytes,
      });
      if (!current()) return false;
      if (result.records.length === 0 && fetchOffset > result.highWatermark) {
        await this.resetAfterOutOfRange(o);
        return false;
      }
      o.buffer = result.records.map((r) => ({ topic: this.topic, partition: o.partition, ...r }));
      o.fetchOffset = result.nextOffset;
      if (o.buffer.length === 0) o.position = Math.max(o.position, result.nextOffset);
      return o.buffer.length > 0;
    } catch (error) {
      if (!current()) return false;
      const code = (error as StreambedError).code;
      if (code === 'OffsetOutOfRange') {
        await this.resetAfterOutOfRange(o);
        return false;
      }
      if (error instanceof StreambedError && error.retryable) {
        this.options.onError?.(error);
        return false;
      }
      throw error;
    }
  }

  private async resetAfterOutOfRange(o: Owned): Promise<void> {
    const offset = await this.resetOffset(o.partition);
    o.version++;
    o.buffer = [];
    o.position = offset;
    o.fetchOffset = offset;
  }

  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  /**
   * Records one at a time until the consumer is closed; leaving the loop (break, return, throw)
   * closes the consumer. A record counts as consumed once the loop asks for the next one.
   *
   * @example
   * for await (const record of consumer) console.log(record.partition, record.offset, valueText(record));
   */
  async *[Symbol.asyncIterator](): AsyncIterator<ConsumerRecord> {
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

  private async commitQuietly(which: 'consumed' | 'position'): Promise<void> {
    const wanted = [...this.owned.values()]
      .map((o) => ({ partition: o.partition, offset: which === 'consumed' ? o.consumed : o.position }))
      .filter((c): c is { partition: number; offset: number } => c.offset !== undefined);
    try {
      await this.commitOffsets(wanted.filter((c) => this.owned.get(c.partition)?.committed !== c.offset));
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
        if (code === 'LeaseLost' || code === 'OffsetReset') await this.heartbeatNow().catch(() => undefined);
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
    let offset: number;
    if (typeof target === 'number') {
      if (!Number.isSafeInteger(target) || target < 0) {
        throw new InvalidArgumentError(`the offset must be a non-negative integer, got ${target}`);
      }
      offset = target;
    } else if (target === 'beginning' || target === 'end') {
      offset =
        (await this.transport.listOffsets(
          this.topic,
          partition,
          target === 'beginning' ? 'earliest' : 'latest',
        )) ?? 0;
    } else {
      offset =
        (await this.transport.listOffsets(this.topic, partition, { timestamp: target.timestamp })) ??
        ((await this.transport.listOffsets(this.topic, partition, 'latest')) as number);
    }
    o.version++;
    o.buffer = [];
    o.position = offset;
    o.fetchOffset = offset;
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
    this.wake?.();
  }

  /** The partitions paused. */
  paused(): number[] {
    return [...this.pausedPartitions].sort((a, b) => a - b);
  }

  /**
   * Commits the positions of every record returned (with automatic commits), leaves the group (its
   * partitions are free at once), and calls `onRevoked` with them.
   *
   * @example
   * process.on('SIGTERM', () => consumer.close());
   */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.joined !== undefined) {
      await this.joined.catch(() => undefined);
      await this.serial;
      if (this.autoCommit) await this.commitQuietly('position');
    }
    this.closed = true;
    clearTimeout(this.heartbeatTimer);
    this.wake?.();
    if (this.joined === undefined) return;
    const held = this.assignment();
    this.owned.clear();
    try {
      await withRetry(() => this.transport.leaveGroup(this.group, this.topic, this.memberId), this.retry);
    } finally {
      if (held.length > 0) await this.options.onRevoked?.(held);
    }
  }
}
