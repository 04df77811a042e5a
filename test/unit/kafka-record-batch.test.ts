import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { crc32c } from '../../lib/core/segment/crc.ts';
import {
  CorruptRecordBatchError,
  decodeRecordBatch,
  decodeRecordBatches,
  encodeRecordBatch,
  type KafkaCompression,
  RECORD_BATCH_HEADER_BYTES,
  type RecordBatchInput,
  UnsupportedCompressionTypeError,
  UnsupportedRecordFormatError,
} from '../../lib/kafka/index.ts';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

const require = createRequire(import.meta.url);
const snappy = require('snappy') as { compressSync(input: Buffer): Buffer };
const lz4 = require('lz4-napi') as { compressFrameSync(data: Buffer): Buffer };

function input(compression: KafkaCompression, overrides: Partial<RecordBatchInput> = {}): RecordBatchInput {
  return {
    baseOffset: 0n,
    compression,
    baseTimestamp: 1_700_000_000_000n,
    maxTimestamp: 1_700_000_000_250n,
    producerId: 4000n,
    producerEpoch: 3,
    baseSequence: 17,
    records: [
      {
        timestampDelta: 0,
        offsetDelta: 0,
        key: utf8('customer-42'),
        value: utf8('{"total":12}'),
        headers: [],
      },
      {
        timestampDelta: 250,
        offsetDelta: 1,
        key: null,
        value: null,
        headers: [
          { key: 'trace-id', value: utf8('abc') },
          { key: 'é', value: null },
        ],
      },
      {
        timestampDelta: -5,
        offsetDelta: 2,
        key: new Uint8Array(0),
        value: new Uint8Array(3000),
        headers: [],
      },
    ],
    ...overrides,
  };
}

/** The decoded form of an input (defaults filled in). */
function expected(i: RecordBatchInput) {
  return {
    baseOffset: BigInt(i.baseOffset),
    partitionLeaderEpoch: i.partitionLeaderEpoch ?? -1,
    compression: i.compression,
    timestampType: i.timestampType ?? 'create',
    transactional: i.transactional ?? false,
    control: i.control ?? false,
    hasDeleteHorizon: i.hasDeleteHorizon ?? false,
    lastOffsetDelta: i.lastOffsetDelta ?? i.records.at(-1)?.offsetDelta ?? 0,
    baseTimestamp: BigInt(i.baseTimestamp),
    maxTimestamp: BigInt(i.maxTimestamp),
    producerId: BigInt(i.producerId ?? -1),
    producerEpoch: i.producerEpoch ?? -1,
    baseSequence: i.baseSequence ?? -1,
    records: i.records.map((r) => ({ attributes: 0, ...r })),
  };
}

/** Sets the attributes' compression bits of an encoded batch and fixes its CRC. */
/** The batch with its records section compressed by `compress` and labelled `code` (length and CRC fixed). */
function recompressed(
  bytes: Uint8Array,
  code: number,
  compress: (section: Uint8Array) => Uint8Array,
): Uint8Array {
  const section = compress(bytes.subarray(RECORD_BATCH_HEADER_BYTES));
  const out = new Uint8Array(RECORD_BATCH_HEADER_BYTES + section.length);
  out.set(bytes.subarray(0, RECORD_BATCH_HEADER_BYTES));
  out.set(section, RECORD_BATCH_HEADER_BYTES);
  const view = new DataView(out.buffer);
  view.setInt32(8, out.length - 12);
  view.setInt16(21, (view.getInt16(21) & ~7) | code);
  view.setUint32(17, crc32c(out.subarray(21)));
  return out;
}

function withCompressionCode(bytes: Uint8Array, code: number): Uint8Array {
  const copy = bytes.slice();
  const view = new DataView(copy.buffer);
  view.setInt16(21, (view.getInt16(21) & ~7) | code);
  view.setUint32(17, crc32c(copy.subarray(21)));
  return copy;
}

describe('record batch v2', () => {
  for (const compression of ['none', 'gzip', 'zstd'] as const) {
    test(`round-trips with ${compression}`, () => {
      const i = input(compression);
      const bytes = encodeRecordBatch(i);
      const { batch, next } = decodeRecordBatch(bytes);
      assert.equal(next, bytes.length);
      assert.deepStrictEqual(batch, expected(i));
    });
  }

  test('the header sits where the spec says, and the CRC32C covers attributes to the end', () => {
    const bytes = encodeRecordBatch(input('none', { baseOffset: 5n, partitionLeaderEpoch: 9 }));
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    assert.equal(view.getBigInt64(0), 5n);
    assert.equal(view.getInt32(8), bytes.length - 12);
    assert.equal(view.getInt32(12), 9);
    assert.equal(view.getInt8(16), 2);
    assert.equal(view.getUint32(17), crc32c(bytes.subarray(21)));
    assert.equal(view.getInt16(21), 0);
    assert.equal(view.getInt32(23), 2);
    assert.equal(view.getBigInt64(43), 4000n);
    assert.equal(view.getInt32(57), 3);
    // The first record: length 29 (zigzag 0x3a), attributes 0, timestampDelta 0, offsetDelta 0,
    // key length 11 (zigzag 0x16), the key, value length 12 (0x18), the value, 0 headers.
    assert.deepStrictEqual([...bytes.subarray(61, 66)], [0x3a, 0x00, 0x00, 0x00, 0x16]);
    assert.equal(bytes[66 + 11], 0x18);
    assert.equal(bytes[61 + 1 + 29], 0x30); // the next record starts right after: length 24 (zigzag 0x30)
  });

  test('attribute flags round-trip', () => {
    const i = input('gzip', {
      timestampType: 'logAppend',
      transactional: true,
      control: true,
      hasDeleteHorizon: true,
      lastOffsetDelta: 9,
    });
    const bytes = encodeRecordBatch(i);
    assert.equal(new DataView(bytes.buffer).getInt16(21), 0x01 | 0x08 | 0x10 | 0x20 | 0x40);
    assert.deepStrictEqual(decodeRecordBatch(bytes).batch, expected(i));
  });

  test('a wrong CRC is rejected, wherever the damage is', () => {
    const bytes = encodeRecordBatch(input('zstd'));
    fc.assert(
      fc.property(
        fc.integer({ min: 17, max: bytes.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        (at, flip) => {
          const copy = bytes.slice();
          copy[at] = (copy[at] as number) ^ flip;
          assert.throws(
            () => decodeRecordBatch(copy),
            /CRC32C is 0x[0-9a-f]{8}, the bytes give 0x[0-9a-f]{8}/,
          );
        },
      ),
    );
  });

  test('random damage anywhere only ever throws the typed errors', () => {
    const bytes = encodeRecordBatch(input('none'));
    fc.assert(
      fc.property(
        fc.nat(bytes.length - 1),
        fc.integer({ min: 1, max: 255 }),
        fc.boolean(),
        (at, flip, fixCrc) => {
          let copy: Uint8Array = bytes.slice();
          copy[at] = (copy[at] as number) ^ flip;
          if (fixCrc && at >= 21) copy = withCompressionCode(copy, 0);
          try {
            decodeRecordBatch(copy);
          } catch (e) {
            assert.ok(
              e instanceof CorruptRecordBatchError ||
                e instanceof UnsupportedRecordFormatError ||
                e instanceof UnsupportedCompressionTypeError,
              String(e),
            );
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  test('magic 0 and 1 message sets are refused as an unsupported format', () => {
    const bytes = encodeRecordBatch(input('none'));
    bytes[16] = 1;
    assert.throws(() => decodeRecordBatch(bytes), UnsupportedRecordFormatError);
  });

  test('snappy (xerial framing, as Kafka writes it, or a bare block) and lz4 (a frame) batches decode to their records; encoding them is refused (no door writes them)', () => {
    const plain = encodeRecordBatch(input('none'));
    const expected = decodeRecordBatch(plain).batch.records;
    const framedSnappy = (section: Uint8Array) => {
      const block = snappy.compressSync(Buffer.from(section));
      const length = Buffer.alloc(4);
      length.writeInt32BE(block.length);
      return Buffer.concat([
        Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0, 0, 0, 0, 1, 0, 0, 0, 1]),
        length,
        block,
      ]);
    };
    for (const [code, name, compress] of [
      [2, 'snappy', framedSnappy],
      [2, 'snappy', (section: Uint8Array) => snappy.compressSync(Buffer.from(section))],
      [3, 'lz4', (section: Uint8Array) => lz4.compressFrameSync(Buffer.from(section))],
    ] as const) {
      const decoded = decodeRecordBatch(recompressed(plain, code, compress)).batch;
      assert.equal(decoded.compression, name);
      assert.deepStrictEqual(decoded.records, expected);
      assert.throws(() => encodeRecordBatch(input(name)), UnsupportedCompressionTypeError);
    }
    // Codes past zstd name no compression at all.
    assert.throws(() => decodeRecordBatch(withCompressionCode(plain, 5)), UnsupportedCompressionTypeError);
    // An uncompressed section labelled snappy or lz4 is corrupt, not a crash.
    assert.throws(() => decodeRecordBatch(withCompressionCode(plain, 3)), CorruptRecordBatchError);
  });

  test('truncation, a short header and garbage in a compressed section are corrupt', () => {
    const bytes = encodeRecordBatch(input('gzip'));
    assert.throws(
      () => decodeRecordBatch(bytes.subarray(0, RECORD_BATCH_HEADER_BYTES - 1)),
      CorruptRecordBatchError,
    );
    assert.throws(() => decodeRecordBatch(bytes.subarray(0, bytes.length - 1)), /batchLength/);
    const garbage = withCompressionCode(encodeRecordBatch(input('none')), 1);
    assert.throws(() => decodeRecordBatch(garbage), /gzip records do not decompress/);
  });

  test('a records field holds batches back to back', () => {
    const a = encodeRecordBatch(input('none'));
    const b = encodeRecordBatch(input('zstd', { baseOffset: 3n }));
    const both = Uint8Array.from([...a, ...b]);
    const batches = decodeRecordBatches(both);
    assert.deepStrictEqual(
      batches.map((x) => [x.baseOffset, x.compression, x.records.length]),
      [
        [0n, 'none', 3],
        [3n, 'zstd', 3],
      ],
    );
    assert.deepStrictEqual(decodeRecordBatches(null), []);
    assert.deepStrictEqual(decodeRecordBatches(new Uint8Array(0)), []);
    assert.throws(() => decodeRecordBatches(both.subarray(0, both.length - 2)), CorruptRecordBatchError);
  });

  test('property: any records round-trip, with deltas anywhere in the safe integers, under every compression', () => {
    const bytesOrNull = fc.option(fc.uint8Array({ maxLength: 300 }), { nil: null });
    const record = fc.record({
      timestampDelta: fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
      offsetDelta: fc.integer({ min: 0, max: 0x7fff_ffff }),
      key: bytesOrNull,
      value: bytesOrNull,
      headers: fc.array(
        fc.record({ key: fc.string({ unit: 'grapheme' }), value: bytesOrNull }, { noNullPrototype: true }),
        {
          maxLength: 3,
        },
      ),
    });
    fc.assert(
      fc.property(
        fc.array(record, { maxLength: 12 }),
        fc.constantFrom<KafkaCompression>('none', 'gzip', 'zstd'),
        (records, compression) => {
          const bytes = encodeRecordBatch({ ...input(compression), records });
          assert.equal(new DataView(bytes.buffer, bytes.byteOffset).getInt32(8), bytes.length - 12);
          const { batch, next } = decodeRecordBatch(bytes);
          assert.equal(next, bytes.length);
          assert.deepStrictEqual(
            batch.records.map((r) => ({ ...r, key: r.key && [...r.key], value: r.value && [...r.value] })),
            records.map((r) => ({
              attributes: 0,
              ...r,
              key: r.key && [...r.key],
              value: r.value && [...r.value],
            })),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  test('the records of a batch encode to the layout above, field by field', () => {
    const value = utf8('v'.repeat(200));
    const bytes = encodeRecordBatch({
      ...input('none'),
      records: [
        { timestampDelta: -1, offsetDelta: 64, key: null, value, headers: [{ key: 'é', value: null }] },
      ],
    });
    const section = [...bytes.subarray(RECORD_BATCH_HEADER_BYTES)];
    // length 212 (varint a8 03: zigzag 424), attributes 0, timestampDelta -1 (01), offsetDelta 64
    // (80 01), key null (01), value length 200 (90 03), then 200 bytes, 1 header (02): key 'é' is 2
    // bytes (04 c3 a9), its value null (01).
    assert.deepStrictEqual(section.slice(0, 9), [0xa8, 0x03, 0x00, 0x01, 0x80, 0x01, 0x01, 0x90, 0x03]);
    assert.deepStrictEqual(section.slice(9 + 200), [0x02, 0x04, 0xc3, 0xa9, 0x01]);
    assert.equal(section.length, 2 + 212);
  });

  test('decoded keys and values are views of the input, not copies', () => {
    const bytes = encodeRecordBatch(input('none'));
    const { batch } = decodeRecordBatch(bytes);
    const value = batch.records[0]?.value;
    assert.ok(value instanceof Uint8Array && value.buffer === bytes.buffer);
  });
});
