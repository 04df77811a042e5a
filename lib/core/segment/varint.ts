import { CorruptSegmentError } from '../errors.ts';
import type { ByteReader } from './reader.ts';

/*
 * Varints are unsigned LEB128: 7 bits per byte, least significant group first, high bit set on
 * every byte but the last. Values are limited to 2^53 - 1 (so at most 8 bytes), and the encoding
 * must be canonical: a multi-byte varint may not end in a 0x00 group. Anything else is corruption.
 *
 *   0 -> 00    127 -> 7f    128 -> 80 01    300 -> ac 02    2^53 - 1 -> ff ff ff ff ff ff ff 0f
 */

export const MAX_VARINT_BYTES = 8;

/** How many bytes `value` (a safe non-negative integer) takes as a varint. */
export function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    size++;
  }
  return size;
}

/** Writes `value` (a safe non-negative integer) at `pos`; returns the position after it. */
export function writeVarint(buf: Uint8Array, pos: number, value: number): number {
  while (value >= 0x80) {
    buf[pos++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  buf[pos++] = value;
  return pos;
}

/** Reads one varint, rejecting truncated, overlong, non-canonical and unsafe encodings. */
export function readVarint(r: ByteReader, what: string): number {
  const bytes = r.bytes;
  let pos = r.pos;
  let result = 0;
  let scale = 1;
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    if (pos >= r.end) {
      throw new CorruptSegmentError(`truncated varint (${what})`);
    }
    const b = bytes[pos++] as number;
    result += (b & 0x7f) * scale;
    if (b < 0x80) {
      if (b === 0 && i > 0) {
        throw new CorruptSegmentError(`non-canonical varint (${what})`);
      }
      if (result > Number.MAX_SAFE_INTEGER) {
        throw new CorruptSegmentError(`varint exceeds 2^53 - 1 (${what})`);
      }
      r.pos = pos;
      return result;
    }
    scale *= 0x80;
  }
  throw new CorruptSegmentError(`varint longer than ${MAX_VARINT_BYTES} bytes (${what})`);
}
