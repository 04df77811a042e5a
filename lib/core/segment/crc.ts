// SheetJS `crc-32` ships CRC32C (slicing-by-16) as a CommonJS module exporting `buf(bytes, seed?)`.
import CRC32C from 'crc-32/crc32c.js';

/**
 * CRC32C (Castagnoli) of `bytes`, as an unsigned 32-bit integer.
 *
 * @example crc32c(new TextEncoder().encode('123456789')) // 0xe3069283
 */
export function crc32c(bytes: Uint8Array): number {
  return CRC32C.buf(bytes) >>> 0;
}
