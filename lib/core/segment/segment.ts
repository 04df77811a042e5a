import { CorruptSegmentError, InvalidArgumentError } from '../errors.ts';
import {
  asCorrupt,
  batchExtent,
  decodeBatchUnchecked,
  type PreparedBatch,
  prepareBatch,
  writeBatch,
} from './batch.ts';
import { ByteReader, writeU16 } from './reader.ts';
import type { BatchInput, BatchLocation, DecodedBatch } from './types.ts';

/*
 * Segment object, format v1: what one produce call writes, one batch per partition it touched.
 * All fixed-width integers are big-endian and unsigned.
 *
 *   offset  size  field
 *        0     4  magic        "SBSG" (0x53 0x42 0x53 0x47)
 *        4     1  version      1
 *        5     1  reserved     0
 *        6     2  batchCount   >= 1
 *        8     .  batches      batchCount batches back to back (batch.ts), each partition at most
 *                              once, nothing after the last one
 *
 * The header has no CRC of its own: every field is checked exactly (magic, version, reserved = 0,
 * and the batches must fill the object exactly), and every batch carries its own CRC32C.
 */

const MAGIC = [0x53, 0x42, 0x53, 0x47] as const;
const SEGMENT_VERSION = 1;
const SEGMENT_HEADER_BYTES = 8;
const MAX_BATCHES = 0xffff;

/**
 * Encodes one segment object from per-partition batches, returning the bytes and where each batch
 * landed (in input order). Throws InvalidArgumentError for bad input: no batches, more than 65535,
 * a repeated partition, or any invalid batch or record.
 *
 * @example
 * const { bytes, batches } = encodeSegment([
 *   { partition: 0, compression: 'zstd', records: [{ key: null, value, valueIsJson: false, headers: [], timestamp: Date.now() }] },
 * ]);
 */
export function encodeSegment(batches: readonly BatchInput[]): {
  bytes: Uint8Array;
  batches: BatchLocation[];
} {
  if (!Array.isArray(batches) || batches.length === 0 || batches.length > MAX_BATCHES) {
    throw new InvalidArgumentError(`batches must be an array of 1-${MAX_BATCHES} batches`);
  }
  const prepared: PreparedBatch[] = [];
  const partitions = new Set<number>();
  let total = SEGMENT_HEADER_BYTES;
  for (let i = 0; i < batches.length; i++) {
    const batch = prepareBatch(batches[i] as BatchInput, `batches[${i}]`);
    if (partitions.has(batch.partition)) {
      throw new InvalidArgumentError(`batches[${i}].partition ${batch.partition} appears more than once`);
    }
    partitions.add(batch.partition);
    prepared.push(batch);
    total += batch.byteLength;
  }

  const bytes = new Uint8Array(total);
  bytes.set(MAGIC, 0);
  bytes[4] = SEGMENT_VERSION;
  bytes[5] = 0;
  writeU16(bytes, 6, prepared.length);
  const locations: BatchLocation[] = [];
  let offset = SEGMENT_HEADER_BYTES;
  for (const batch of prepared) {
    writeBatch(bytes, offset, batch);
    locations.push({
      partition: batch.partition,
      byteOffset: offset,
      byteLength: batch.byteLength,
      recordCount: batch.recordCount,
      span: batch.span,
      minTimestamp: batch.minTimestamp,
      maxTimestamp: batch.maxTimestamp,
    });
    offset += batch.byteLength;
  }
  return { bytes, batches: locations };
}

/**
 * Decodes a whole segment object (header and every batch), for tools like compaction and orphan
 * sweeping. Throws only {@link CorruptSegmentError}.
 */
export function decodeSegment(bytes: Uint8Array): DecodedBatch[] {
  return readSegment(bytes).batches;
}

/**
 * Decodes a whole segment object and says where each batch sits in it (in object order): what a
 * produce call sent in binary is checked with, before its bytes are stored as they are. Verifies the
 * header, every batch's CRC32C and structure, and that the batches fill the object exactly. Throws
 * only {@link CorruptSegmentError}.
 *
 * @example
 * const { batches, locations } = readSegment(encodeSegment(inputs).bytes);
 * locations[0] // { partition: 0, byteOffset: 8, byteLength: 61, recordCount: 1, span: 1, ... }
 */
export function readSegment(bytes: Uint8Array): { batches: DecodedBatch[]; locations: BatchLocation[] } {
  try {
    if (!(bytes instanceof Uint8Array)) {
      throw new CorruptSegmentError('segment bytes must be a Uint8Array');
    }
    const r = new ByteReader(bytes);
    r.need(SEGMENT_HEADER_BYTES, 'segment header');
    for (const expected of MAGIC) {
      if (r.u8('segment magic') !== expected) {
        throw new CorruptSegmentError('not a segment object (bad magic)');
      }
    }
    const version = r.u8('segment version');
    if (version !== SEGMENT_VERSION) {
      throw new CorruptSegmentError(
        `unsupported segment version ${version} (this reader knows ${SEGMENT_VERSION})`,
      );
    }
    const reserved = r.u8('segment reserved byte');
    if (reserved !== 0) {
      throw new CorruptSegmentError(`segment reserved byte is ${reserved}, expected 0`);
    }
    const count = r.u16('segment batch count');
    if (count === 0) {
      throw new CorruptSegmentError('segment has no batches');
    }
    const decoded: DecodedBatch[] = [];
    const locations: BatchLocation[] = [];
    const partitions = new Set<number>();
    let offset = SEGMENT_HEADER_BYTES;
    for (let i = 0; i < count; i++) {
      let batch: DecodedBatch;
      let size: number;
      try {
        size = batchExtent(bytes, offset);
        batch = decodeBatchUnchecked(bytes.subarray(offset, offset + size));
      } catch (error) {
        throw asCorrupt(error, `segment batch ${i} of ${count} at byte ${offset}`);
      }
      if (partitions.has(batch.partition)) {
        throw new CorruptSegmentError(`segment holds partition ${batch.partition} more than once`);
      }
      partitions.add(batch.partition);
      decoded.push(batch);
      locations.push({
        partition: batch.partition,
        byteOffset: offset,
        byteLength: size,
        recordCount: batch.records.length,
        span: batch.span,
        minTimestamp: batch.minTimestamp,
        maxTimestamp: batch.maxTimestamp,
      });
      offset += size;
    }
    if (offset !== bytes.length) {
      throw new CorruptSegmentError(`segment has ${bytes.length - offset} bytes after its ${count} batches`);
    }
    return { batches: decoded, locations };
  } catch (error) {
    throw asCorrupt(error);
  }
}

/** What a batch's header declares, read without checking its CRC or inflating it. */
export interface DeclaredBatch {
  readonly partition: number;
  /** The records section's size once inflated. */
  readonly recordsLength: number;
}

/**
 * The batches a segment object declares, from their headers only: no CRC, no inflating. For checks that
 * must come before the expensive ones (a few KB of zstd can declare 64 MiB per batch). Throws
 * CorruptSegmentError when the framing itself is broken; {@link readSegment} still checks the rest.
 *
 * @example
 * declaredBatches(body).reduce((n, b) => n + b.recordsLength, 0) // bytes the body inflates to
 */
export function declaredBatches(bytes: Uint8Array): DeclaredBatch[] {
  try {
    if (bytes.length < SEGMENT_HEADER_BYTES) throw new CorruptSegmentError('segment header is truncated');
    if (MAGIC.some((byte, i) => bytes[i] !== byte))
      throw new CorruptSegmentError('not a segment object (bad magic)');
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const count = view.getUint16(6);
    const declared: DeclaredBatch[] = [];
    let offset = SEGMENT_HEADER_BYTES;
    for (let i = 0; i < count && offset < bytes.length; i++) {
      const size = batchExtent(bytes, offset);
      if (size < 40)
        throw new CorruptSegmentError(`segment batch ${i} is ${size} bytes, shorter than its header`);
      declared.push({ partition: view.getUint32(offset + 12), recordsLength: view.getUint32(offset + 36) });
      offset += size;
    }
    return declared;
  } catch (error) {
    throw asCorrupt(error);
  }
}
