import { CorruptSegmentError, InvalidArgumentError } from '../errors.ts';
import { ByteReader } from './reader.ts';
import type { LogRecord } from './types.ts';
import { readVarint, varintSize, writeVarint } from './varint.ts';

/*
 * Records section, format v1: exactly `recordCount` records back to back, nothing before, between
 * or after them. Offsets are not stored (the index maps them).
 *
 *   record := varint bodyLength, body              body is exactly bodyLength bytes
 *   body   := u8     flags                         bit 0 key present, bit 1 value is JSON, bit 2 value
 *                                                  is null (a tombstone; bit 1 then zero), bits 3-7 zero
 *             varint timestampDelta                timestamp - batch minTimestamp (<= max - min)
 *             [varint keyLength, key bytes]        only when flags bit 0 is set
 *             [varint valueLength, value bytes]    absent when flags bit 2 is set
 *             varint headerCount
 *             headerCount x (varint nameLength, UTF-8 name bytes, varint valueLength, value bytes)
 *
 * Varints are canonical unsigned LEB128 up to 2^53 - 1 (see varint.ts). The smallest record is
 * 4 bytes (length, flags, delta, no headers: a tombstone without a key). The batch's minTimestamp and
 * maxTimestamp must be the smallest and largest record timestamps exactly.
 */

const FLAG_KEY = 0x01;
const FLAG_JSON = 0x02;
const FLAG_NULL = 0x04;
const KNOWN_FLAGS = FLAG_KEY | FLAG_JSON | FLAG_NULL;

/** The smallest encoded record: bodyLength, flags, timestampDelta, headerCount (a null value). */
export const MIN_RECORD_BYTES = 4;
/** The smallest encoded header: nameLength and valueLength of an empty name and value. */
const MIN_HEADER_BYTES = 2;

const utf8Encoder = new TextEncoder();
/** Fatal: invalid UTF-8 is corruption. ignoreBOM: a leading U+FEFF is part of the name. */
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The size a record adds to a fetch response budget: key + value + header name (UTF-8) and value
 * bytes. Used for maxBytes accounting; it is not the encoded size.
 *
 * @example recordSize({ key: null, value: new Uint8Array(3), valueIsJson: false, headers: [['h', new Uint8Array(2)]], timestamp: 0 }) // 6
 */
export function recordSize(r: LogRecord): number {
  let size = (r.key === null ? 0 : r.key.length) + (r.value === null ? 0 : r.value.length);
  for (const [name, value] of r.headers) {
    size += Buffer.byteLength(name, 'utf8') + value.length;
  }
  return size;
}

function invalid(where: string, message: string): InvalidArgumentError {
  return new InvalidArgumentError(`${where}${message}`);
}

/** Throws InvalidArgumentError unless `r` is a well-formed LogRecord; `where` prefixes messages. */
export function validateRecord(r: unknown, where: string): asserts r is LogRecord {
  if (typeof r !== 'object' || r === null) {
    throw invalid(where, ' must be a record object');
  }
  const { key, value, valueIsJson, headers, timestamp } = r as Record<string, unknown>;
  if (key !== null && !(key instanceof Uint8Array)) {
    throw invalid(where, '.key must be a Uint8Array or null');
  }
  if (value !== null && !(value instanceof Uint8Array)) {
    throw invalid(where, '.value must be a Uint8Array or null');
  }
  if (typeof valueIsJson !== 'boolean') {
    throw invalid(where, '.valueIsJson must be a boolean');
  }
  if (value === null && valueIsJson) {
    throw invalid(where, '.valueIsJson must be false for a null value (a tombstone)');
  }
  if (typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw invalid(where, `.timestamp must be a safe integer >= 0, got ${String(timestamp)}`);
  }
  if (!Array.isArray(headers)) {
    throw invalid(where, '.headers must be an array of [name, value] pairs');
  }
  for (let h = 0; h < headers.length; h++) {
    const header: unknown = headers[h];
    if (!Array.isArray(header) || header.length !== 2) {
      throw invalid(where, `.headers[${h}] must be a [name, value] pair`);
    }
    const [name, headerValue] = header as [unknown, unknown];
    if (typeof name !== 'string' || !name.isWellFormed()) {
      throw invalid(where, `.headers[${h}] name must be a well-formed string (no lone surrogates)`);
    }
    if (!(headerValue instanceof Uint8Array)) {
      throw invalid(where, `.headers[${h}] value must be a Uint8Array`);
    }
  }
}

/** The sizes a records section is written from (see {@link measureRecords}). */
export interface RecordsLayout {
  /** Each record's body length. */
  readonly bodySizes: readonly number[];
  /** Every header name, UTF-8, in record and header order. */
  readonly names: readonly Uint8Array[];
  /** The section's length in bytes. */
  readonly total: number;
}

/** Measures validated records as a records section. `minTimestamp` must be the smallest timestamp. */
export function measureRecords(records: readonly LogRecord[], minTimestamp: number): RecordsLayout {
  const bodySizes = new Array<number>(records.length);
  const names: Uint8Array[] = [];
  let total = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i] as LogRecord;
    let body = 1 + varintSize(r.timestamp - minTimestamp);
    if (r.key !== null) {
      body += varintSize(r.key.length) + r.key.length;
    }
    if (r.value !== null) body += varintSize(r.value.length) + r.value.length;
    body += varintSize(r.headers.length);
    for (const [name, value] of r.headers) {
      const encoded = utf8Encoder.encode(name);
      names.push(encoded);
      body += varintSize(encoded.length) + encoded.length + varintSize(value.length) + value.length;
    }
    bodySizes[i] = body;
    total += varintSize(body) + body;
  }
  return { bodySizes, names, total };
}

/**
 * Writes measured records as a records section into `out` at `pos` (which has `layout.total` bytes of
 * room): straight into a segment, with no section of its own to copy. The records must be the ones
 * measured, unchanged; it throws if what it wrote is not exactly `layout.total` bytes.
 */
export function writeRecords(
  out: Uint8Array,
  pos: number,
  records: readonly LogRecord[],
  minTimestamp: number,
  layout: RecordsLayout,
): void {
  const end = pos + layout.total;
  let nameIndex = 0;
  for (let i = 0; i < layout.bodySizes.length; i++) {
    const r = records[i] as LogRecord;
    pos = writeVarint(out, pos, layout.bodySizes[i] as number);
    out[pos++] =
      (r.key === null ? 0 : FLAG_KEY) | (r.valueIsJson ? FLAG_JSON : 0) | (r.value === null ? FLAG_NULL : 0);
    pos = writeVarint(out, pos, r.timestamp - minTimestamp);
    if (r.key !== null) {
      pos = writeVarint(out, pos, r.key.length);
      out.set(r.key, pos);
      pos += r.key.length;
    }
    if (r.value !== null) {
      pos = writeVarint(out, pos, r.value.length);
      out.set(r.value, pos);
      pos += r.value.length;
    }
    pos = writeVarint(out, pos, r.headers.length);
    for (const [, value] of r.headers) {
      const name = layout.names[nameIndex++] as Uint8Array;
      pos = writeVarint(out, pos, name.length);
      out.set(name, pos);
      pos += name.length;
      pos = writeVarint(out, pos, value.length);
      out.set(value, pos);
      pos += value.length;
    }
  }
  // The records changed since they were measured (a caller's bytes are read twice): never a batch
  // whose CRC covers bytes its header does not describe.
  if (pos !== end)
    throw new Error(
      `records changed while encoded: wrote ${pos - (end - layout.total)} of ${layout.total} bytes`,
    );
}

/**
 * Encodes validated records as a records section. `minTimestamp` must be the smallest timestamp.
 * Sizes are computed first so the section is written into one exactly-sized buffer.
 */
export function encodeRecords(records: readonly LogRecord[], minTimestamp: number): Uint8Array {
  const layout = measureRecords(records, minTimestamp);
  const out = new Uint8Array(layout.total);
  writeRecords(out, 0, records, minTimestamp, layout);
  return out;
}

/**
 * Decodes a records section that must hold exactly `count` records whose timestamps lie in
 * [minTimestamp, maxTimestamp] and reach both ends. Keys, values and header values are views into
 * `section`, which the caller must own (not alias caller-visible input).
 */
export function decodeRecords(
  section: Uint8Array,
  count: number,
  minTimestamp: number,
  maxTimestamp: number,
): LogRecord[] {
  const r = new ByteReader(section);
  const span = maxTimestamp - minTimestamp;
  const records: LogRecord[] = [];
  let sawMin = false;
  let sawMax = false;
  for (let i = 0; i < count; i++) {
    const what = `record ${i}`;
    const bodyLength = readVarint(r, `${what} length`);
    r.need(bodyLength, `${what} body`);
    const sectionEnd = r.end;
    const bodyEnd = r.pos + bodyLength;
    r.end = bodyEnd;

    const flags = r.u8(`${what} flags`);
    if ((flags & ~KNOWN_FLAGS) !== 0 || (flags & (FLAG_NULL | FLAG_JSON)) === (FLAG_NULL | FLAG_JSON)) {
      throw new CorruptSegmentError(`${what} has unknown flags 0x${flags.toString(16)}`);
    }
    const delta = readVarint(r, `${what} timestamp delta`);
    if (delta > span) {
      throw new CorruptSegmentError(`${what} timestamp delta ${delta} exceeds the batch's span ${span}`);
    }
    if (delta === 0) sawMin = true;
    if (delta === span) sawMax = true;
    const key = (flags & FLAG_KEY) !== 0 ? r.take(readVarint(r, `${what} key length`), `${what} key`) : null;
    const value =
      (flags & FLAG_NULL) !== 0 ? null : r.take(readVarint(r, `${what} value length`), `${what} value`);
    const headerCount = readVarint(r, `${what} header count`);
    if (headerCount * MIN_HEADER_BYTES > r.remaining) {
      throw new CorruptSegmentError(`${what} declares ${headerCount} headers in ${r.remaining} bytes`);
    }
    const headers: (readonly [string, Uint8Array])[] = [];
    for (let h = 0; h < headerCount; h++) {
      const nameBytes = r.take(readVarint(r, `${what} header ${h} name length`), `${what} header ${h} name`);
      let name: string;
      try {
        name = utf8Decoder.decode(nameBytes);
      } catch (cause) {
        throw new CorruptSegmentError(`${what} header ${h} name is not valid UTF-8`, { cause });
      }
      const headerValue = r.take(
        readVarint(r, `${what} header ${h} value length`),
        `${what} header ${h} value`,
      );
      headers.push([name, headerValue]);
    }
    if (r.pos !== bodyEnd) {
      throw new CorruptSegmentError(`${what} body has ${bodyEnd - r.pos} unread bytes`);
    }
    r.end = sectionEnd;
    records.push({
      key,
      value,
      valueIsJson: (flags & FLAG_JSON) !== 0,
      headers,
      timestamp: minTimestamp + delta,
    });
  }
  if (r.pos !== section.length) {
    throw new CorruptSegmentError(
      `records section has ${section.length - r.pos} bytes after record ${count - 1}`,
    );
  }
  if (!sawMin || !sawMax) {
    throw new CorruptSegmentError(
      `no record has the batch's ${sawMin ? 'maxTimestamp' : 'minTimestamp'} ${sawMin ? maxTimestamp : minTimestamp}`,
    );
  }
  return records;
}
