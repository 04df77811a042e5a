import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CorruptSegmentError } from '../../lib/core/errors.ts';
import { crc32c } from '../../lib/core/segment/crc.ts';
import type { BatchInput, Compression, LogRecord } from '../../lib/core/segment/index.ts';

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

export const COMPRESSIONS: readonly Compression[] = ['none', 'gzip', 'zstd'];

export function record(overrides: Partial<LogRecord> = {}): LogRecord {
  return {
    key: null,
    value: utf8('v'),
    valueIsJson: false,
    headers: [],
    timestamp: 1_700_000_000_000,
    ...overrides,
  };
}

/** Timestamps across the whole allowed range, with the edges likely. */
const timestampArb = fc.oneof(
  fc.constantFrom(0, 1, 2 ** 32, 2 ** 50, Number.MAX_SAFE_INTEGER),
  fc.integer({ min: 1_600_000_000_000, max: 1_800_000_000_000 }),
  fc.maxSafeNat(),
);

/** Header names: a few common ones (so duplicates are frequent), '' and a BOM, or any Unicode. */
const headerNameArb = fc.oneof(
  fc.constantFrom('', 'trace-id', 'h', '\uFEFFbom', 'é'),
  fc.string({ unit: 'binary', maxLength: 12 }),
);

const valueArb = fc.oneof(
  fc.record({ value: fc.uint8Array({ maxLength: 200 }), valueIsJson: fc.constant(false) }),
  fc.record({ value: fc.constant(null), valueIsJson: fc.constant(false) }),
  fc.record({
    value: fc.jsonValue({ maxDepth: 2 }).map((v) => utf8(JSON.stringify(v))),
    valueIsJson: fc.constant(true),
  }),
);

export const recordArb: fc.Arbitrary<LogRecord> = fc
  .record({
    key: fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null }),
    body: valueArb,
    headers: fc.array(fc.tuple(headerNameArb, fc.uint8Array({ maxLength: 24 })), { maxLength: 5 }),
    timestamp: timestampArb,
  })
  .map(({ key, body, headers, timestamp }) => ({ key, ...body, headers, timestamp }));

const partitionArb = fc.oneof(fc.nat({ max: 63 }), fc.constant(0xffff_ffff), fc.nat());

export const batchesArb: fc.Arbitrary<BatchInput[]> = fc
  .uniqueArray(partitionArb, { minLength: 1, maxLength: 4 })
  .chain((partitions) =>
    fc.tuple(
      ...partitions.map((partition) =>
        fc.record({
          partition: fc.constant(partition),
          compression: fc.constantFrom(...COMPRESSIONS),
          records: fc.array(recordArb, { minLength: 1, maxLength: 8 }),
        }),
      ),
    ),
  );

/** Runs `fn` and, if it throws, asserts the error is a CorruptSegmentError. */
export function onlyCorrupt(fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof CorruptSegmentError, `expected CorruptSegmentError, got ${String(error)}`);
  }
}

/** Asserts `fn` throws a CorruptSegmentError whose message matches `message` (when given). */
export function throwsCorrupt(fn: () => unknown, message?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof CorruptSegmentError, `expected CorruptSegmentError, got ${String(error)}`);
    if (message !== undefined) assert.match(error.message, message);
    return true;
  });
}

/** Recomputes a batch's CRC32C in place (for crafting batches that get past the CRC check). */
export function resealBatch(batch: Uint8Array): Uint8Array {
  new DataView(batch.buffer, batch.byteOffset, batch.byteLength).setUint32(4, crc32c(batch.subarray(8)));
  return batch;
}

export interface RawBatch {
  readonly version?: number;
  readonly attributes?: number;
  readonly reserved?: number;
  readonly partition?: number;
  readonly recordCount: number;
  readonly minTimestamp: bigint;
  readonly maxTimestamp: bigint;
  /** @default stored.length */
  readonly recordsLength?: number;
  readonly stored: Uint8Array;
}

/** Hand-assembles a batch (layout in lib/core/segment/batch.ts) with a correct length and CRC. */
export function rawBatch(f: RawBatch): Uint8Array {
  const out = new Uint8Array(40 + f.stored.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, out.length - 4);
  view.setUint8(8, f.version ?? 1);
  view.setUint8(9, f.attributes ?? 0);
  view.setUint16(10, f.reserved ?? 0);
  view.setUint32(12, f.partition ?? 0);
  view.setUint32(16, f.recordCount);
  view.setBigUint64(20, f.minTimestamp);
  view.setBigUint64(28, f.maxTimestamp);
  view.setUint32(36, f.recordsLength ?? f.stored.length);
  out.set(f.stored, 40);
  return resealBatch(out);
}

/** Concatenates byte arrays and plain byte values. */
export function bytesOf(...parts: (Uint8Array | number[])[]): Uint8Array {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let pos = 0;
  for (const part of parts) {
    out.set(part, pos);
    pos += part.length;
  }
  return out;
}
