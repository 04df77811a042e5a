import { CorruptSegmentError, InvalidArgumentError } from '../errors.ts';
import { COMPRESSION_CODE, compress, compressionFromCode, decompress, isCompression } from './compression.ts';
import { crc32c } from './crc.ts';
import { ByteReader, readU32, writeU16, writeU32, writeU64 } from './reader.ts';
import {
  decodeRecords,
  encodeRecords,
  MIN_RECORD_BYTES,
  measureRecords,
  type RecordsLayout,
  validateRecord,
  writeRecords,
} from './record.ts';
import type { BatchInput, Compression, DecodedBatch, LogRecord } from './types.ts';
import { readVarint, varintSize, writeVarint } from './varint.ts';

/*
 * Batch, format v1. Self-describing and self-verifying: a ranged GET of exactly these bytes can be
 * decoded on its own. All fixed-width integers are big-endian and unsigned.
 *
 *   offset  size  field
 *        0     4  batchLength     bytes after this field: 36 + stored records length
 *        4     4  crc             CRC32C (Castagnoli) of bytes [8, 4 + batchLength)
 *        8     1  formatVersion   1
 *        9     1  attributes      bits 0-2 compression (0 none, 1 gzip, 2 zstd); bit 3 sparse;
 *                                 bits 4-7 zero
 *       10     2  reserved        0
 *       12     4  partition
 *       16     4  recordCount     >= 1
 *       20     8  minTimestamp    ms since epoch, <= 2^53 - 1; the smallest record timestamp
 *       28     8  maxTimestamp    ms since epoch, <= 2^53 - 1; the largest record timestamp
 *       36     4  recordsLength   length of the records section before compression, <= 64 MiB
 *       40     n  records         the records section (record.ts); when compression is not none,
 *                                 one gzip member / zstd frame of the whole section
 *
 * A sparse batch (bit 3; written by key compaction, which removes records but never renumbers
 * them) starts its records section, before the first record, with where its records sit:
 *
 *   varint span                    offsets the batch covers (its index entry's record count)
 *   recordCount x varint gap       record i sits at delta d_i = d_(i-1) + 1 + gap_i (d_(-1) = -1),
 *                                  every d_i < span; offsets are still not stored, only deltas
 *
 * A dense batch covers exactly recordCount offsets, record i at delta i.
 *
 * The CRC does not cover batchLength; a damaged length shows up as a CRC mismatch, a truncation,
 * or (with `expect`) a size that differs from the index's.
 */

export const BATCH_VERSION = 1;
/** Bytes before the records section. */
export const BATCH_HEADER_BYTES = 40;
/** Bytes of the header after the batchLength field (counted in batchLength). */
const HEADER_AFTER_LENGTH = BATCH_HEADER_BYTES - 4;
/** Where the CRC'd part starts. */
const CRC_START = 8;
const COMPRESSION_MASK = 0x07;
const SPARSE = 0x08;
/** Cap on a records section's uncompressed size; bounds what a decoder will ever inflate. */
export const MAX_RECORDS_BYTES = 64 * 1024 * 1024;
const MAX_U32 = 0xffff_ffff;

/** What the index says a batch holds. */
export interface BatchExpectation {
  readonly partition: number;
  readonly recordCount: number;
}

/**
 * A batch ready to be written: everything but its position and CRC. It may hold the caller's records
 * (see `stored`): write it before they can change.
 */
export interface PreparedBatch {
  readonly partition: number;
  readonly compression: Compression;
  readonly recordCount: number;
  readonly span: number;
  readonly sparse: boolean;
  readonly minTimestamp: number;
  readonly maxTimestamp: number;
  readonly recordsLength: number;
  /**
   * The records section as stored (compressed, or with a sparse prefix), or, for a plain batch, what
   * {@link writeBatch} writes it from, straight into the segment.
   */
  readonly stored: Uint8Array | { readonly records: readonly LogRecord[]; readonly layout: RecordsLayout };
  /** Total encoded size, batchLength field included. */
  readonly byteLength: number;
}

/**
 * Validates one batch input and encodes (and compresses) its records section; an uncompressed dense
 * batch is only measured, and {@link writeBatch} writes its records from the input itself.
 */
export function prepareBatch(input: BatchInput, where: string): PreparedBatch {
  if (typeof input !== 'object' || input === null) {
    throw new InvalidArgumentError(`${where} must be a batch object`);
  }
  const { partition, records, compression } = input;
  if (typeof partition !== 'number' || !Number.isInteger(partition) || partition < 0 || partition > MAX_U32) {
    throw new InvalidArgumentError(
      `${where}.partition must be an integer in [0, ${MAX_U32}], got ${String(partition)}`,
    );
  }
  if (!isCompression(compression)) {
    throw new InvalidArgumentError(
      `${where}.compression must be 'none', 'gzip' or 'zstd', got ${String(compression)}`,
    );
  }
  if (!Array.isArray(records) || records.length === 0) {
    throw new InvalidArgumentError(`${where}.records must be a non-empty array`);
  }
  let minTimestamp = Number.POSITIVE_INFINITY;
  let maxTimestamp = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < records.length; i++) {
    const record: unknown = records[i];
    validateRecord(record, `${where}.records[${i}]`);
    if (record.timestamp < minTimestamp) minTimestamp = record.timestamp;
    if (record.timestamp > maxTimestamp) maxTimestamp = record.timestamp;
  }
  const placement = sparsePrefix(input, where);
  if (placement === undefined && compression === 'none') {
    // Nothing to compress or prefix: measured now, written once into the segment by writeBatch.
    const layout = measureRecords(records as readonly LogRecord[], minTimestamp);
    checkSectionSize(layout.total, where);
    return {
      partition,
      compression,
      recordCount: records.length,
      span: records.length,
      sparse: false,
      minTimestamp,
      maxTimestamp,
      recordsLength: layout.total,
      stored: { records: records as readonly LogRecord[], layout },
      byteLength: BATCH_HEADER_BYTES + layout.total,
    };
  }
  const encoded = encodeRecords(records as readonly LogRecord[], minTimestamp);
  const section = placement === undefined ? encoded : concat(placement.prefix, encoded);
  checkSectionSize(section.length, where);
  const stored = compress(compression, section);
  return {
    partition,
    compression,
    recordCount: records.length,
    span: placement?.span ?? records.length,
    sparse: placement !== undefined,
    minTimestamp,
    maxTimestamp,
    recordsLength: section.length,
    stored,
    byteLength: BATCH_HEADER_BYTES + stored.length,
  };
}

function checkSectionSize(length: number, where: string): void {
  if (length > MAX_RECORDS_BYTES) {
    throw new InvalidArgumentError(
      `${where} encodes to ${length} bytes of records, above the ${MAX_RECORDS_BYTES}-byte batch limit`,
    );
  }
}

/** The sparse prefix of a batch input, or undefined when its records sit at deltas 0, 1, 2, … */
function sparsePrefix(input: BatchInput, where: string): { prefix: Uint8Array; span: number } | undefined {
  if (input.sparse === undefined) return undefined;
  const { offsetDeltas, span } = input.sparse;
  const count = input.records.length;
  if (!Array.isArray(offsetDeltas) || offsetDeltas.length !== count) {
    throw new InvalidArgumentError(`${where}.sparse.offsetDeltas must hold one delta per record`);
  }
  if (!Number.isSafeInteger(span) || span < count) {
    throw new InvalidArgumentError(`${where}.sparse.span must be an integer ≥ the record count, got ${span}`);
  }
  const gaps: number[] = [];
  let previous = -1;
  for (const delta of offsetDeltas) {
    if (!Number.isSafeInteger(delta) || delta <= previous || delta >= span) {
      throw new InvalidArgumentError(
        `${where}.sparse.offsetDeltas must increase strictly within [0, ${span}), got ${String(delta)} after ${previous}`,
      );
    }
    gaps.push(delta - previous - 1);
    previous = delta;
  }
  if (span === count) return undefined; // no hole: dense
  const prefix = new Uint8Array(varintSize(span) + gaps.reduce((n, g) => n + varintSize(g), 0));
  let pos = writeVarint(prefix, 0, span);
  for (const gap of gaps) pos = writeVarint(prefix, pos, gap);
  return { prefix, span };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** Reads a sparse prefix: the span, the deltas, and where the records start. */
function readSparsePrefix(section: Uint8Array, count: number) {
  const r = new ByteReader(section);
  const span = readVarint(r, 'sparse batch span');
  const offsetDeltas: number[] = [];
  let previous = -1;
  for (let i = 0; i < count; i++) {
    previous += 1 + readVarint(r, `sparse batch gap ${i}`);
    if (previous >= span) {
      throw new CorruptSegmentError(
        `sparse batch record ${i} at delta ${previous} is outside its span ${span}`,
      );
    }
    offsetDeltas.push(previous);
  }
  if (span === count) throw new CorruptSegmentError('sparse batch has no hole (it must be written dense)');
  return { span, offsetDeltas, start: r.pos };
}

/** Writes a prepared batch at `offset` of `out` (which has room for it), CRC included. */
export function writeBatch(out: Uint8Array, offset: number, batch: PreparedBatch): void {
  writeU32(out, offset, batch.byteLength - 4);
  out[offset + 8] = BATCH_VERSION;
  out[offset + 9] = COMPRESSION_CODE[batch.compression] | (batch.sparse ? SPARSE : 0);
  writeU16(out, offset + 10, 0);
  writeU32(out, offset + 12, batch.partition);
  writeU32(out, offset + 16, batch.recordCount);
  writeU64(out, offset + 20, batch.minTimestamp);
  writeU64(out, offset + 28, batch.maxTimestamp);
  writeU32(out, offset + 36, batch.recordsLength);
  const stored = batch.stored;
  if (stored instanceof Uint8Array) out.set(stored, offset + BATCH_HEADER_BYTES);
  else writeRecords(out, offset + BATCH_HEADER_BYTES, stored.records, batch.minTimestamp, stored.layout);
  writeU32(out, offset + 4, crc32c(out.subarray(offset + CRC_START, offset + batch.byteLength)));
}

/**
 * One batch on its own (what a fetch sends when a stored batch is larger than the reader asked for:
 * the records it needs, re-encoded). Throws InvalidArgumentError for bad input, like encodeSegment.
 *
 * @example
 * const bytes = encodeBatch({ partition: 0, compression: 'none', records });
 * decodeBatch(bytes).records.length === records.length
 */
export function encodeBatch(input: BatchInput): Uint8Array {
  const prepared = prepareBatch(input, 'batch');
  const out = new Uint8Array(prepared.byteLength);
  writeBatch(out, 0, prepared);
  return out;
}

/**
 * The total size (batchLength field included) of the batch starting at `offset`, checked to be
 * plausible and to fit in `bytes`.
 */
export function batchExtent(bytes: Uint8Array, offset: number): number {
  const available = bytes.length - offset;
  if (available < 4) {
    throw new CorruptSegmentError(`truncated batch: ${available} bytes, the length field alone needs 4`);
  }
  const batchLength = readU32(bytes, offset);
  if (batchLength < HEADER_AFTER_LENGTH + MIN_RECORD_BYTES) {
    throw new CorruptSegmentError(`batch length ${batchLength} is below the smallest possible batch`);
  }
  if (batchLength + 4 > available) {
    throw new CorruptSegmentError(
      `truncated batch: it declares ${batchLength + 4} bytes, ${available} available`,
    );
  }
  return batchLength + 4;
}

/**
 * Decodes the batch at the start of `bytes`; may throw anything (the public wrapper converts).
 * Trailing bytes after the batch are ignored here; callers decide whether they are allowed.
 */
export function decodeBatchUnchecked(bytes: Uint8Array, expect?: BatchExpectation): DecodedBatch {
  const size = batchExtent(bytes, 0);
  const stored = readU32(bytes, 4);
  const computed = crc32c(bytes.subarray(CRC_START, size));
  if (stored !== computed) {
    throw new CorruptSegmentError(
      `batch CRC32C mismatch: stored 0x${stored.toString(16).padStart(8, '0')}, computed 0x${computed.toString(16).padStart(8, '0')}`,
    );
  }
  const r = new ByteReader(bytes, CRC_START, size);
  const version = r.u8('batch format version');
  if (version !== BATCH_VERSION) {
    throw new CorruptSegmentError(
      `unsupported batch format version ${version} (this reader knows ${BATCH_VERSION})`,
    );
  }
  const attributes = r.u8('batch attributes');
  const compression = compressionFromCode(attributes & COMPRESSION_MASK);
  if (compression === undefined || (attributes & ~(COMPRESSION_MASK | SPARSE)) !== 0) {
    throw new CorruptSegmentError(`unknown batch attributes 0x${attributes.toString(16)}`);
  }
  const reserved = r.u16('batch reserved field');
  if (reserved !== 0) {
    throw new CorruptSegmentError(`batch reserved field is ${reserved}, expected 0`);
  }
  const partition = r.u32('batch partition');
  const recordCount = r.u32('batch record count');
  const minTimestamp = r.u64Safe('batch minTimestamp');
  const maxTimestamp = r.u64Safe('batch maxTimestamp');
  const recordsLength = r.u32('batch records length');
  if (recordCount === 0) {
    throw new CorruptSegmentError('batch has no records');
  }
  if (expect !== undefined && partition !== expect.partition) {
    throw new CorruptSegmentError(`batch is for partition ${partition}, expected ${expect.partition}`);
  }
  if (minTimestamp > maxTimestamp) {
    throw new CorruptSegmentError(`batch minTimestamp ${minTimestamp} is after maxTimestamp ${maxTimestamp}`);
  }
  if (recordsLength > MAX_RECORDS_BYTES) {
    throw new CorruptSegmentError(
      `batch records length ${recordsLength} exceeds the ${MAX_RECORDS_BYTES}-byte limit`,
    );
  }
  if (recordCount > recordsLength / MIN_RECORD_BYTES) {
    throw new CorruptSegmentError(`batch declares ${recordCount} records in only ${recordsLength} bytes`);
  }
  const section = decompress(compression, r.take(r.remaining, 'batch records'), recordsLength);
  const sparse = (attributes & SPARSE) !== 0 ? readSparsePrefix(section, recordCount) : undefined;
  const span = sparse?.span ?? recordCount;
  if (expect !== undefined && span !== expect.recordCount) {
    throw new CorruptSegmentError(
      sparse === undefined
        ? `batch holds ${recordCount} records, expected ${expect.recordCount}`
        : `sparse batch covers ${span} offsets, expected ${expect.recordCount}`,
    );
  }
  const records = decodeRecords(
    section.subarray(sparse?.start ?? 0),
    recordCount,
    minTimestamp,
    maxTimestamp,
  );
  const base = { partition, compression, records, span, minTimestamp, maxTimestamp };
  return sparse === undefined ? base : { ...base, offsetDeltas: sparse.offsetDeltas };
}

/** Any error as a CorruptSegmentError, prefixed with `context` when given. */
export function asCorrupt(error: unknown, context?: string): CorruptSegmentError {
  if (error instanceof CorruptSegmentError && context === undefined) {
    return error;
  }
  const message = error instanceof Error ? error.message : String(error);
  return new CorruptSegmentError(context === undefined ? message : `${context}: ${message}`, {
    cause: error,
  });
}

/**
 * Decodes exactly one batch from bytes that start at the batch's first byte (what a ranged GET
 * returns), verifying its CRC32C and structure. With `expect` (from the index), also verifies the
 * partition and record count and that the batch is exactly `bytes.length` long. Throws only
 * {@link CorruptSegmentError}.
 *
 * @example
 * const { bytes, batches } = encodeSegment([{ partition: 0, records, compression: 'none' }]);
 * const loc = batches[0];
 * decodeBatch(bytes.subarray(loc.byteOffset, loc.byteOffset + loc.byteLength), { partition: 0, recordCount: records.length });
 */
export function decodeBatch(bytes: Uint8Array, expect?: BatchExpectation): DecodedBatch {
  try {
    if (!(bytes instanceof Uint8Array)) {
      throw new CorruptSegmentError('batch bytes must be a Uint8Array');
    }
    if (expect !== undefined) {
      const size = batchExtent(bytes, 0);
      if (size !== bytes.length) {
        throw new CorruptSegmentError(`batch is ${size} bytes but ${bytes.length} were given`);
      }
    }
    return decodeBatchUnchecked(bytes, expect);
  } catch (error) {
    throw asCorrupt(error);
  }
}

/**
 * Where record `index` of a decoded batch sits, relative to the batch's base offset.
 *
 * @example
 * batch.records.map((_, i) => entry.baseOffset + offsetDelta(batch, i))
 */
export function offsetDelta(batch: DecodedBatch, index: number): number {
  return batch.offsetDeltas === undefined ? index : (batch.offsetDeltas[index] as number);
}
