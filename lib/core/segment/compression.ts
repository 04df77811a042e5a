// A namespace import: node:zlib has zstd only from Node 22.15 (and 23.8), and a named import of a
// missing export fails the whole module graph at link time, so the SDK would not load on Node 20.
import * as zlib from 'node:zlib';
import { CorruptSegmentError, StreambedError } from '../errors.ts';
import type { Compression } from './types.ts';

/**
 * zstd was asked for (to compress, or to read a zstd batch) on a Node.js whose node:zlib has no zstd
 * (before 22.15). Not retryable: use Node 22.15 or later, or gzip/none for the topic.
 *
 * @example
 * try { decompress('zstd', bytes, length); }
 * catch (e) { if (e instanceof ZstdUnavailableError) console.error('upgrade Node.js to read this topic'); }
 */
export class ZstdUnavailableError extends StreambedError {
  readonly code = 'ZstdUnavailable';
  readonly status = 501;
  constructor() {
    super(`zstd needs Node ≥ 22.15 (node:zlib has no zstd in Node ${process.versions.node})`);
  }
}

type Zstd = Pick<typeof zlib, 'zstdCompressSync' | 'zstdDecompressSync'>;

/** True when this Node.js's node:zlib has zstd (22.15 and later). */
export function zstdAvailable(): boolean {
  const { zstdCompressSync, zstdDecompressSync } = zlib as Partial<Zstd>;
  return typeof zstdCompressSync === 'function' && typeof zstdDecompressSync === 'function';
}

/** node:zlib's zstd functions; ZstdUnavailableError on a Node.js without them. */
function zstd(): Zstd {
  if (!zstdAvailable()) throw new ZstdUnavailableError();
  return zlib;
}

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
      return zlib.gzipSync(bytes);
    case 'zstd':
      return zstd().zstdCompressSync(bytes);
  }
}

/**
 * Decompresses a records section that must come out exactly `length` bytes long. The output is
 * capped at `length` while inflating, so a decompression bomb fails instead of allocating.
 * `none` returns `bytes` itself, not a copy: decoded records are views of the bytes they were read
 * from (a fetched frame, a GET's body), which nothing writes to afterwards (a plain Uint8Array, never a
 * Buffer). A copy here was a whole extra pass over every byte fetched, on the server and in every reader.
 */
export function decompress(compression: Compression, bytes: Uint8Array, length: number): Uint8Array {
  if (compression === 'none') {
    if (bytes.length !== length) {
      throw new CorruptSegmentError(
        `uncompressed records section is ${bytes.length} bytes, the header declares ${length}`,
      );
    }
    // A plain Uint8Array over the same memory (a Buffer's subarray would make every value a Buffer).
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  const inflate = compression === 'gzip' ? zlib.gunzipSync : zstd().zstdDecompressSync;
  let out: Buffer;
  try {
    out = inflate(bytes, { maxOutputLength: Math.max(1, length) });
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
