import { createRequire } from 'node:module';
// SheetJS `crc-32` ships CRC32C (slicing-by-16) as a CommonJS module exporting `buf(bytes, seed?)`.
import CRC32C from 'crc-32/crc32c.js';

/*
 * CRC32C guards every stored batch, every fetch frame and every Kafka record batch, so it runs over
 * every byte produced and every byte fetched, on both sides. `@node-rs/crc32` computes it with the
 * CPU's CRC32C instructions (SSE 4.2 on x86-64, the ARMv8 CRC extension on Graviton): ~0.06–0.2 ms per
 * MiB here against 1.2–2.8 ms for the JavaScript table. It is a native module with one package per
 * platform, so it may be missing (an unusual platform, a bundle that left it out — the Lambda bundles
 * install the linux-arm64 one, infra/function.ts): then the JavaScript table answers, with the same
 * results (test/unit/crc.test.ts checks the two agree). `CRC32C_IMPLEMENTATION` says which one runs.
 */

type Crc32c = (bytes: Uint8Array) => number;

/** The JavaScript CRC32C (always available), as an unsigned 32-bit integer. */
export const crc32cJs: Crc32c = (bytes) => CRC32C.buf(bytes) >>> 0;

/** The native CRC32C, or undefined where `@node-rs/crc32` or its platform binary is not installed. */
export const crc32cNative: Crc32c | undefined = loadNative();

function loadNative(): Crc32c | undefined {
  try {
    const native = createRequire(import.meta.url)('@node-rs/crc32') as {
      crc32c?: (input: Uint8Array, initialState?: number) => number;
    };
    const fn = native.crc32c;
    if (typeof fn !== 'function') return undefined;
    // A binary that loads but answers wrongly would corrupt every checksum: check the standard vector.
    if (fn(new TextEncoder().encode('123456789')) >>> 0 !== 0xe3069283) return undefined;
    return (bytes) => fn(bytes) >>> 0;
  } catch {
    return undefined;
  }
}

/** Which CRC32C implementation {@link crc32c} uses in this process. */
export const CRC32C_IMPLEMENTATION: 'native' | 'javascript' =
  crc32cNative === undefined ? 'javascript' : 'native';

/**
 * CRC32C (Castagnoli) of `bytes`, as an unsigned 32-bit integer.
 *
 * @example crc32c(new TextEncoder().encode('123456789')) // 0xe3069283
 */
export const crc32c: Crc32c = crc32cNative ?? crc32cJs;
