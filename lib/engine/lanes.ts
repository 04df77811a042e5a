import type { FetchedRecord } from '../core/types.ts';

/** A failing record: its offset, attempts so far, and when it first failed. */
export interface Failure {
  readonly offset: number;
  readonly attempts: number;
  readonly since: number;
}

/** What one lane (a concurrent batch of records whose keys hash alike) is doing. */
export interface Lane {
  /** Records in its next batch. */
  limit: number;
  /** While bisecting: the undelivered records of the lane's last failing batch; a failure is among them. */
  suspect: number;
  failure: Failure | undefined;
  /** A failing lane waits (backoff) until then; the other lanes go on meanwhile. */
  notBefore: number;
}

/**
 * The lanes of one delivery and their failures. The lowest failing offset is also kept in the lease
 * (`store`), so a dispatcher that takes the partition over goes on counting its attempts; it is cleared
 * once no lane fails.
 *
 * @example
 * const lanes = new Lanes(100, undefined, (offset, attempts, since) => leases.recordFailure(...));
 * const failure = await lanes.fail(lanes.get(0), 42, Date.now());
 */
export class Lanes {
  private readonly lanes = new Map<number, Lane>();
  private readonly batchSize: number;
  /** The failure record the lease carried in, until that offset is settled. */
  private persisted: Failure | undefined;
  private leaseHasFailure: boolean;
  private stuckReported = false;
  private readonly store: (offset: number, attempts: number, since: number) => Promise<void>;

  constructor(
    batchSize: number,
    persisted: Failure | undefined,
    store: (offset: number, attempts: number, since: number) => Promise<void>,
  ) {
    this.batchSize = batchSize;
    this.persisted = persisted;
    this.leaseHasFailure = persisted !== undefined;
    this.store = store;
  }

  get(id: number): Lane {
    let lane = this.lanes.get(id);
    if (lane === undefined) {
      lane = { limit: this.batchSize, suspect: 0, failure: undefined, notBefore: 0 };
      this.lanes.set(id, lane);
    }
    return lane;
  }

  /** The earliest time a backing-off lane may go again, after `now`. */
  wake(now: number): number {
    return Math.min(...[...this.lanes.values()].map((l) => l.notBefore).filter((t) => t > now));
  }

  /** One more failed attempt at `offset` in `lane`: counted on from this lane's or the lease's record. */
  async fail(lane: Lane, offset: number, now: number): Promise<Failure> {
    const previous =
      lane.failure?.offset === offset
        ? lane.failure
        : this.persisted?.offset === offset
          ? this.persisted
          : undefined;
    const failure = { offset, attempts: (previous?.attempts ?? 0) + 1, since: previous?.since || now };
    lane.failure = failure;
    const lowest = Math.min(
      ...[...this.lanes.values()].flatMap((l) => (l.failure === undefined ? [] : [l.failure.offset])),
    );
    if (offset === lowest) {
      await this.store(offset, failure.attempts, failure.since);
      this.leaseHasFailure = true;
    }
    return failure;
  }

  /** Records of `lane` were delivered or given up: their failures end; the lease's when none is left. */
  async settle(lane: Lane, settled: readonly FetchedRecord[]): Promise<void> {
    const offsets = new Set(settled.map((r) => r.offset));
    if (lane.failure !== undefined && offsets.has(lane.failure.offset)) lane.failure = undefined;
    if (this.persisted !== undefined && offsets.has(this.persisted.offset)) this.persisted = undefined;
    const failing = [...this.lanes.values()].some((l) => l.failure !== undefined);
    if (failing || !this.leaseHasFailure) return;
    await this.store(-1, 0, 0);
    this.leaseHasFailure = false;
    this.stuckReported = false;
  }

  /** True the first time a stuck partition is reported in this delivery (until its failures end). */
  reportStuck(): boolean {
    if (this.stuckReported) return false;
    this.stuckReported = true;
    return true;
  }

  /** Forgets the lanes (a reset or a jump to the log start); the lease's failure record stays. */
  reset(): void {
    this.lanes.clear();
  }
}
