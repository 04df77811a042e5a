import { InvalidArgumentError, StreambedError } from '../core/errors.ts';
import { MAX_MAX_RECORDS } from '../engine/fetch.ts';
import type { ConsumerRecord } from './records.ts';
import type { Transport, TransportFetchResult } from './transport.ts';

/**
 * Records asked for per fetch: the server's most (HTTP LIMITS.maxRecords), so that only `maxFetchBytes`
 * bounds a fetch. `maxPollRecords` bounds what one poll returns from the buffer, as Kafka's
 * max.poll.records does; asking the server for only that many would fetch a stored batch again for
 * each slice of it.
 */
export const FETCH_MAX_RECORDS = MAX_MAX_RECORDS;

/** A fetch's outcome, settled (a read-ahead nobody takes must not reject unhandled). */
type Fetched =
  | { readonly ok: true; readonly result: TransportFetchResult }
  | { readonly ok: false; readonly error: unknown };

/** A fetch of a partition: the one being waited for, or one started before the buffer ran dry. */
interface ReadAhead {
  readonly version: number;
  readonly offset: number;
  fetched: Promise<Fetched>;
}

/** Fetches of one partition under way beyond the one being waited for. */
const AHEAD_DEPTH = 2;

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
  /** Fetches already under way from `fetchOffset` on, in offset order (see {@link PartitionReader}). */
  ahead?: ReadAhead[] | undefined;
  /** The fetch started last: only its answer may start the next one. */
  lastStarted?: ReadAhead | undefined;
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
 * Read-ahead, as Kafka's consumer pipelines its fetches: as soon as a fetch's next offset is known
 * and the partition holds more (the next offset is below the high watermark), the next fetch starts —
 * when its answer arrives, or earlier when the transport tells it (batch references: before the
 * batches are read from the bucket, so the next request overlaps those reads). A caught-up partition
 * is not read ahead (that request would come back empty, and every request is billed). A seek, a lost
 * partition or close drops what is ahead. At most {@link AHEAD_DEPTH} fetches per partition are ahead
 * of the one being taken, so a partition holds at most three fetches' records.
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
      // One splice, not a shift per record: shifting a 10,000-record buffer moved it 10,000 times.
      const taken = o.buffer.splice(0, max - out.length);
      for (const record of taken) out.push(record);
      const last = taken.at(-1);
      if (last !== undefined) o.position = last.offset + 1;
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

  /**
   * Starts a fetch of `o` from `offset`; it becomes the last started, and when its next offset is
   * known (early, if the transport says so) it starts the one after it, within {@link AHEAD_DEPTH}.
   */
  private startFetch(o: Owned, version: number, offset: number): ReadAhead {
    const { transport, topic, maxFetchBytes } = this.settings;
    const started: ReadAhead = { version, offset, fetched: Promise.resolve({ ok: false, error: undefined }) };
    o.lastStarted = started;
    started.fetched = transport
      .fetch({
        topic,
        partition: o.partition,
        offset,
        maxRecords: FETCH_MAX_RECORDS,
        maxBytes: maxFetchBytes,
        onNextOffset: ({ nextOffset, highWatermark }) => {
          if (nextOffset > offset && nextOffset < highWatermark) this.readAhead(o, started, nextOffset);
        },
      })
      .then(
        (result): Fetched => ({ ok: true, result }),
        (error: unknown): Fetched => ({ ok: false, error }),
      );
    return started;
  }

  /** Queues the fetch after `after` from `offset`, if `after` is still the last one and there is room. */
  private readAhead(o: Owned, after: ReadAhead, offset: number): void {
    const { owned, isClosed } = this.settings;
    if (owned.get(o.partition) !== o || o.version !== after.version || isClosed()) return;
    if (o.lastStarted !== after || (o.ahead?.length ?? 0) >= AHEAD_DEPTH) return;
    o.ahead = [...(o.ahead ?? []), this.startFetch(o, after.version, offset)];
  }

  private async fetchInto(o: Owned): Promise<boolean> {
    const { topic, owned, isClosed } = this.settings;
    const { version, fetchOffset } = o;
    const current = () => owned.get(o.partition) === o && o.version === version && !isClosed();
    const [ahead, ...rest] = o.ahead ?? [];
    let taken: ReadAhead;
    if (ahead !== undefined && ahead.version === version && ahead.offset === fetchOffset) {
      taken = ahead;
      o.ahead = rest;
    } else {
      o.ahead = undefined;
      taken = this.startFetch(o, version, fetchOffset);
    }
    const fetched = await taken.fetched;
    if (!current()) return false;
    if (!fetched.ok) {
      const error = fetched.error;
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
    const result = fetched.result;
    if (result.records.length === 0 && fetchOffset > result.highWatermark) {
      await this.resetAfterOutOfRange(o);
      return false;
    }
    const partition = o.partition;
    // Fields named, not spread: a spread copies each record by its keys, for every record fetched.
    o.buffer = result.records.map((r) => ({
      topic,
      partition,
      offset: r.offset,
      timestamp: r.timestamp,
      key: r.key,
      value: r.value,
      valueIsJson: r.valueIsJson,
      headers: r.headers,
    }));
    o.fetchOffset = result.nextOffset;
    if (o.buffer.length === 0) o.position = Math.max(o.position, result.nextOffset);
    // Read ahead now unless this fetch's answer already did (or a later one is under way).
    else if (result.nextOffset < result.highWatermark) this.readAhead(o, taken, result.nextOffset);
    return o.buffer.length > 0;
  }

  /** Moves to the reset offset (autoOffsetReset) — unless a seek moved the partition meanwhile. */
  private async resetAfterOutOfRange(o: Owned): Promise<void> {
    const version = o.version;
    const offset = await this.settings.resetOffset(o.partition);
    if (o.version === version && this.settings.owned.get(o.partition) === o) moveTo(o, offset);
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
  o.ahead = undefined;
  o.lastStarted = undefined;
  o.buffer = [];
  o.position = offset;
  o.fetchOffset = offset;
}
