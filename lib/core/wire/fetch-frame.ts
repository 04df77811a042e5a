import { CorruptSegmentError } from '../errors.ts';
import { asCorrupt, batchExtent, decodeBatchUnchecked, offsetDelta } from '../segment/batch.ts';
import { ZstdUnavailableError } from '../segment/compression.ts';
import { crc32c } from '../segment/crc.ts';
import { ByteReader, writeU32, writeU64 } from '../segment/reader.ts';
import type { FetchedRecord } from '../types.ts';

/*
 * Fetch frame, format v1: the binary answer of a fetch (content type
 * application/vnd.streambed.batches). Batches travel as they are stored (batch.ts, each with its own
 * CRC32C); offsets are not in the batches, so the header maps them. All fixed-width integers are
 * big-endian and unsigned.
 *
 *   offset  size  field
 *        0     4  magic           "SBFB" (0x53 0x42 0x46 0x42)
 *        4     1  version         1
 *        5     3  reserved        0
 *        8     4  headerCrc       CRC32C of bytes [12, 40 + 16n)
 *       12     8  highWatermark
 *       20     8  logStartOffset
 *       28     8  nextOffset      where to fetch next once every batch is read (past holes)
 *       36     4  batchCount n
 *       40   16n  n × (u64 baseOffset, u64 appendTime), in offset order
 *  40 + 16n     .  n batches (batch.ts) back to back, batch i at baseOffset_i; nothing after them
 *
 * A batch may start below the offset asked for (batches travel whole): the reader skips the records
 * below it, and stops at the records it asked for. Record i of batch b sits at
 * baseOffset_b + offsetDelta(b, i) (dense batches: i).
 */

const MAGIC = [0x53, 0x42, 0x46, 0x42] as const;
const VERSION = 1;
const HEADER_BYTES = 40;
const PER_BATCH = 16;

/** The content type of a fetch frame. */
export const FETCH_FRAME_TYPE = 'application/vnd.streambed.batches';

/** A stored batch as it goes into a fetch frame. */
export interface FrameBatch {
  readonly baseOffset: number;
  /** When the batch was appended (LogAppendTime), ms since the epoch. */
  readonly appendTime: number;
  /** The batch's bytes (batch.ts), as stored. */
  readonly bytes: Uint8Array;
}

export interface FetchFrame {
  readonly highWatermark: number;
  readonly logStartOffset: number;
  readonly nextOffset: number;
  readonly batches: readonly FrameBatch[];
}

/** Buffers {@link allocateFetchFrame} made, by their batch count: their header is free to write. */
const reserved = new WeakMap<ArrayBufferLike, number>();

/**
 * Room for a frame of batches of these lengths: one slot per batch, in order, inside one buffer that
 * leaves space for the header. A reader that GETs each batch straight into its slot and passes the
 * slots as the frame's batches makes {@link encodeFetchFrame} write only the header around them: the
 * fetched bytes are never copied again.
 *
 * @example
 * const slots = allocateFetchFrame(entries.map((e) => e.byteLength));
 * await Promise.all(entries.map((e, i) => objects.getRange(key, e.byteOffset, e.byteLength, slots[i])));
 */
export function allocateFetchFrame(lengths: readonly number[]): Uint8Array[] {
  const headerEnd = HEADER_BYTES + PER_BATCH * lengths.length;
  const total = lengths.reduce((n, length) => n + length, headerEnd);
  // Not zero-filled (megabytes per fetch): encodeFetchFrame writes every header byte, and a reader
  // fills every slot or fails the fetch, so no byte of it is sent unwritten.
  const out = new Uint8Array(Buffer.allocUnsafeSlow(total).buffer, 0, total);
  reserved.set(out.buffer, lengths.length);
  let at = headerEnd;
  return lengths.map((length) => {
    const slot = out.subarray(at, at + length);
    at += length;
    return slot;
  });
}

/** The whole buffer when the batches are exactly the slots of one {@link allocateFetchFrame}, in order. */
function inPlace(batches: readonly FrameBatch[]): Uint8Array | undefined {
  const buffer = batches[0]?.bytes.buffer;
  if (buffer === undefined || reserved.get(buffer) !== batches.length) return undefined;
  let at = HEADER_BYTES + PER_BATCH * batches.length;
  for (const batch of batches) {
    if (batch.bytes.buffer !== buffer || batch.bytes.byteOffset !== at) return undefined;
    at += batch.bytes.length;
  }
  return at === buffer.byteLength ? new Uint8Array(buffer) : undefined;
}

/**
 * Encodes a fetch frame; the batches go in as they are, never decoded — and are not even copied when
 * they already sit in the slots of {@link allocateFetchFrame}.
 *
 * @example
 * const body = encodeFetchFrame({ highWatermark: 10, logStartOffset: 0, nextOffset: 10, batches: [{ baseOffset: 0, appendTime, bytes }] });
 */
export function encodeFetchFrame(frame: FetchFrame): Uint8Array {
  const headerEnd = HEADER_BYTES + PER_BATCH * frame.batches.length;
  const placed = inPlace(frame.batches);
  const out = placed ?? new Uint8Array(frame.batches.reduce((n, b) => n + b.bytes.length, headerEnd));
  out.set(MAGIC, 0);
  out.set([VERSION, 0, 0, 0], 4);
  writeU64(out, 12, frame.highWatermark);
  writeU64(out, 20, frame.logStartOffset);
  writeU64(out, 28, frame.nextOffset);
  writeU32(out, 36, frame.batches.length);
  let table = HEADER_BYTES;
  let at = headerEnd;
  for (const batch of frame.batches) {
    writeU64(out, table, batch.baseOffset);
    writeU64(out, table + 8, batch.appendTime);
    table += PER_BATCH;
    if (placed === undefined) out.set(batch.bytes, at);
    at += batch.bytes.length;
  }
  writeU32(out, 8, crc32c(out.subarray(12, headerEnd)));
  return out;
}

/** What a reader asked for: records from `offset`, at most `maxRecords` of them. */
export interface FrameRequest {
  readonly offset: number;
  readonly maxRecords?: number;
}

export interface DecodedFetchFrame {
  readonly records: FetchedRecord[];
  /** The offset to read next: past the last record returned, or the frame's nextOffset. */
  readonly nextOffset: number;
  readonly highWatermark: number;
  readonly logStartOffset: number;
}

/**
 * Decodes a fetch frame, verifying its header CRC32C and every batch's, and returns the records from
 * `request.offset` on (at most `maxRecords`). Throws CorruptSegmentError for damage, and
 * ZstdUnavailableError on a Node without zstd (< 22.15).
 *
 * @example
 * const { records, nextOffset } = decodeFetchFrame(body, { offset: 17, maxRecords: 500 });
 */
export function decodeFetchFrame(bytes: Uint8Array, request: FrameRequest): DecodedFetchFrame {
  try {
    return decodeUnchecked(bytes, request);
  } catch (error) {
    // Not damage: this Node cannot inflate zstd (< 22.15); the JSON codec reads such a topic.
    if (error instanceof ZstdUnavailableError) throw error;
    throw asCorrupt(error, 'fetch frame');
  }
}

function decodeUnchecked(bytes: Uint8Array, request: FrameRequest): DecodedFetchFrame {
  const r = new ByteReader(bytes);
  r.need(HEADER_BYTES, 'fetch frame header');
  for (const expected of MAGIC) {
    if (r.u8('fetch frame magic') !== expected)
      throw new CorruptSegmentError('not a fetch frame (bad magic)');
  }
  const version = r.u8('fetch frame version');
  if (version !== VERSION) {
    throw new CorruptSegmentError(
      `unsupported fetch frame version ${version} (this reader knows ${VERSION})`,
    );
  }
  if (r.u8('reserved') !== 0 || r.u16('reserved') !== 0) {
    throw new CorruptSegmentError('fetch frame reserved bytes are not zero');
  }
  const storedCrc = r.u32('fetch frame header CRC');
  const highWatermark = r.u64Safe('highWatermark');
  const logStartOffset = r.u64Safe('logStartOffset');
  const frameNext = r.u64Safe('nextOffset');
  const count = r.u32('batch count');
  const headerEnd = HEADER_BYTES + PER_BATCH * count;
  r.need(PER_BATCH * count, 'fetch frame batch table');
  const computed = crc32c(bytes.subarray(12, headerEnd));
  if (computed !== storedCrc) {
    throw new CorruptSegmentError(
      `fetch frame header CRC32C mismatch: stored 0x${storedCrc.toString(16)}, computed 0x${computed.toString(16)}`,
    );
  }
  const batches: FrameBatch[] = [];
  let at = headerEnd;
  for (let i = 0; i < count; i++) {
    const baseOffset = r.u64Safe(`batch ${i} baseOffset`);
    const appendTime = r.u64Safe(`batch ${i} appendTime`);
    const size = batchExtent(bytes, at);
    batches.push({ baseOffset, appendTime, bytes: bytes.subarray(at, at + size) });
    at += size;
  }
  if (at !== bytes.length) {
    throw new CorruptSegmentError(`fetch frame has ${bytes.length - at} bytes after its ${count} batches`);
  }
  const { records, nextOffset } = recordsOfBatches(batches, request, frameNext);
  return {
    records,
    nextOffset,
    highWatermark,
    logStartOffset,
  };
}

/**
 * The records from `request.offset` on (at most `maxRecords`) of whole stored batches in offset
 * order — a frame's, or batches a reader fetched itself by their URLs — each verified by its CRC32C;
 * `next` is where the answer said to read next (past holes). Throws CorruptSegmentError for damage or
 * batches out of order.
 *
 * @example
 * const { records, nextOffset } = recordsOfBatches(batches, { offset: 17, maxRecords: 500 }, 2048);
 */
export function recordsOfBatches(
  batches: readonly FrameBatch[],
  request: FrameRequest,
  next: number,
): { records: FetchedRecord[]; nextOffset: number } {
  const maxRecords = request.maxRecords ?? Number.POSITIVE_INFINITY;
  const records: FetchedRecord[] = [];
  let previousEnd = 0;
  for (const [i, { baseOffset, appendTime, bytes }] of batches.entries()) {
    if (baseOffset < previousEnd) {
      throw new CorruptSegmentError(`batch ${i} starts at ${baseOffset}, inside the batch before it`);
    }
    const batch = decodeBatchUnchecked(bytes);
    previousEnd = baseOffset + batch.span;
    if (records.length >= maxRecords) continue; // still verified, not returned
    for (const [j, record] of batch.records.entries()) {
      const offset = baseOffset + offsetDelta(batch, j);
      if (offset < request.offset) continue;
      if (records.length >= maxRecords) break;
      records.push({
        key: record.key,
        value: record.value,
        valueIsJson: record.valueIsJson,
        headers: record.headers,
        timestamp: record.timestamp,
        offset,
        appendTime,
      });
    }
  }
  if (previousEnd > next && records.length < maxRecords) {
    throw new CorruptSegmentError(`the answer's nextOffset ${next} is inside its last batch`);
  }
  const last = records.at(-1);
  const trimmed = last !== undefined && records.length >= maxRecords && last.offset + 1 < next;
  return { records, nextOffset: trimmed ? last.offset + 1 : Math.max(next, request.offset) };
}
