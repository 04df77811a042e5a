import { InvalidArgumentError } from '../../core/errors.ts';
import { MalformedKafkaMessageError } from '../errors.ts';

/*
 * Kafka's primitive types (https://kafka.apache.org/protocol#protocol_types). Fixed-width integers
 * are big-endian two's complement; "classic" lengths and counts are signed, with -1 for null;
 * "compact" ones (flexible versions) are an unsigned varint of length + 1, with 0 for null.
 *
 *   type              bytes        layout / JavaScript value
 *   int8/16/32        1/2/4        number
 *   int64             8            bigint (a safe-integer number is accepted when encoding)
 *   uint16/uint32     2/4          number
 *   float64           8            IEEE 754 binary64, number
 *   bool              1            0 or 1 (any non-zero byte reads as true, as Kafka does)
 *   unsigned varint   1-5          LEB128 of a uint32: 7 bits a byte, low group first, high bit = more
 *   varint            1-5          zigzag int32, (n << 1) ^ (n >> 31), then as an unsigned varint
 *   varlong           1-10         zigzag int64, bigint
 *   uuid              16           the 128 bits; JavaScript value is Kafka's text form, base64url
 *                                  without padding (22 characters; all zero is "AAAAAAAAAAAAAAAAAAAAAA")
 *   string            int16 n, n   UTF-8; nullable string: n = -1 is null
 *   compact string    uvarint n+1  then n bytes UTF-8; 0 is null
 *   bytes             int32 n, n   nullable bytes: n = -1 is null; compact: uvarint n+1, 0 is null
 *   records           as bytes     the raw bytes of zero or more record batches (record-batch.ts)
 *   array             int32 n      then n elements; -1 is null; compact array: uvarint n+1, 0 is null
 *
 * Examples: varint 0 -> 00, -1 -> 01, 1 -> 02, 63 -> 7e, -64 -> 7f, 64 -> 80 01, 2^31-1 -> fe ff ff ff 0f;
 * unsigned varint 300 -> ac 02; compact string "ab" -> 03 61 62; string null -> ff ff.
 */

/** The all-zero UUID, Kafka's `Uuid.ZERO_UUID`, in Kafka's base64url text form. */
export const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';

const MAX_UINT32 = 0xffff_ffff;
const utf8Decoder = new TextDecoder();
const utf8Encoder = new TextEncoder();

/** Builds the error a reader throws; record batches use their own error class. */
export type FailFactory = (message: string) => Error;

const malformed: FailFactory = (message) => new MalformedKafkaMessageError(message);

/**
 * Reads primitives from `bytes[pos, end)`, throwing the `fail` error (by default
 * {@link MalformedKafkaMessageError}) on anything truncated or out of range.
 *
 * @example
 * const r = new KafkaReader(Uint8Array.of(0x00, 0x03, 0x61, 0x62, 0x63));
 * r.string('clientId'); // 'abc'
 */
export class KafkaReader {
  readonly bytes: Uint8Array;
  readonly end: number;
  pos: number;
  readonly fail: FailFactory;
  private readonly view: DataView;

  constructor(bytes: Uint8Array, pos = 0, end = bytes.length, fail: FailFactory = malformed) {
    this.bytes = bytes;
    this.pos = pos;
    this.end = end;
    this.fail = fail;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** Advances past `n` bytes, returning where they started; throws if fewer remain. */
  take(n: number, what: string): number {
    if (n < 0 || n > this.end - this.pos) {
      throw this.fail(`${what}: needs ${n} bytes, ${this.end - this.pos} left`);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  int8(what: string): number {
    return this.view.getInt8(this.take(1, what));
  }
  int16(what: string): number {
    return this.view.getInt16(this.take(2, what));
  }
  int32(what: string): number {
    return this.view.getInt32(this.take(4, what));
  }
  int64(what: string): bigint {
    return this.view.getBigInt64(this.take(8, what));
  }
  uint16(what: string): number {
    return this.view.getUint16(this.take(2, what));
  }
  uint32(what: string): number {
    return this.view.getUint32(this.take(4, what));
  }
  float64(what: string): number {
    return this.view.getFloat64(this.take(8, what));
  }
  bool(what: string): boolean {
    return this.view.getUint8(this.take(1, what)) !== 0;
  }

  /** An unsigned varint holding a uint32 (at most 5 bytes). */
  uvarint(what: string): number {
    let result = 0;
    for (let i = 0; i < 5; i++) {
      const b = this.bytes[this.take(1, what)] as number;
      if (i === 4 && b > 0x0f) {
        throw this.fail(`${what}: unsigned varint exceeds 32 bits`);
      }
      result += (b & 0x7f) * 2 ** (7 * i);
      if (b < 0x80) {
        return result;
      }
    }
    throw this.fail(`${what}: unsigned varint longer than 5 bytes`);
  }

  /** A zigzag varint holding an int32. */
  varint(what: string): number {
    const raw = this.uvarint(what);
    return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
  }

  /**
   * A zigzag varlong as a number when it is a safe integer, else undefined (the reader is then where
   * it was: read it again with {@link varlong}). Number arithmetic: no BigInt per record.
   */
  safeVarlong(what: string): number | undefined {
    const start = this.pos;
    let raw = 0;
    for (let i = 0; i < 8; i++) {
      const b = this.bytes[this.take(1, what)] as number;
      raw += (b & 0x7f) * 2 ** (7 * i);
      if (b < 0x80) {
        // raw < 2^56; zigzag back, exact while raw stays within 2^53.
        if (raw > Number.MAX_SAFE_INTEGER) break;
        return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
      }
    }
    this.pos = start;
    return undefined;
  }

  /** A zigzag varlong holding an int64 (at most 10 bytes). */
  varlong(what: string): bigint {
    let raw = 0n;
    for (let i = 0; i < 10; i++) {
      const b = this.bytes[this.take(1, what)] as number;
      if (i === 9 && b > 0x01) {
        throw this.fail(`${what}: varlong exceeds 64 bits`);
      }
      raw |= BigInt(b & 0x7f) << BigInt(7 * i);
      if (b < 0x80) {
        return (raw >> 1n) ^ -(raw & 1n);
      }
    }
    throw this.fail(`${what}: varlong longer than 10 bytes`);
  }

  uuid(what: string): string {
    const at = this.take(16, what);
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + at, 16).toString('base64url');
  }

  /** `n` raw bytes, copied out (the result does not alias the input). */
  raw(n: number, what: string): Uint8Array {
    const at = this.take(n, what);
    return this.bytes.slice(at, at + n);
  }

  /**
   * `n` raw bytes as a view of the input, not copied: for input the caller owns and does not change
   * while the result is in use (a request frame, a decompressed records section).
   */
  rawView(n: number, what: string): Uint8Array {
    const at = this.take(n, what);
    return new Uint8Array(this.bytes.buffer, this.bytes.byteOffset + at, n);
  }

  /** A length prefix: int16/int32 (classic) or uvarint - 1 (compact); -1 means null. */
  length(compact: boolean, width: 2 | 4, what: string): number {
    const n = compact ? this.uvarint(what) - 1 : width === 2 ? this.int16(what) : this.int32(what);
    if (n < -1) {
      throw this.fail(`${what}: negative length ${n}`);
    }
    return n;
  }

  utf8(n: number, what: string): string {
    const at = this.take(n, what);
    return utf8Decoder.decode(this.bytes.subarray(at, at + n));
  }

  /** A string or compact string; null only where the caller allows it. */
  string(what: string, compact = false, nullable = false): string | null {
    const n = this.length(compact, 2, what);
    if (n === -1) {
      if (!nullable) throw this.fail(`${what}: null where a string is required`);
      return null;
    }
    return this.utf8(n, what);
  }

  /**
   * Bytes or compact bytes (also the records type); null only where the caller allows it. Copied out,
   * or with `view` a view of the input (see {@link rawView}).
   */
  bytesField(what: string, compact = false, nullable = false, view = false): Uint8Array | null {
    const n = this.length(compact, 4, what);
    if (n === -1) {
      if (!nullable) throw this.fail(`${what}: null where bytes are required`);
      return null;
    }
    return view ? this.rawView(n, what) : this.raw(n, what);
  }

  /**
   * An array length; -1 is null. Each element takes at least one byte, so a count larger than
   * what is left is rejected here rather than allocating for it.
   */
  arrayLength(what: string, compact: boolean): number {
    const n = this.length(compact, 4, what);
    if (n > this.end - this.pos) {
      throw this.fail(`${what}: array of ${n} elements in ${this.end - this.pos} bytes`);
    }
    return n;
  }
}

/**
 * Appends primitives to a growing buffer. Values are checked against their type's range; a bad
 * value throws an InvalidArgumentError naming `what` (encoding bad values is the caller's bug, not the peer's).
 *
 * @example
 * const w = new KafkaWriter();
 * w.int16(18); w.int16(3); w.int32(1); w.string('cli');
 * w.finish(); // 00 12 00 03 00 00 00 01 00 03 63 6c 69
 */
export class KafkaWriter {
  private buf: Uint8Array;
  private view: DataView;
  pos = 0;

  constructor(initialSize = 256) {
    this.buf = new Uint8Array(initialSize);
    this.view = new DataView(this.buf.buffer);
  }

  /** Makes room for `n` more bytes; returns where they start and advances past them. */
  reserve(n: number): number {
    if (this.pos + n > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < this.pos + n) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.buf.subarray(0, this.pos));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  /** Makes room for `n` more bytes without writing them: one allocation for a large message, not a series. */
  ensure(n: number): void {
    if (this.pos + n > this.buf.length) {
      const next = new Uint8Array(this.pos + n);
      next.set(this.buf.subarray(0, this.pos));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
  }

  /** The bytes written so far (a view of the writer's buffer; write nothing more after this). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  int8(v: number, what = 'int8'): void {
    const at = this.reserve(1);
    this.view.setInt8(at, checkInt(v, -0x80, 0x7f, what));
  }
  int16(v: number, what = 'int16'): void {
    const at = this.reserve(2);
    this.view.setInt16(at, checkInt(v, -0x8000, 0x7fff, what));
  }
  int32(v: number, what = 'int32'): void {
    const at = this.reserve(4);
    this.view.setInt32(at, checkInt(v, -0x8000_0000, 0x7fff_ffff, what));
  }
  int64(v: bigint | number, what = 'int64'): void {
    const at = this.reserve(8);
    this.view.setBigInt64(at, toInt64(v, what));
  }
  uint16(v: number, what = 'uint16'): void {
    const at = this.reserve(2);
    this.view.setUint16(at, checkInt(v, 0, 0xffff, what));
  }
  uint32(v: number, what = 'uint32'): void {
    const at = this.reserve(4);
    this.view.setUint32(at, checkInt(v, 0, MAX_UINT32, what));
  }
  float64(v: number, what = 'float64'): void {
    if (typeof v !== 'number') throw new InvalidArgumentError(`${what} must be a number, got ${describe(v)}`);
    const at = this.reserve(8);
    this.view.setFloat64(at, v);
  }
  bool(v: boolean, what = 'bool'): void {
    if (typeof v !== 'boolean')
      throw new InvalidArgumentError(`${what} must be a boolean, got ${describe(v)}`);
    const at = this.reserve(1);
    this.buf[at] = v ? 1 : 0;
  }

  uvarint(v: number, what = 'unsigned varint'): void {
    let value = checkInt(v, 0, MAX_UINT32, what);
    while (value >= 0x80) {
      const at = this.reserve(1);
      this.buf[at] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    const at = this.reserve(1);
    this.buf[at] = value;
  }

  varint(v: number, what = 'varint'): void {
    const value = checkInt(v, -0x8000_0000, 0x7fff_ffff, what);
    this.uvarint(value >= 0 ? value * 2 : -value * 2 - 1, what);
  }

  varlong(v: bigint | number, what = 'varlong'): void {
    if (typeof v === 'number' && Number.isInteger(v) && v > -(2 ** 52) && v < 2 ** 52) {
      // Number arithmetic for the usual case (a record's deltas): the zigzag of |v| < 2^52 is a safe integer.
      let raw = v >= 0 ? v * 2 : -v * 2 - 1;
      while (raw >= 0x80) {
        const at = this.reserve(1);
        this.buf[at] = (raw % 0x80) | 0x80;
        raw = Math.floor(raw / 0x80);
      }
      const at = this.reserve(1);
      this.buf[at] = raw;
      return;
    }
    const value = toInt64(v, what);
    let raw = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
    while (raw >= 0x80n) {
      const at = this.reserve(1);
      this.buf[at] = Number(raw & 0x7fn) | 0x80;
      raw >>= 7n;
    }
    const at = this.reserve(1);
    this.buf[at] = Number(raw);
  }

  uuid(v: string, what = 'uuid'): void {
    const bytes = typeof v === 'string' ? Buffer.from(v, 'base64url') : undefined;
    if (bytes === undefined || bytes.length !== 16 || bytes.toString('base64url') !== v) {
      throw new InvalidArgumentError(`${what} must be a 22-character base64url UUID, got ${describe(v)}`);
    }
    this.raw(bytes);
  }

  raw(bytes: Uint8Array): void {
    const at = this.reserve(bytes.length);
    this.buf.set(bytes, at);
  }

  /** A length prefix: int16/int32 (classic) or uvarint n + 1 (compact); -1 means null. */
  length(n: number, compact: boolean, width: 2 | 4, what: string): void {
    if (compact) this.uvarint(n + 1, what);
    else if (width === 2) this.int16(n, what);
    else this.int32(n, what);
  }

  /** A (nullable) string or compact string. */
  string(v: string | null, compact = false, what = 'string'): void {
    if (v === null) {
      this.length(-1, compact, 2, what);
      return;
    }
    if (typeof v !== 'string') throw new InvalidArgumentError(`${what} must be a string, got ${describe(v)}`);
    const encoded = utf8Encoder.encode(v);
    if (encoded.length > 0x7fff) {
      throw new InvalidArgumentError(
        `${what} is ${encoded.length} bytes of UTF-8, above the 32767-byte string limit`,
      );
    }
    this.length(encoded.length, compact, 2, what);
    this.raw(encoded);
  }

  /** (Nullable) bytes or compact bytes; also the records type. */
  bytesField(v: Uint8Array | null, compact = false, what = 'bytes'): void {
    if (v === null) {
      this.length(-1, compact, 4, what);
      return;
    }
    if (!(v instanceof Uint8Array))
      throw new InvalidArgumentError(`${what} must be a Uint8Array, got ${describe(v)}`);
    this.length(v.length, compact, 4, what);
    this.raw(v);
  }
}

function checkInt(v: number, min: number, max: number, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new InvalidArgumentError(`${what} must be an integer in [${min}, ${max}], got ${describe(v)}`);
  }
  return v;
}

const MIN_INT64 = -(2n ** 63n);
const MAX_INT64 = 2n ** 63n - 1n;

function toInt64(v: bigint | number, what: string): bigint {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  if (typeof v === 'bigint' && v >= MIN_INT64 && v <= MAX_INT64) return v;
  throw new InvalidArgumentError(
    `${what} must be an int64 (a bigint, or a safe-integer number), got ${describe(v)}`,
  );
}

/**
 * Bytes of a zigzag varint or varlong of `v` (a safe integer), without writing it.
 *
 * @example varintBytes(-64) // 1; varintBytes(64) // 2
 */
export function varintBytes(v: number): number {
  let raw = v >= 0 ? v * 2 : -v * 2 - 1;
  let n = 1;
  while (raw >= 0x80) {
    raw = Math.floor(raw / 0x80);
    n++;
  }
  return n;
}

/** A short description of a bad value for an error message. */
export function describe(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v === null || typeof v !== 'object') return String(v);
  return 'an object';
}
