import type { IndexEntry } from '../core/index-entry.ts';
import { newObjectId, segmentKey } from '../core/object-keys.ts';
import type { PartitionRef } from '../core/ports.ts';
import { encodeSegment, type LogRecord, recordSize } from '../core/segment/index.ts';
import type { TopicRecord } from '../core/types.ts';
import type { EngineContext } from './context.ts';

/** A batch's records section stays well under the 64 MiB batch limit whatever the target. */
const MAX_CHUNK_BYTES = 48 * 1024 * 1024;
/** What a record costs in a batch beyond its key, value and headers (length, flags, delta, …). */
const RECORD_OVERHEAD = 8;

/**
 * Writes the records a compaction keeps from a run of offsets `[from, end)` as new objects, one
 * batch each (so each is referenced by exactly one entry, and is garbage once that entry is
 * swapped out), and returns the entries covering the run exactly: chunk i covers from its first
 * record (the first chunk from `from`) to the next chunk's first record (the last one to `end`).
 * Offsets never change; dropped records leave holes (sparse batches). A run that keeps nothing
 * is one entry of no bytes. Each entry's append time is the largest of the input entries its
 * range overlaps, so retention by time never lets a record go earlier than before.
 *
 * @example
 * const writer = new RunWriter(ctx, topic, ref, 100, 8 << 20);
 * writer.visit(entry);                         // before adding its records
 * await writer.add(105, record);
 * const entries = await writer.finish(200);    // cover [100, 200)
 */
export class RunWriter {
  private readonly target: number;
  private readonly done: IndexEntry[] = [];
  /** The run's pending record (lib/engine/retired.ts): undefined until the first object. */
  pending: number | undefined;
  private records: LogRecord[] = [];
  private offsets: number[] = [];
  private bytes = 0;
  private start: number;
  private appendTime = 0;
  private current = 0;

  private readonly ctx: EngineContext;
  private readonly topic: TopicRecord;
  private readonly ref: PartitionRef;

  constructor(ctx: EngineContext, topic: TopicRecord, ref: PartitionRef, from: number, target: number) {
    this.ctx = ctx;
    this.topic = topic;
    this.ref = ref;
    this.start = from;
    this.target = Math.min(target, MAX_CHUNK_BYTES);
  }

  /** The input entry whose records come next: its append time joins the chunk's. */
  visit(entry: IndexEntry): void {
    this.current = entry.appendTime;
    this.appendTime = Math.max(this.appendTime, entry.appendTime);
  }

  /** Adds a kept record; offsets must increase. */
  async add(offset: number, record: LogRecord): Promise<void> {
    const size = recordSize(record) + RECORD_OVERHEAD;
    if (this.records.length > 0 && this.bytes + size > this.target) {
      await this.cut(offset);
      this.appendTime = this.current;
    }
    this.records.push(record);
    this.offsets.push(offset);
    this.bytes += size;
  }

  /** Writes the last chunk, covering up to `end`; the run's entries. */
  async finish(end: number): Promise<IndexEntry[]> {
    await this.cut(end);
    return this.done;
  }

  private async cut(end: number): Promise<void> {
    const objectId = newObjectId(this.ctx.now(), 'compactor');
    const span = end - this.start;
    const base = { baseOffset: this.start, recordCount: span, objectId, appendTime: this.appendTime };
    if (this.records.length === 0) {
      this.done.push({ ...base, byteOffset: 0, byteLength: 0, maxTimestamp: this.appendTime });
    } else {
      const deltas = this.offsets.map((offset) => offset - this.start);
      const segment = encodeSegment([
        {
          partition: this.ref.partition,
          records: this.records,
          compression: this.topic.config.compression,
          sparse: { offsetDeltas: deltas, span },
        },
      ]);
      const location = segment.batches[0];
      if (location === undefined) throw new Error('a segment of one batch has one location');
      // Noted before the PUT: if the swap never happens, the collector finds and deletes it.
      this.pending = await this.ctx.index.notePending(this.topic.id, this.pending, objectId);
      await this.ctx.objects.put(segmentKey(this.topic.name, this.topic.id, objectId), segment.bytes);
      this.done.push({
        ...base,
        byteOffset: location.byteOffset,
        byteLength: location.byteLength,
        maxTimestamp: location.maxTimestamp,
      });
    }
    this.start = end;
    this.records = [];
    this.offsets = [];
    this.bytes = 0;
  }
}
