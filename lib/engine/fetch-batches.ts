import { CorruptSegmentError, OffsetOutOfRangeError } from '../core/errors.ts';
import type { IndexEntry } from '../core/index-entry.ts';
import { entryEnd } from '../core/index-entry.ts';
import { segmentKey } from '../core/object-keys.ts';
import type { PartitionHead, PartitionRef } from '../core/ports.ts';
import { batchExtent, encodeBatch, type LogRecord, offsetDelta, recordSize } from '../core/segment/index.ts';
import type { FetchRequest, TopicRecord } from '../core/types.ts';
import { allocateFetchFrame, type FetchFrame, type FrameBatch } from '../core/wire/fetch-frame.ts';
import type { EngineContext } from './context.ts';
import { mapLimit, withTopic } from './context.ts';
import { entriesFrom, fetchLimits, head, readBatch, rereadOnMissing } from './fetch.ts';

/**
 * Reads committed batches from `offset` as they are stored, for the binary fetch: no decoding, no
 * re-encoding, one ranged GET per batch (the reader verifies each batch's CRC32C). Batches travel
 * whole, so the first may start below `offset`. Whole batches are added while they fit in `maxBytes`
 * and their records from `offset` in `maxRecords` (the first whatever its record count); when the first batch alone is larger than
 * `maxBytes`, only the records needed are sent, re-encoded as one batch. Below the log start:
 * OffsetOutOfRangeError; at or past the high watermark: no batches.
 *
 * @example
 * const frame = await fetchBatches(ctx, { topic: 'orders', partition: 0, offset: 17 });
 * const body = encodeFetchFrame(frame);
 */
export async function fetchBatches(ctx: EngineContext, request: FetchRequest): Promise<FetchFrame> {
  const { offset, maxRecords, maxBytes } = fetchLimits(request);
  return await withTopic(ctx, request.topic, async (topic) => {
    const ref = ctx.partitionRef(topic, request.partition);
    return await rereadOnMissing(ctx, ref, offset, () =>
      readBatchesFrom(ctx, topic, ref, offset, maxRecords, maxBytes),
    );
  });
}

async function readBatchesFrom(
  ctx: EngineContext,
  topic: TopicRecord,
  ref: PartitionRef,
  offset: number,
  maxRecords: number,
  maxBytes: number,
): Promise<FetchFrame> {
  const h = await head(ctx, ref);
  const base = { highWatermark: h.highWatermark, logStartOffset: h.logStartOffset };
  if (offset < h.logStartOffset) throw new OffsetOutOfRangeError(offset, h.logStartOffset, h.highWatermark);
  if (offset >= h.highWatermark) return { batches: [], nextOffset: offset, ...base };
  const { picked, oversized, cursor } = await pickBatches(ctx, ref, h, offset, maxRecords, maxBytes);
  // Each batch is read straight into its place in the answer's frame (encodeFetchFrame copies nothing).
  const slots = allocateFetchFrame(picked.map((entry) => entry.byteLength));
  const batches: FrameBatch[] = await mapLimit(picked, ctx.fetchConcurrency, async (entry, i) => ({
    baseOffset: entry.baseOffset,
    appendTime: entry.appendTime,
    bytes: await storedBatch(ctx, topic, ref, entry, slots[i] as Uint8Array),
  }));
  if (oversized === undefined) return { batches, nextOffset: cursor, ...base };
  const slice = await sliceOf(ctx, topic, ref, oversized, offset, maxRecords, maxBytes);
  if (slice === undefined) return { batches, nextOffset: entryEnd(oversized), ...base };
  return { batches: [slice.batch], nextOffset: slice.nextOffset, ...base };
}

/** The index entries a fetch from `offset` sends, and where the next fetch starts. */
export interface PickedBatches {
  /** Whole stored batches, in offset order, within `maxBytes` and `maxRecords` (the first one whatever its records). */
  readonly picked: IndexEntry[];
  /** The first batch when it alone is larger than `maxBytes` (then `picked` is empty). */
  readonly oversized: IndexEntry | undefined;
  /** Every offset below it is in a picked batch or a run compaction emptied. */
  readonly cursor: number;
}

/**
 * Chooses the stored batches a fetch from `offset` sends: whole batches while they fit in `maxBytes`
 * and their records from `offset` in `maxRecords` (the first batch is sent whatever its record count),
 * at most `maxBatches` of them; `offset` is below the high watermark `h` has.
 */
export async function pickBatches(
  ctx: EngineContext,
  ref: PartitionRef,
  h: PartitionHead,
  offset: number,
  maxRecords: number,
  maxBytes: number,
  maxBatches = Number.POSITIVE_INFINITY,
): Promise<PickedBatches> {
  const picked: IndexEntry[] = [];
  let oversized: IndexEntry | undefined;
  let bytes = 0;
  let records = 0;
  let cursor = offset;
  for await (const entry of entriesFrom(ctx, ref, offset, h)) {
    if (entry.byteLength > 0) {
      if (bytes + entry.byteLength > maxBytes) {
        if (bytes === 0) oversized = entry;
        break;
      }
      // Nor past maxRecords, unless it is the first: the reader would drop the rest of the batch,
      // and its next fetch would read it again.
      const adds = entryEnd(entry) - Math.max(entry.baseOffset, offset);
      if (picked.length > 0 && records + adds > maxRecords) break;
      if (picked.length >= maxBatches) break;
      picked.push(entry);
      bytes += entry.byteLength;
      records += adds;
    }
    cursor = entryEnd(entry);
    if (records >= maxRecords) break;
  }
  return { picked, oversized, cursor };
}

/**
 * A batch's bytes by one ranged GET into `slot`, checked to be the batch the index names (not its
 * CRC); returns `slot`.
 */
async function storedBatch(
  ctx: EngineContext,
  topic: TopicRecord,
  ref: PartitionRef,
  entry: IndexEntry,
  slot: Uint8Array,
): Promise<Uint8Array> {
  const key = segmentKey(topic.name, topic.id, entry.objectId);
  const got = await ctx.objects.getRange(key, entry.byteOffset, entry.byteLength, slot);
  if (got !== slot && got.byteLength === slot.byteLength) slot.set(got);
  const bytes = got.byteLength === slot.byteLength ? slot : got;
  const extent = bytes.length >= 16 ? batchExtent(bytes, 0) : -1;
  const partition = bytes.length >= 16 ? new DataView(bytes.buffer, bytes.byteOffset).getUint32(12) : -1;
  if (extent !== entry.byteLength || partition !== ref.partition) {
    throw new CorruptSegmentError(
      `object ${key} at byte ${entry.byteOffset} does not hold the ${entry.byteLength}-byte batch of partition ${ref.partition} its index entry names`,
    );
  }
  return bytes;
}

/**
 * The records from `offset` of a batch too large to send whole, up to `maxRecords` and `maxBytes`
 * (at least one), as one new batch; undefined when the batch holds no record from `offset` on.
 */
async function sliceOf(
  ctx: EngineContext,
  topic: TopicRecord,
  ref: PartitionRef,
  entry: IndexEntry,
  offset: number,
  maxRecords: number,
  maxBytes: number,
): Promise<{ batch: FrameBatch; nextOffset: number } | undefined> {
  const decoded = await readBatch(ctx, topic, ref, entry);
  const records: LogRecord[] = [];
  const offsets: number[] = [];
  let used = 0;
  let full = false;
  for (const [j, record] of decoded.records.entries()) {
    const at = entry.baseOffset + offsetDelta(decoded, j);
    if (at < offset) continue;
    const size = recordSize(record);
    if (records.length >= maxRecords || (records.length > 0 && used + size > maxBytes)) {
      full = true;
      break;
    }
    records.push(record);
    offsets.push(at);
    used += size;
  }
  const first = offsets[0];
  const last = offsets.at(-1);
  if (first === undefined || last === undefined) return undefined;
  const span = last - first + 1;
  const bytes = encodeBatch({
    partition: ref.partition,
    compression: 'none',
    records,
    ...(span === records.length ? {} : { sparse: { offsetDeltas: offsets.map((o) => o - first), span } }),
  });
  return {
    batch: { baseOffset: first, appendTime: entry.appendTime, bytes },
    nextOffset: full ? last + 1 : entryEnd(entry),
  };
}
