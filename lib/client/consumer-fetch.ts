import { InvalidArgumentError, StreambedError } from '../core/errors.ts';
import type { ConsumerRecord } from './records.ts';
import type { Transport } from './transport.ts';

/** Where a consumer's `seek` moves a partition's position. */
export type SeekTarget = number | 'beginning' | 'end' | { readonly timestamp: number };

/** A partition the member holds: its lease, read position and fetched records. */
export interface Owned {
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

/** What a {@link PartitionReader} reads with. */
export interface ReaderSettings {
  readonly transport: Transport;
  readonly topic: string;
  readonly maxPollRecords: number;
  readonly maxFetchBytes: number;
  /** The partitions held, shared with the consumer's membership. */
  readonly owned: Map<number, Owned>;
  readonly isClosed: () => boolean;
  /** The offset a partition starts at per `autoOffsetReset`. */
  readonly resetOffset: (partition: number) => Promise<number>;
  /** Told of a retryable fetch failure (the partition is fetched again on the next round). */
  readonly onError: (error: unknown) => void;
}

/**
 * The fetch side of a consumer: a buffer per held partition, filled by fetches from its fetch offset,
 * and taken round robin; a read below the log start (or past the end) resets to `autoOffsetReset`.
 * Internal to {@link Consumer}.
 *
 * @example
 * const reader = new PartitionReader(settings);
 * if (await reader.fill()) for (const record of reader.take(500)) handle(record);
 */
export class PartitionReader {
  private readonly settings: ReaderSettings;
  private rotation = 0;
  private wake: (() => void) | undefined;

  constructor(settings: ReaderSettings) {
    this.settings = settings;
  }

  /** Takes buffered records, round robin over the partitions held and not paused. */
  take(max: number): ConsumerRecord[] {
    const owned = this.settings.owned;
    const out: ConsumerRecord[] = [];
    const partitions = [...owned.keys()].sort((a, b) => a - b).filter((p) => !(owned.get(p) as Owned).paused);
    if (partitions.length === 0) return out;
    this.rotation = (this.rotation + 1) % partitions.length;
    for (let i = 0; i < partitions.length && out.length < max; i++) {
      const o = owned.get(partitions[(this.rotation + i) % partitions.length] as number) as Owned;
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
  async fill(): Promise<boolean> {
    const targets = [...this.settings.owned.values()].filter((o) => !o.paused && o.buffer.length === 0);
    const results = await Promise.all(targets.map((o) => this.fetchInto(o)));
    return results.some(Boolean);
  }

  private async fetchInto(o: Owned): Promise<boolean> {
    const { transport, topic, owned, isClosed } = this.settings;
    const { version, fetchOffset } = o;
    const current = () => owned.get(o.partition) === o && o.version === version && !isClosed();
    try {
      const result = await transport.fetch({
        topic,
        partition: o.partition,
        offset: fetchOffset,
        maxRecords: this.settings.maxPollRecords,
        maxBytes: this.settings.maxFetchBytes,
      });
      if (!current()) return false;
      if (result.records.length === 0 && fetchOffset > result.highWatermark) {
        await this.resetAfterOutOfRange(o);
        return false;
      }
      o.buffer = result.records.map((r) => ({ topic, partition: o.partition, ...r }));
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
        this.settings.onError(error);
        return false;
      }
      throw error;
    }
  }

  private async resetAfterOutOfRange(o: Owned): Promise<void> {
    moveTo(o, await this.settings.resetOffset(o.partition));
  }

  /** Waits `ms`, or less if {@link wakeUp} is called. */
  idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  /** Ends the current {@link idle} wait, if any. */
  wakeUp(): void {
    this.wake?.();
  }

  /**
   * The offset a seek target stands for in a partition: the offset itself, the log start, the high
   * watermark, or the first record at or after a timestamp (the high watermark when there is none).
   */
  async seekOffset(partition: number, target: SeekTarget): Promise<number> {
    const { transport, topic } = this.settings;
    if (typeof target === 'number') {
      if (!Number.isSafeInteger(target) || target < 0) {
        throw new InvalidArgumentError(`the offset must be a non-negative integer, got ${target}`);
      }
      return target;
    }
    if (target === 'beginning' || target === 'end') {
      return (
        (await transport.listOffsets(topic, partition, target === 'beginning' ? 'earliest' : 'latest')) ?? 0
      );
    }
    return (
      (await transport.listOffsets(topic, partition, { timestamp: target.timestamp })) ??
      ((await transport.listOffsets(topic, partition, 'latest')) as number)
    );
  }
}

/** Moves a partition's position (and its next fetch) to `offset`, dropping what was buffered. */
export function moveTo(o: Owned, offset: number): void {
  o.version++;
  o.buffer = [];
  o.position = offset;
  o.fetchOffset = offset;
}
