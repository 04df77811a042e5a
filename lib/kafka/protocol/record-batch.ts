import { gunzipSync, gzipSync, zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import { InvalidArgumentError } from '../../core/errors.ts';
import { crc32c } from '../../core/segment/crc.ts';
import {
  CorruptRecordBatchError,
  UnsupportedCompressionTypeError,
  UnsupportedRecordFormatError,
} from '../errors.ts';
import { decompressLz4, decompressSnappy } from './compression.ts';
import { describe, KafkaReader, KafkaWriter, varintBytes } from './primitives.ts';

/*
 * Kafka record batch, magic 2 (what a `records` field of Produce and Fetch holds: zero or more of
 * these back to back). Fixed-width integers are big-endian.
 *
 *   offset  size  field
 *        0     8  baseOffset            int64; the first record's offset (the producer sends 0)
 *        8     4  batchLength           int32; bytes after this field (49 + records section)
 *       12     4  partitionLeaderEpoch  int32
 *       16     1  magic                 int8; 2 (0 and 1 are the older message sets, not supported)
 *       17     4  crc                   uint32; CRC32C (Castagnoli) of bytes [21, 12 + batchLength)
 *       21     2  attributes            int16; bits 0-2 compression (0 none, 1 gzip, 2 snappy, 3 lz4,
 *                                       4 zstd); bit 3 timestamp type (0 create, 1 log append);
 *                                       bit 4 transactional; bit 5 control; bit 6 has delete horizon
 *       23     4  lastOffsetDelta       int32; offset of the last record minus baseOffset
 *       27     8  baseTimestamp         int64; ms (with bit 6, the delete horizon instead)
 *       35     8  maxTimestamp          int64; ms
 *       43     8  producerId            int64; -1 when not idempotent
 *       51     2  producerEpoch         int16; -1 when not idempotent
 *       53     4  baseSequence          int32; -1 when not idempotent
 *       57     4  recordCount           int32
 *       61     n  records               recordCount records; when compressed, one gzip member /
 *                                       snappy stream (xerial framing, or a bare block) / LZ4 frame /
 *                                       zstd frame of all of them (the header stays uncompressed;
 *                                       snappy and LZ4 layouts in compression.ts)
 *
 *   record:  varint    length            bytes of the record after this field
 *            int8      attributes        unused, 0
 *            varlong   timestampDelta    timestamp - baseTimestamp
 *            varint    offsetDelta       offset - baseOffset
 *            varint    keyLength         -1 for a null key, then the key bytes
 *            varint    valueLength       -1 for a null value, then the value bytes
 *            varint    headerCount       then each header:
 *                        varint keyLength, the key (UTF-8, not null),
 *                        varint valueLength (-1 for null), the value bytes
 *
 * (varint/varlong: zigzag, see primitives.ts.) Decoding checks the magic, the CRC (before
 * decompressing anything), each record's length, the record count, and that nothing is left over.
 */

/** Bytes before the records section. */
export const RECORD_BATCH_HEADER_BYTES = 61;
/** Where the CRC'd part starts. */
const CRC_START = 21;
/** batchLength counts everything after byte 12. */
const LENGTH_END = 12;
const COMPRESSION_MASK = 0x07;
const TIMESTAMP_TYPE = 0x08;
const TRANSACTIONAL = 0x10;
const CONTROL = 0x20;
const DELETE_HORIZON = 0x40;
/** Cap on a batch's records section after decompression; bounds what a decoder inflates. */
export const MAX_UNCOMPRESSED_RECORDS_BYTES = 64 * 1024 * 1024;

export type KafkaCompression = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
const COMPRESSION_BY_CODE: readonly KafkaCompression[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

export interface KafkaRecordHeader {
  readonly key: string;
  readonly value: Uint8Array | null;
}

export interface KafkaRecord {
  /** Unused by Kafka; 0. */
  readonly attributes: number;
  /** ms from the batch's baseTimestamp (a varlong on the wire; decoding rejects unsafe integers). */
  readonly timestampDelta: number;
  readonly offsetDelta: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: readonly KafkaRecordHeader[];
}

export interface RecordBatch {
  readonly baseOffset: bigint;
  readonly partitionLeaderEpoch: number;
  readonly compression: KafkaCompression;
  readonly timestampType: 'create' | 'logAppend';
  readonly transactional: boolean;
  readonly control: boolean;
  /** Attribute bit 6: baseTimestamp holds the delete horizon of a compacted batch. */
  readonly hasDeleteHorizon: boolean;
  readonly lastOffsetDelta: number;
  readonly baseTimestamp: bigint;
  readonly maxTimestamp: bigint;
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly records: readonly KafkaRecord[];
}

/** What {@link encodeRecordBatch} needs; flags default to false, `attributes` of records to 0. */
export interface RecordBatchInput {
  readonly baseOffset: bigint | number;
  readonly partitionLeaderEpoch?: number;
  readonly compression: KafkaCompression;
  readonly timestampType?: 'create' | 'logAppend';
  readonly transactional?: boolean;
  readonly control?: boolean;
  readonly hasDeleteHorizon?: boolean;
  /** Defaults to the last record's offsetDelta. */
  readonly lastOffsetDelta?: number;
  readonly baseTimestamp: bigint | number;
  readonly maxTimestamp: bigint | number;
  /** -1 (the default) when the producer is not idempotent. */
  readonly producerId?: bigint | number;
  readonly producerEpoch?: number;
  readonly baseSequence?: number;
  readonly records: readonly (Omit<KafkaRecord, 'attributes'> & { readonly attributes?: number })[];
}

function compressionCode(compression: KafkaCompression): number {
  const code = COMPRESSION_BY_CODE.indexOf(compression);
  if (code === -1) {
    throw new InvalidArgumentError(
      `record batch compression must be one of ${COMPRESSION_BY_CODE.join(', ')}, got ${describe(compression)}`,
    );
  }
  return code;
}

function compressRecords(compression: KafkaCompression, bytes: Uint8Array): Uint8Array {
  switch (compression) {
    case 'none':
      return bytes;
    case 'gzip':
      return gzipSync(bytes);
    case 'zstd':
      return zstdCompressSync(bytes);
    default:
      throw new UnsupportedCompressionTypeError(compression);
  }
}

function decompressRecords(compression: KafkaCompression, bytes: Uint8Array, where: string): Uint8Array {
  if (compression === 'none') return bytes;
  if (compression === 'snappy') return decompressSnappy(bytes, MAX_UNCOMPRESSED_RECORDS_BYTES, where);
  if (compression === 'lz4') return decompressLz4(bytes, MAX_UNCOMPRESSED_RECORDS_BYTES, where);
  try {
    const options = { maxOutputLength: MAX_UNCOMPRESSED_RECORDS_BYTES };
    const out = compression === 'gzip' ? gunzipSync(bytes, options) : zstdDecompressSync(bytes, options);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new CorruptRecordBatchError(`${where}: ${compression} records do not decompress: ${reason}`, {
      cause,
    });
  }
}

/**
 * Encodes one record batch (magic 2) with its CRC32C. Compression none, gzip or zstd; snappy and lz4
 * throw {@link UnsupportedCompressionTypeError}. Uncompressed, each key, value and header is copied once,
 * straight into the batch (the buffer is sized from them up front); compressed, the records section is
 * written first, then its compressed bytes after the header.
 *
 * @example
 * encodeRecordBatch({
 *   baseOffset: 0n, compression: 'zstd', baseTimestamp: 1700000000000n, maxTimestamp: 1700000000000n,
 *   records: [{ timestampDelta: 0, offsetDelta: 0, key: null, value: new TextEncoder().encode('hi'), headers: [] }],
 * });
 */
export function encodeRecordBatch(batch: RecordBatchInput): Uint8Array {
  if (batch.compression !== 'none' && batch.compression !== 'gzip' && batch.compression !== 'zstd') {
    throw new UnsupportedCompressionTypeError(batch.compression);
  }
  const code = compressionCode(batch.compression);
  let estimate = 0;
  for (const r of batch.records) {
    estimate += 24 + (r.key?.length ?? 0) + (r.value?.length ?? 0) + 16 * (r.headers?.length ?? 0);
  }
  const compressed = batch.compression !== 'none';
  const w = new KafkaWriter(RECORD_BATCH_HEADER_BYTES + (compressed ? 64 : estimate));
  w.reserve(RECORD_BATCH_HEADER_BYTES);
  const records = compressed ? new KafkaWriter(estimate) : w;
  for (let i = 0; i < batch.records.length; i++) {
    writeRecord(records, batch.records[i] as RecordBatchInput['records'][number], `records[${i}]`);
  }
  if (compressed) w.raw(compressRecords(batch.compression, records.finish()));
  const attributes =
    code |
    (batch.timestampType === 'logAppend' ? TIMESTAMP_TYPE : 0) |
    (batch.transactional === true ? TRANSACTIONAL : 0) |
    (batch.control === true ? CONTROL : 0) |
    (batch.hasDeleteHorizon === true ? DELETE_HORIZON : 0);
  const last = batch.records.at(-1);
  const out = w.finish();
  const h = new KafkaWriter(RECORD_BATCH_HEADER_BYTES);
  h.int64(batch.baseOffset, 'baseOffset');
  h.int32(out.length - LENGTH_END, 'batchLength');
  h.int32(batch.partitionLeaderEpoch ?? -1, 'partitionLeaderEpoch');
  h.int8(2, 'magic');
  const crcAt = h.reserve(4);
  h.int16(attributes, 'attributes');
  h.int32(batch.lastOffsetDelta ?? last?.offsetDelta ?? 0, 'lastOffsetDelta');
  h.int64(batch.baseTimestamp, 'baseTimestamp');
  h.int64(batch.maxTimestamp, 'maxTimestamp');
  h.int64(batch.producerId ?? -1, 'producerId');
  h.int16(batch.producerEpoch ?? -1, 'producerEpoch');
  h.int32(batch.baseSequence ?? -1, 'baseSequence');
  h.int32(batch.records.length, 'recordCount');
  out.set(h.finish(), 0);
  new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(crcAt, crc32c(out.subarray(CRC_START)));
  return out;
}

/** A record: its length, then its fields, written in place (the length is computed first, not copied). */
function writeRecord(w: KafkaWriter, record: RecordBatchInput['records'][number], what: string): void {
  const attributes = record.attributes ?? 0;
  const { timestampDelta, offsetDelta, key, value, headers } = record;
  checkVarBytes(key, `${what}.key`);
  checkVarBytes(value, `${what}.value`);
  if (!Number.isSafeInteger(timestampDelta)) w.varlong(timestampDelta, `${what}.timestampDelta`);
  if (!Number.isInteger(offsetDelta)) w.varint(offsetDelta, `${what}.offsetDelta`);
  const headerKeys: Uint8Array[] = new Array(headers.length);
  let length =
    1 +
    varintBytes(timestampDelta) +
    varintBytes(offsetDelta) +
    varBytesLength(key) +
    varBytesLength(value) +
    varintBytes(headers.length);
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i] as KafkaRecordHeader;
    if (typeof h.key !== 'string') {
      throw new InvalidArgumentError(`${what}.headers[${i}].key must be a string, got ${describe(h.key)}`);
    }
    const k = utf8.encode(h.key);
    checkVarBytes(h.value, `${what}.headers[${i}].value`);
    headerKeys[i] = k;
    length += varBytesLength(k) + varBytesLength(h.value);
  }
  w.varint(length, `${what} length`);
  w.int8(attributes, `${what}.attributes`);
  w.varlong(timestampDelta, `${what}.timestampDelta`);
  w.varint(offsetDelta, `${what}.offsetDelta`);
  writeVarBytes(w, key, `${what}.key`);
  writeVarBytes(w, value, `${what}.value`);
  w.varint(headers.length, `${what}.headers`);
  for (let i = 0; i < headers.length; i++) {
    writeVarBytes(w, headerKeys[i] as Uint8Array, `${what}.headers[${i}].key`);
    writeVarBytes(w, (headers[i] as KafkaRecordHeader).value, `${what}.headers[${i}].value`);
  }
}

const utf8 = new TextEncoder();

function checkVarBytes(v: Uint8Array | null, what: string): void {
  if (v !== null && !(v instanceof Uint8Array)) {
    throw new InvalidArgumentError(`${what} must be a Uint8Array or null`);
  }
}

/** Bytes of a varint length and the bytes (-1 and nothing for null). */
function varBytesLength(v: Uint8Array | null): number {
  return v === null ? 1 : varintBytes(v.length) + v.length;
}

function writeVarBytes(w: KafkaWriter, v: Uint8Array | null, what: string): void {
  if (v === null) {
    w.varint(-1, what);
    return;
  }
  w.varint(v.length, what);
  w.raw(v);
}

/**
 * Decodes one record batch starting at `offset` of `bytes`, returning it and where the next one
 * starts. Throws {@link CorruptRecordBatchError} (bad CRC, truncated, inconsistent lengths),
 * {@link UnsupportedRecordFormatError} (magic 0 or 1) or {@link UnsupportedCompressionTypeError}.
 * Keys, values and header values are views of `bytes` (or of the decompressed section), not copies:
 * do not change `bytes` while the batch is in use.
 *
 * @example const { batch, next } = decodeRecordBatch(bytes); batch.records[0]?.value;
 */
export function decodeRecordBatch(bytes: Uint8Array, offset = 0): { batch: RecordBatch; next: number } {
  const where = `record batch at byte ${offset}`;
  const fail = (message: string) => new CorruptRecordBatchError(`${where}: ${message}`);
  const r = new KafkaReader(bytes, offset, bytes.length, fail);
  if (r.remaining < RECORD_BATCH_HEADER_BYTES) {
    throw fail(`${r.remaining} bytes, shorter than the ${RECORD_BATCH_HEADER_BYTES}-byte batch header`);
  }
  const baseOffset = r.int64('baseOffset');
  const batchLength = r.int32('batchLength');
  const partitionLeaderEpoch = r.int32('partitionLeaderEpoch');
  const magic = r.int8('magic');
  if (magic !== 2) {
    throw new UnsupportedRecordFormatError(
      `${where} has magic ${magic}; only magic 2 (record batch v2) is supported`,
    );
  }
  const end = offset + LENGTH_END + batchLength;
  if (batchLength < RECORD_BATCH_HEADER_BYTES - LENGTH_END || end > bytes.length) {
    throw fail(
      `batchLength ${batchLength} does not fit the ${bytes.length - offset - LENGTH_END} bytes after it`,
    );
  }
  const crc = r.uint32('crc');
  const computed = crc32c(bytes.subarray(offset + CRC_START, end));
  if (crc !== computed) {
    throw fail(`CRC32C is 0x${hex(crc)}, the bytes give 0x${hex(computed)}`);
  }
  const attributes = r.int16('attributes');
  const compression = COMPRESSION_BY_CODE[attributes & COMPRESSION_MASK];
  if (compression === undefined) {
    throw new UnsupportedCompressionTypeError(`code ${attributes & COMPRESSION_MASK}`);
  }
  const lastOffsetDelta = r.int32('lastOffsetDelta');
  const baseTimestamp = r.int64('baseTimestamp');
  const maxTimestamp = r.int64('maxTimestamp');
  const producerId = r.int64('producerId');
  const producerEpoch = r.int16('producerEpoch');
  const baseSequence = r.int32('baseSequence');
  const recordCount = r.int32('recordCount');
  if (recordCount < 0) throw fail(`negative record count ${recordCount}`);
  const section = decompressRecords(compression, bytes.subarray(r.pos, end), where);
  const records = decodeRecords(new KafkaReader(section, 0, section.length, fail), recordCount);
  return {
    batch: {
      baseOffset,
      partitionLeaderEpoch,
      compression,
      timestampType: (attributes & TIMESTAMP_TYPE) === 0 ? 'create' : 'logAppend',
      transactional: (attributes & TRANSACTIONAL) !== 0,
      control: (attributes & CONTROL) !== 0,
      hasDeleteHorizon: (attributes & DELETE_HORIZON) !== 0,
      lastOffsetDelta,
      baseTimestamp,
      maxTimestamp,
      producerId,
      producerEpoch,
      baseSequence,
      records,
    },
    next: end,
  };
}

function decodeRecords(r: KafkaReader, count: number): KafkaRecord[] {
  if (count > r.remaining) throw r.fail(`record count ${count} in a ${r.remaining}-byte records section`);
  const records: KafkaRecord[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const what = `record ${i}`;
    const length = r.varint(`${what} length`);
    if (length < 0) throw r.fail(`${what}: negative length ${length}`);
    const start = r.take(length, `${what} (${length} bytes)`);
    const rr = new KafkaReader(r.bytes, start, start + length, r.fail);
    const attributes = rr.int8(`${what} attributes`);
    let delta = rr.safeVarlong(`${what} timestampDelta`);
    if (delta === undefined) {
      const big = rr.varlong(`${what} timestampDelta`);
      if (big > BigInt(Number.MAX_SAFE_INTEGER) || big < BigInt(Number.MIN_SAFE_INTEGER)) {
        throw r.fail(`${what}: timestampDelta ${big} is not a safe integer`);
      }
      delta = Number(big);
    }
    const offsetDelta = rr.varint(`${what} offsetDelta`);
    const key = readVarBytes(rr, `${what} key`);
    const value = readVarBytes(rr, `${what} value`);
    const headerCount = rr.varint(`${what} header count`);
    if (headerCount < 0 || headerCount > rr.remaining) {
      throw r.fail(`${what}: header count ${headerCount} in ${rr.remaining} bytes`);
    }
    const headers: KafkaRecordHeader[] = new Array(headerCount);
    for (let h = 0; h < headerCount; h++) {
      const keyLength = rr.varint(`${what} header ${h} key length`);
      if (keyLength < 0) throw r.fail(`${what}: header ${h} has a null key`);
      headers[h] = {
        key: rr.utf8(keyLength, `${what} header ${h} key`),
        value: readVarBytes(rr, `${what} header ${h} value`),
      };
    }
    if (rr.remaining !== 0)
      throw r.fail(`${what}: ${rr.remaining} bytes left over inside its declared length`);
    records[i] = { attributes, timestampDelta: delta, offsetDelta, key, value, headers };
  }
  if (r.remaining !== 0) throw r.fail(`${r.remaining} bytes left over after ${count} records`);
  return records;
}

function readVarBytes(r: KafkaReader, what: string): Uint8Array | null {
  const n = r.varint(`${what} length`);
  if (n < -1) throw r.fail(`${what}: length ${n}`);
  return n === -1 ? null : r.rawView(n, what);
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/**
 * Decodes every batch of a `records` field (batches back to back, nothing else). An empty or null
 * field has none.
 *
 * @example decodeRecordBatches(partition.records).flatMap((b) => b.records).length
 */
export function decodeRecordBatches(bytes: Uint8Array | null): RecordBatch[] {
  const out: RecordBatch[] = [];
  if (bytes === null) return out;
  let pos = 0;
  while (pos < bytes.length) {
    const { batch, next } = decodeRecordBatch(bytes, pos);
    out.push(batch);
    pos = next;
  }
  return out;
}
