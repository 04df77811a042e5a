import {
  CorruptSegmentError,
  InvalidArgumentError,
  OffsetOutOfRangeError,
  UnknownTopicError,
} from '../core/errors.ts';
import type { IndexEntry } from '../core/index-entry.ts';
import { entryEnd } from '../core/index-entry.ts';
import { segmentKey } from '../core/object-keys.ts';
import type { PartitionHead, PartitionRef } from '../core/ports.ts';
import { type DecodedBatch, decodeBatch, offsetDelta, recordSize } from '../core/segment/index.ts';
import type { FetchedRecord, FetchRequest, FetchResult, OffsetSpec, TopicRecord } from '../core/types.ts';
import { validateNonNegativeInt, validatePositiveInt } from '../core/validation.ts';
import type { EngineContext } from './context.ts';
import { mapLimit, withTopic } from './context.ts';

export const DEFAULT_MAX_RECORDS = 500;
export const MAX_MAX_RECORDS = 10_000;
export const DEFAULT_MAX_BYTES = 1024 * 1024;
export const MAX_MAX_BYTES = 64 * 1024 * 1024;

export async function head(ctx: EngineContext, ref: PartitionRef): Promise<PartitionHead> {
  const found = await ctx.index.readHead(ref);
  if (found === undefined) throw new UnknownTopicError(ref.topic);
  return found;
}

/** Index entries from the one holding `offset` upwards: pages first, then the head's tail. */
export async function* entriesFrom(ctx: EngineContext, ref: PartitionRef, offset: number, h: PartitionHead) {
  let cursor = offset;
  for await (const entry of ctx.index.entriesFrom(ref, offset, h)) {
    if (entryEnd(entry) <= cursor) continue;
    if (entry.baseOffset > cursor) throw indexGap(ref, cursor, entry.baseOffset);
    yield entry;
    cursor = entryEnd(entry);
  }
  for (const entry of h.tail) {
    if (entryEnd(entry) <= cursor) continue;
    if (entry.baseOffset > cursor) throw indexGap(ref, cursor, entry.baseOffset);
    yield entry;
    cursor = entryEnd(entry);
  }
  // Committed offsets must be covered up to the high watermark: a hole at the end is corruption too,
  // never an empty read that would stall a consumer below the high watermark.
  if (cursor < h.highWatermark) throw indexGap(ref, cursor, h.highWatermark);
}

function indexGap(ref: PartitionRef, from: number, to: number): CorruptSegmentError {
  return new CorruptSegmentError(
    `partition ${ref.partition} of '${ref.topic}' has no index entry for [${from}, ${to})`,
  );
}

/** The batch an entry points at; an entry of no bytes is a run key compaction emptied (no GET). */
export async function readBatch(
  ctx: EngineContext,
  topic: TopicRecord,
  ref: PartitionRef,
  entry: IndexEntry,
): Promise<DecodedBatch> {
  if (entry.byteLength === 0) return emptyBatch(ref.partition, entry.recordCount);
  const key = segmentKey(topic.name, topic.id, entry.objectId);
  return await ctx.batches.getOrLoad(`${key}@${entry.byteOffset}`, entry.byteLength, async () => {
    const bytes = await ctx.objects.getRange(key, entry.byteOffset, entry.byteLength);
    return decodeBatch(bytes, { partition: ref.partition, recordCount: entry.recordCount });
  });
}

function emptyBatch(partition: number, span: number): DecodedBatch {
  return { partition, compression: 'none', records: [], span, minTimestamp: 0, maxTimestamp: 0 };
}

/**
 * Reads committed records from `offset`, which may fall inside a batch: the result starts exactly
 * there (or at the first record after it: a compacted log has holes, which `nextOffset` skips). Only the batches needed are read, each with one ranged GET, verified by its CRC32C.
 * Below the log start: OffsetOutOfRangeError. At or past the high watermark: no records.
 * At least one record is returned even if it alone exceeds `maxBytes` (as Kafka does).
 */
export async function fetchRecords(ctx: EngineContext, request: FetchRequest): Promise<FetchResult> {
  const { offset, maxRecords, maxBytes } = fetchLimits(request);
  return await withTopic(ctx, request.topic, async (topic) => {
    const ref = ctx.partitionRef(topic, request.partition);
    return await rereadOnMissing(ctx, ref, offset, () =>
      readFrom(ctx, topic, ref, offset, maxRecords, maxBytes),
    );
  });
}

/** A fetch's limits, checked: `offset`, `maxRecords` (default 500) and `maxBytes` (default 1 MiB). */
export function fetchLimits(request: FetchRequest): { offset: number; maxRecords: number; maxBytes: number } {
  if (request === null || typeof request !== 'object')
    throw new InvalidArgumentError('the fetch request must be an object');
  return {
    offset: validateNonNegativeInt(request.offset, 'offset'),
    maxRecords: validatePositiveInt(request.maxRecords ?? DEFAULT_MAX_RECORDS, 'maxRecords', MAX_MAX_RECORDS),
    maxBytes: validatePositiveInt(request.maxBytes ?? DEFAULT_MAX_BYTES, 'maxBytes', MAX_MAX_BYTES),
  };
}

/**
 * Runs a read, and runs it again when it met a missing page or object. Retention may have moved the
 * log start, dropped the pages or removed the object since the head was read: that is
 * OffsetOutOfRange (the reader resumes at the log start). Compaction may have swapped the pages and
 * its old objects gone: reading again finds the new ones.
 */
export async function rereadOnMissing<T>(
  ctx: EngineContext,
  ref: PartitionRef,
  offset: number,
  read: () => Promise<T>,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await read();
    } catch (error) {
      if (!(error instanceof CorruptSegmentError)) throw error;
      const now = await head(ctx, ref);
      if (offset < now.logStartOffset) {
        throw new OffsetOutOfRangeError(offset, now.logStartOffset, now.highWatermark);
      }
      if (attempt >= 2) throw error;
    }
  }
}

async function readFrom(
  ctx: EngineContext,
  topic: TopicRecord,
  ref: PartitionRef,
  offset: number,
  maxRecords: number,
  maxBytes: number,
): Promise<FetchResult> {
  const h = await head(ctx, ref);
  const base = { highWatermark: h.highWatermark, logStartOffset: h.logStartOffset };
  if (offset < h.logStartOffset) throw new OffsetOutOfRangeError(offset, h.logStartOffset, h.highWatermark);
  if (offset >= h.highWatermark) return { records: [], nextOffset: offset, ...base };
  const entries = entriesFrom(ctx, ref, offset, h)[Symbol.asyncIterator]();
  const out: FetchedRecord[] = [];
  let used = 0;
  // Every offset below `cursor` was returned or is a hole; read on while only holes were met.
  let cursor = offset;
  let full = false;
  try {
    while (out.length === 0 && cursor < h.highWatermark) {
      // Choose the batches to read: enough records, and roughly enough bytes (batch sizes bound them).
      const chosen: IndexEntry[] = [];
      let records = 0;
      let bytes = 0;
      while (records < maxRecords && bytes < maxBytes) {
        const next = await entries.next();
        if (next.done === true) break;
        chosen.push(next.value);
        records += entryEnd(next.value) - Math.max(next.value.baseOffset, offset);
        bytes += next.value.byteLength;
      }
      if (chosen.length === 0) break;
      const batches = await mapLimit(chosen, ctx.fetchConcurrency, (entry) =>
        readBatch(ctx, topic, ref, entry),
      );
      fill: for (const [i, batch] of batches.entries()) {
        const entry = chosen[i] as IndexEntry;
        for (const [j, record] of batch.records.entries()) {
          const recordOffset = entry.baseOffset + offsetDelta(batch, j);
          if (recordOffset < offset) continue;
          const size = recordSize(record);
          if (out.length >= maxRecords || (out.length > 0 && used + size > maxBytes)) {
            full = true;
            break fill;
          }
          out.push({ ...record, offset: recordOffset, appendTime: entry.appendTime });
          used += size;
        }
        cursor = entryEnd(entry);
      }
      if (full) break;
    }
  } finally {
    await entries.return?.();
  }
  const last = out.at(-1);
  const nextOffset = full && last !== undefined ? last.offset + 1 : Math.max(cursor, offset);
  return { records: out, nextOffset, ...base };
}

/**
 * Kafka's ListOffsets: `earliest` is the log start offset, `latest` the high watermark, and a
 * timestamp gives the first offset whose record timestamp is ≥ it (null when there is none).
 */
export async function listOffsets(
  ctx: EngineContext,
  topicName: string,
  partition: number,
  spec: OffsetSpec,
): Promise<number | null> {
  if (spec !== 'earliest' && spec !== 'latest' && (spec === null || typeof spec !== 'object')) {
    throw new InvalidArgumentError(
      `offset spec must be 'earliest', 'latest' or { timestamp }, got ${String(spec)}`,
    );
  }
  return await withTopic(ctx, topicName, async (topic) => {
    const ref = ctx.partitionRef(topic, partition);
    const h = await head(ctx, ref);
    if (spec === 'earliest') return h.logStartOffset;
    if (spec === 'latest') return h.highWatermark;
    const target = validateNonNegativeInt(spec.timestamp, 'timestamp');
    if (h.logStartOffset >= h.highWatermark) return null;
    // The time index says where to start: every record before `from` is older than the target.
    const from = await ctx.index.timestampStart(ref, target, h);
    if (from === undefined) return null;
    for await (const entry of entriesFrom(ctx, ref, Math.max(from, h.logStartOffset), h)) {
      if (entry.maxTimestamp < target || entry.byteLength === 0) continue;
      const batch = await readBatch(ctx, topic, ref, entry);
      for (const [j, record] of batch.records.entries()) {
        const recordOffset = entry.baseOffset + offsetDelta(batch, j);
        if (recordOffset >= h.logStartOffset && record.timestamp >= target) return recordOffset;
      }
    }
    return null;
  });
}
