import { gunzipSync, gzipSync, zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import { CorruptSegmentError } from '../errors.ts';
import type { Compression } from './types.ts';

/** The 3-bit compression code stored in a batch's attributes byte. */
export const COMPRESSION_CODE: Readonly<Record<Compression, number>> = { none: 0, gzip: 1, zstd: 2 };
const BY_CODE: readonly Compression[] = ['none', 'gzip', 'zstd'];

export function isCompression(value: unknown): value is Compression {
  return value === 'none' || value === 'gzip' || value === 'zstd';
}

/** The compression for a stored code, or undefined for a code this version does not know. */
export function compressionFromCode(code: number): Compression | undefined {
  return BY_CODE[code];
}

/** Compresses a whole records section (gzip: default level 6; zstd: default level 3). */
export function compress(compression: Compression, bytes: Uint8Array): Uint8Array {
  switch (compression) {
    case 'none':
      return bytes;
    case 'gzip':
      return gzipSync(bytes);
    case 'zstd':
      return zstdCompressSync(bytes);
  }
}

/**
 * Decompresses a records section that must come out exactly `length` bytes long. The output is
 * capped at `length` while inflating, so a decompression bomb fails instead of allocating.
 * Returns a plain Uint8Array (not a Buffer) the caller owns.
 */
export function decompress(compression: Compression, bytes: Uint8Array, length: number): Uint8Array {
  if (compression === 'none') {
    if (bytes.length !== length) {
      throw new CorruptSegmentError(
        `uncompressed records section is ${bytes.length} bytes, the header declares ${length}`,
      );
    }
    return bytes.slice();
  }
  let out: Buffer;
  try {
    const options = { maxOutputLength: Math.max(1, length) };
    out = compression === 'gzip' ? gunzipSync(bytes, options) : zstdDecompressSync(bytes, options);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new CorruptSegmentError(
      `${compression} records section does not decompress to the declared ${length} bytes: ${reason}`,
      { cause },
    );
  }
  if (out.length !== length) {
    throw new CorruptSegmentError(
      `${compression} records section decompresses to ${out.length} bytes, the header declares ${length}`,
    );
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
