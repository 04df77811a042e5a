import { CorruptSegmentError } from '../errors.ts';

/** 2^32: multiplier for the high half of a 64-bit field. */
const TWO_32 = 0x1_0000_0000;
/** The largest high half of a u64 that keeps the value a safe integer (2^53 - 1). */
const MAX_SAFE_HIGH = 0x1f_ffff;

/**
 * A bounds-checked big-endian cursor over `bytes[pos, end)`. Every read checks the bytes are there
 * first and throws {@link CorruptSegmentError} naming the field otherwise, so a declared length can
 * never make it read (or allocate) past what was actually given.
 */
export class ByteReader {
  readonly bytes: Uint8Array;
  pos: number;
  end: number;

  constructor(bytes: Uint8Array, pos = 0, end = bytes.length) {
    this.bytes = bytes;
    this.pos = pos;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** Throws unless `n` more bytes are available. */
  need(n: number, what: string): void {
    if (n > this.end - this.pos) {
      throw new CorruptSegmentError(`truncated ${what}: needs ${n} bytes, ${this.end - this.pos} left`);
    }
  }

  u8(what: string): number {
    this.need(1, what);
    return this.bytes[this.pos++] as number;
  }

  u16(what: string): number {
    this.need(2, what);
    const b = this.bytes;
    const p = this.pos;
    this.pos = p + 2;
    return (((b[p] as number) << 8) | (b[p + 1] as number)) >>> 0;
  }

  u32(what: string): number {
    this.need(4, what);
    const v = readU32(this.bytes, this.pos);
    this.pos += 4;
    return v;
  }

  /** A u64 that must be at most 2^53 - 1. */
  u64Safe(what: string): number {
    this.need(8, what);
    const high = readU32(this.bytes, this.pos);
    const low = readU32(this.bytes, this.pos + 4);
    if (high > MAX_SAFE_HIGH) {
      throw new CorruptSegmentError(`${what} exceeds 2^53 - 1`);
    }
    this.pos += 8;
    return high * TWO_32 + low;
  }

  /** The next `n` bytes as a view (no copy). */
  take(n: number, what: string): Uint8Array {
    this.need(n, what);
    const view = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return view;
  }
}

/** Big-endian u32 at `pos`; the caller has checked the 4 bytes exist. */
export function readU32(b: Uint8Array, pos: number): number {
  return (
    (((b[pos] as number) << 24) |
      ((b[pos + 1] as number) << 16) |
      ((b[pos + 2] as number) << 8) |
      (b[pos + 3] as number)) >>>
    0
  );
}

export function writeU16(b: Uint8Array, pos: number, value: number): void {
  b[pos] = value >>> 8;
  b[pos + 1] = value;
}

export function writeU32(b: Uint8Array, pos: number, value: number): void {
  b[pos] = value >>> 24;
  b[pos + 1] = value >>> 16;
  b[pos + 2] = value >>> 8;
  b[pos + 3] = value;
}

/** A safe non-negative integer as a big-endian u64. */
export function writeU64(b: Uint8Array, pos: number, value: number): void {
  writeU32(b, pos, Math.floor(value / TWO_32));
  writeU32(b, pos + 4, value >>> 0);
}
