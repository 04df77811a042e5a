import type { ProduceRecord, TopicDescription } from '../core/types.ts';
import type { RecordMetadata } from './records.ts';

/** Bytes counted for each record on top of its key, value and headers. */
export const RECORD_OVERHEAD = 64;

/** A record in the producer's buffer, with the settling half of the promise `send` handed out. */
export interface Item {
  readonly topic: string;
  readonly record: ProduceRecord & { readonly partition: number };
  readonly size: number;
  readonly resolve: (metadata: RecordMetadata) => void;
  readonly reject: (error: unknown) => void;
  /** Resolves (never rejects) once the record is settled: undefined when delivered, else the error. */
  readonly settled: Promise<unknown>;
}

/** A producer id and epoch the server issued. */
export interface Identity {
  readonly producerId: string;
  readonly epoch: number;
}

/** One request: records of one topic cut from its lane together, sent (and retried) as a whole. */
export interface Batch {
  readonly id: number;
  readonly lane: Lane;
  readonly items: readonly Item[];
  readonly bytes: number;
  readonly createdAt: number;
  /** The first sequence of the batch per partition, under `identity` (idempotent only). */
  sequences: Record<number, number>;
  identity: Identity | undefined;
  /**
   * An attempt failed in a way that may have appended it, or some of its partitions (see
   * {@link mayHaveAppended}): it may be sent again under its own sequences only, never renumbered.
   */
  mayHaveLanded: boolean;
  /** The last attempt's failure, if it failed. */
  lastFailure?: unknown;
  done: boolean;
  succeeded: boolean;
  readonly finished: Promise<void>;
  finish: () => void;
}

/** A topic's records waiting to be cut into requests, and its requests not yet settled. */
export interface Lane {
  readonly topic: string;
  readonly partitions: number;
  readonly maxRecordBytes: number;
  pending: Item[];
  pendingBytes: number;
  lingerTimer: NodeJS.Timeout | undefined;
  lingered: boolean;
  /** Batches cut and not yet settled, oldest first (settled ones leave from the front). */
  readonly unacked: Batch[];
  nextBatchId: number;
  readonly nextSequence: Map<number, number>;
  sticky: number;
}

/** A new, empty lane for a topic, its sticky partition (for keyless records) picked at random. */
export function newLane(description: TopicDescription): Lane {
  return {
    topic: description.name,
    partitions: description.partitions,
    maxRecordBytes: description.config.maxRecordBytes,
    pending: [],
    pendingBytes: 0,
    lingerTimer: undefined,
    lingered: false,
    unacked: [],
    nextBatchId: 0,
    nextSequence: new Map(),
    sticky: Math.floor(Math.random() * description.partitions),
  };
}

/** A buffer item for a record, and the `delivered` promise it settles. */
export function newItem(
  topic: string,
  record: ProduceRecord & { readonly partition: number },
  size: number,
): { item: Item; delivered: Promise<RecordMetadata> } {
  let resolve!: (metadata: RecordMetadata) => void;
  let reject!: (error: unknown) => void;
  const delivered = new Promise<RecordMetadata>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const settled = delivered.then(
    () => undefined,
    (error: unknown) => error,
  );
  return { item: { topic, record, size, resolve, reject, settled }, delivered };
}

/**
 * Adds an item to its lane. A lane that reaches `maxRecords` or `maxBytes` is ready at once; otherwise
 * its first record starts the linger timer, which marks it ready and calls `lingered` (Kafka's
 * linger.ms).
 */
export function enqueue(
  lane: Lane,
  item: Item,
  limits: { readonly maxRecords: number; readonly maxBytes: number; readonly lingerMs: number },
  lingered: () => void,
): void {
  lane.pending.push(item);
  lane.pendingBytes += item.size;
  if (lane.pending.length >= limits.maxRecords || lane.pendingBytes >= limits.maxBytes) lane.lingered = true;
  else if (lane.lingerTimer === undefined && !lane.lingered) {
    lane.lingerTimer = setTimeout(() => {
      lane.lingerTimer = undefined;
      lane.lingered = true;
      lingered();
    }, limits.lingerMs);
  }
}

/**
 * Cuts the next request from the lane's pending records (at most `maxRecords`, and `maxBytes` unless
 * one record alone is larger) and adds it to the lane's unacknowledged batches, unnumbered.
 */
export function cut(lane: Lane, maxRecords: number, maxBytes: number): Batch {
  const items: Item[] = [];
  let bytes = 0;
  while (lane.pending.length > 0 && items.length < maxRecords) {
    const next = lane.pending[0] as Item;
    if (items.length > 0 && bytes + next.size > maxBytes) break;
    items.push(next);
    bytes += next.size;
    lane.pending.shift();
  }
  lane.pendingBytes -= bytes;
  if (lane.pending.length === 0) {
    lane.lingered = false;
    if (lane.lingerTimer !== undefined) clearTimeout(lane.lingerTimer);
    lane.lingerTimer = undefined;
  }
  // Kafka's sticky partitioner: keyless records go to one partition per request, the next one after.
  lane.sticky = (lane.sticky + 1) % lane.partitions;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const batch: Batch = {
    id: lane.nextBatchId++,
    lane,
    items,
    bytes,
    createdAt: Date.now(),
    sequences: {},
    identity: undefined,
    mayHaveLanded: false,
    done: false,
    succeeded: false,
    finished,
    finish,
  };
  lane.unacked.push(batch);
  return batch;
}

/** Drops every pending record of the lane (returned, to be failed) and stops its linger timer. */
export function drain(lane: Lane): Item[] {
  const items = lane.pending.splice(0);
  lane.pendingBytes = 0;
  if (lane.lingerTimer !== undefined) clearTimeout(lane.lingerTimer);
  lane.lingerTimer = undefined;
  return items;
}

/**
 * Kafka's buffer.memory: the bytes of records sent and not yet acknowledged. A record is admitted at
 * once while there is room (or the buffer is empty, however large the record) and nobody waits before
 * it; otherwise it waits its turn until acknowledgements free enough room.
 *
 * @example
 * const memory = new BufferMemory(32 * 1024 * 1024);
 * await memory.reserve(record.size); // undefined (no wait) while there is room
 * memory.release(record.size); // when the record is acknowledged or fails
 */
export class BufferMemory {
  private readonly limit: number;
  private used = 0;
  private readonly waiting: { size: number; admit: () => void }[] = [];

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Bytes admitted and not yet released. */
  get bytes(): number {
    return this.used;
  }

  /** Counts `size` bytes in: undefined when done at once, else a promise that resolves once admitted. */
  reserve(size: number): Promise<void> | undefined {
    if (this.waiting.length > 0 || (this.used > 0 && this.used + size > this.limit)) {
      // Admitted in order as acknowledgements free room; admission counts the bytes in.
      return new Promise<void>((admit) => this.waiting.push({ size, admit }));
    }
    this.used += size;
    return undefined;
  }

  /** Counts bytes out, and admits the waiting records that now fit, in order. */
  release(bytes: number): void {
    this.used -= bytes;
    while (this.waiting.length > 0) {
      const next = this.waiting[0] as { size: number; admit: () => void };
      if (this.used > 0 && this.used + next.size > this.limit) break;
      this.waiting.shift();
      this.used += next.size;
      next.admit();
    }
  }

  /** Admits every waiting record regardless of room (the producer failed: they fail right after). */
  admitAll(): void {
    for (const waiter of this.waiting.splice(0)) {
      this.used += waiter.size;
      waiter.admit();
    }
  }
}
