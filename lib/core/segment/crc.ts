import { crc32c as awsCrc32c } from '@aws-crypto/crc32c';

/**
 * CRC32C (Castagnoli) of `bytes`, as an unsigned 32-bit integer.
 *
 * @example crc32c(new TextEncoder().encode('123456789')) // 0xe3069283
 */
export function crc32c(bytes: Uint8Array): number {
  return awsCrc32c(bytes) >>> 0;
}
