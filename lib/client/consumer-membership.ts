import { setTimeout as sleep } from 'node:timers/promises';
import type { StreambedError } from '../core/errors.ts';
import type { Owned } from './consumer-fetch.ts';
import { type RetryOptions, withRetry } from './retry.ts';
import type { MemberAssignment, Membership, Transport } from './transport.ts';

/** The rebalance and background-failure callbacks of a consumer (its options). */
export interface MembershipHooks {
  readonly onAssigned?: (partitions: number[]) => void | Promise<void>;
  readonly onRevoked?: (partitions: number[]) => void | Promise<void>;
  readonly onError?: (error: unknown) => void;
}

/** What a {@link GroupMembership} joins with. */
export interface MembershipSettings {
  readonly transport: Transport;
  readonly group: string;
  readonly topic: string;
  readonly memberId: string;
  readonly sessionTimeoutMs: number;
  readonly autoOffsetReset: 'earliest' | 'latest';
  readonly retry: RetryOptions;
  readonly hooks: MembershipHooks;
  /** The partitions held, shared with the consumer's reader: membership adds and removes them. */
  readonly owned: Map<number, Owned>;
  /** Partitions paused by the caller: one assigned while paused starts paused. */
  readonly pausedPartitions: ReadonlySet<number>;
  readonly isClosed: () => boolean;
  /** Runs before each heartbeat (automatic commits), when given; must not throw. */
  readonly beforeHeartbeat: (() => Promise<void>) | undefined;
}

/**
 * A consumer's membership of its group: the join, a heartbeat on the interval the server gives (a
 * session that ended joins again under the same id), and the partitions the server says the member
 * holds, applied one change at a time: revoked ones go (`onRevoked`), new ones start at the group's
 * committed offset or per `autoOffsetReset` (`onAssigned`). Internal to {@link Consumer}.
 *
 * @example
 * const membership = new GroupMembership(settings);
 * await membership.connect(); // joined, heartbeating, partitions applied
 * await membership.leave();
 */
export class GroupMembership {
  private readonly settings: MembershipSettings;
  private joined: Promise<void> | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  /** The heartbeat under way, if any (close waits for it before leaving). */
  private beating: Promise<void> | undefined;
  private heartbeatIntervalMs = 3_000;
  private serial: Promise<unknown> = Promise.resolve();

  constructor(settings: MembershipSettings) {
    this.settings = settings;
  }

  /** The join, once one was started (and has not failed). */
  get joining(): Promise<void> | undefined {
    return this.joined;
  }

  /** Settles once the membership changes under way are applied (never rejects). */
  get changes(): Promise<unknown> {
    return this.serial;
  }

  /** Joins the group, once: a failed join is tried again by the next call. */
  connect(): Promise<void> {
    this.joined ??= this.join().catch((error: unknown) => {
      this.joined = undefined;
      throw error;
    });
    return this.joined;
  }

  private async join(): Promise<void> {
    const { transport, group, topic, memberId, sessionTimeoutMs } = this.settings;
    const membership = await withRetry(
      () => transport.joinGroup(group, topic, { memberId, sessionTimeoutMs }),
      this.settings.retry,
    );
    await this.apply(membership);
    this.scheduleHeartbeat();
  }

  private scheduleHeartbeat(): void {
    if (this.settings.isClosed()) return;
    this.heartbeatTimer = setTimeout(() => {
      this.beating = this.beat().finally(() => {
        this.beating = undefined;
        this.scheduleHeartbeat();
      });
    }, this.heartbeatIntervalMs);
  }

  /** Stops the heartbeats (the consumer is closing); resolves once a heartbeat under way is done. */
  async stopHeartbeats(): Promise<void> {
    clearTimeout(this.heartbeatTimer);
    await this.beating;
  }

  /**
   * One heartbeat: the automatic commit of consumed positions first — but never for more than half an
   * interval: a commit retrying against a busy server goes on while the heartbeat goes out, or the
   * session would lapse behind it — then the server's view of our partitions.
   */
  private async beat(): Promise<void> {
    if (this.settings.isClosed()) return;
    try {
      const commit = this.settings.beforeHeartbeat?.();
      if (commit !== undefined) {
        await Promise.race([commit, sleep(this.heartbeatIntervalMs / 2, undefined, { ref: false })]);
      }
      await this.heartbeatNow();
    } catch (error) {
      this.settings.hooks.onError?.(error);
    }
  }

  /** A heartbeat now, and its view of our partitions applied (joining again if the session ended). */
  async heartbeatNow(): Promise<void> {
    const { transport, group, topic, memberId, sessionTimeoutMs } = this.settings;
    let membership: Membership;
    try {
      membership = await transport.heartbeat(group, topic, memberId, sessionTimeoutMs);
    } catch (error) {
      if ((error as StreambedError).code !== 'UnknownMember') throw error;
      // The session ended (a long pause): everything is lost; join again under the same id — unless
      // the consumer closed meanwhile (it left: joining again would hold partitions nobody reads).
      await this.apply({ ...this.emptyMembership(), assignments: [] });
      if (this.settings.isClosed()) return;
      membership = await transport.joinGroup(group, topic, { memberId, sessionTimeoutMs });
    }
    if (!this.settings.isClosed()) await this.apply(membership);
  }

  private emptyMembership(): Membership {
    return {
      memberId: this.settings.memberId,
      sessionTimeoutMs: this.settings.sessionTimeoutMs,
      heartbeatIntervalMs: this.heartbeatIntervalMs,
      assignments: [],
    };
  }

  /** Applies the partitions the server says we hold: revoked ones go, new ones start at the committed offset. */
  private apply(membership: Membership): Promise<void> {
    const { owned, hooks } = this.settings;
    const run = this.serial.then(async () => {
      this.heartbeatIntervalMs = Math.max(100, membership.heartbeatIntervalMs);
      const now = new Map<number, MemberAssignment>(membership.assignments.map((a) => [a.partition, a]));
      const revoked = [...owned.values()]
        .filter((o) => now.get(o.partition)?.leaseCounter !== o.leaseCounter)
        .map((o) => o.partition)
        .sort((a, b) => a - b);
      for (const p of revoked) owned.delete(p);
      if (revoked.length > 0) await hooks.onRevoked?.(revoked);
      const added = [...now.values()].filter((a) => !owned.has(a.partition));
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
            paused: this.settings.pausedPartitions.has(a.partition),
            version: 0,
          };
        }),
      );
      if (this.settings.isClosed()) return;
      for (const o of fresh) owned.set(o.partition, o);
      await hooks.onAssigned?.(fresh.map((o) => o.partition).sort((a, b) => a - b));
    });
    this.serial = run.catch(() => undefined);
    return run;
  }

  private async committedOffsets(): Promise<Map<number, number>> {
    const { transport, group, topic } = this.settings;
    try {
      const offsets = await withRetry(() => transport.groupOffsets(group, topic), this.settings.retry);
      return new Map(offsets.map((o) => [o.partition, o.offset]));
    } catch (error) {
      if ((error as StreambedError).code === 'UnknownGroup') return new Map();
      throw error;
    }
  }

  /** Where a partition without a committed offset (or whose offset left the log) starts. */
  async resetOffset(partition: number): Promise<number> {
    const { transport, topic } = this.settings;
    const spec = this.settings.autoOffsetReset === 'earliest' ? 'earliest' : 'latest';
    return (await withRetry(() => transport.listOffsets(topic, partition, spec), this.settings.retry)) ?? 0;
  }

  /** Leaves the group (its partitions are free at once), then calls `onRevoked` with what it held. */
  async leave(): Promise<void> {
    const { transport, group, topic, memberId, owned } = this.settings;
    const held = [...owned.keys()].sort((a, b) => a - b);
    owned.clear();
    try {
      await withRetry(() => transport.leaveGroup(group, topic, memberId), this.settings.retry);
    } finally {
      if (held.length > 0) await this.settings.hooks.onRevoked?.(held);
    }
  }
}
