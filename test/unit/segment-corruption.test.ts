import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import fc from 'fast-check';
import { CorruptSegmentError } from '../../lib/core/errors.ts';
import { decodeBatch, decodeSegment, encodeSegment } from '../../lib/core/segment/index.ts';
import {
  batchesArb,
  bytesOf,
  COMPRESSIONS,
  onlyCorrupt,
  rawBatch,
  record,
  recordArb,
  resealBatch,
  throwsCorrupt,
  utf8,
} from './segment-fixtures.ts';

/** One encoded batch (its own bytes, as a ranged GET returns) and what the index knows of it. */
const encodedBatchArb = fc
  .record({
    partition: fc.nat({ max: 1000 }),
    compression: fc.constantFrom(...COMPRESSIONS),
    records: fc.array(recordArb, { minLength: 1, maxLength: 5 }),
  })
  .map((input) => {
    const { bytes, batches } = encodeSegment([input]);
    const loc = batches[0];
    assert.ok(loc);
    return {
      input,
      bytes: bytes.slice(loc.byteOffset, loc.byteOffset + loc.byteLength),
      segment: bytes,
      expect: { partition: input.partition, recordCount: input.records.length },
    };
  });

/** A minimal valid records section: one record, no key, value "v", no headers, delta 0. */
const ONE_RECORD = [0x05, 0x00, 0x00, 0x01, 0x76, 0x00];

describe('decoding arbitrary bytes', () => {
  test('decodeBatch and decodeSegment only ever throw CorruptSegmentError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        onlyCorrupt(() => decodeBatch(bytes));
        onlyCorrupt(() => decodeBatch(bytes, { partition: 0, recordCount: 1 }));
        onlyCorrupt(() => decodeSegment(bytes));
      }),
      { numRuns: 300 },
    );
  });

  test('random bytes behind a valid segment header only throw CorruptSegmentError', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), fc.uint8Array({ maxLength: 400 }), (count, rest) => {
        const header = [0x53, 0x42, 0x53, 0x47, 1, 0, count >>> 8, count & 0xff];
        onlyCorrupt(() => decodeSegment(bytesOf(header, rest)));
      }),
      { numRuns: 200 },
    );
  });

  test('random batches with a valid length and CRC only throw CorruptSegmentError', () => {
    const u64 = fc.oneof(
      fc.constantFrom(0n, 1n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 64n - 1n),
      fc.bigInt(0n, 2n ** 64n - 1n),
    );
    fc.assert(
      fc.property(
        fc.record({
          version: fc.oneof(fc.constant(1), fc.nat({ max: 255 })),
          attributes: fc.oneof(fc.constantFrom(0, 1, 2), fc.nat({ max: 255 })),
          reserved: fc.oneof(fc.constant(0), fc.nat({ max: 0xffff })),
          partition: fc.nat(),
          recordCount: fc.oneof(fc.nat({ max: 4 }), fc.nat()),
          minTimestamp: u64,
          maxTimestamp: u64,
          recordsLength: fc.oneof(fc.constant(undefined), fc.nat({ max: 100 }), fc.nat()),
          stored: fc.oneof(
            fc.uint8Array({ maxLength: 120 }),
            fc.uint8Array({ maxLength: 120 }).map((b) => new Uint8Array(gzipSync(b))),
            fc.uint8Array({ maxLength: 120 }).map((b) => new Uint8Array(zstdCompressSync(b))),
          ),
        }),
        (fields) => {
          const { recordsLength, ...rest } = fields;
          const batch = rawBatch(recordsLength === undefined ? rest : { ...rest, recordsLength });
          onlyCorrupt(() => decodeBatch(batch));
          onlyCorrupt(() =>
            decodeBatch(batch, { partition: fields.partition, recordCount: fields.recordCount }),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  test('a damaged but re-sealed uncompressed batch is rejected or decodes to records that re-encode to it exactly', () => {
    fc.assert(
      fc.property(
        encodedBatchArb.filter((b) => b.input.compression === 'none'),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 3 }),
        ({ bytes }, edits) => {
          const damaged = bytes.slice();
          for (const [at, value] of edits) damaged[8 + (at % (damaged.length - 8))] = value;
          resealBatch(damaged);
          let decoded: ReturnType<typeof decodeBatch>;
          try {
            decoded = decodeBatch(damaged);
          } catch (error) {
            assert.ok(error instanceof CorruptSegmentError, String(error));
            return;
          }
          // The format is canonical: anything the decoder accepts is exactly what the encoder writes.
          const again = encodeSegment([
            { partition: decoded.partition, compression: 'none', records: decoded.records },
          ]);
          assert.deepStrictEqual(again.bytes.subarray(8), damaged);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('a damaged but re-sealed compressed batch is rejected or decodes to records that round-trip', () => {
    fc.assert(
      fc.property(
        encodedBatchArb.filter((b) => b.input.compression !== 'none'),
        fc.nat(),
        fc.nat({ max: 255 }),
        ({ bytes }, at, value) => {
          const damaged = bytes.slice();
          damaged[40 + (at % (damaged.length - 40))] = value;
          resealBatch(damaged);
          let decoded: ReturnType<typeof decodeBatch>;
          try {
            decoded = decodeBatch(damaged);
          } catch (error) {
            assert.ok(error instanceof CorruptSegmentError, String(error));
            return;
          }
          const again = encodeSegment([decoded]);
          assert.deepStrictEqual(decodeSegment(again.bytes), [decoded]);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('damaged batches', () => {
  test('flipping any single bit of a batch makes decodeBatch throw CorruptSegmentError', () => {
    fc.assert(
      fc.property(encodedBatchArb, fc.nat(), ({ bytes, expect }, bit) => {
        const damaged = bytes.slice();
        const at = bit % (damaged.length * 8);
        damaged[at >>> 3] = (damaged[at >>> 3] as number) ^ (1 << (at & 7));
        throwsCorrupt(() => decodeBatch(damaged, expect));
        throwsCorrupt(() => decodeBatch(damaged));
      }),
      { numRuns: 300 },
    );
  });

  test('flipping any single bit of a segment object makes decodeSegment throw CorruptSegmentError', () => {
    fc.assert(
      fc.property(batchesArb, fc.nat(), (batches, bit) => {
        const { bytes } = encodeSegment(batches);
        const at = bit % (bytes.length * 8);
        bytes[at >>> 3] = (bytes[at >>> 3] as number) ^ (1 << (at & 7));
        throwsCorrupt(() => decodeSegment(bytes));
      }),
      { numRuns: 200 },
    );
  });

  test('truncating a batch at any length makes decodeBatch throw CorruptSegmentError', () => {
    fc.assert(
      fc.property(encodedBatchArb, fc.nat(), ({ bytes, expect }, cut) => {
        const truncated = bytes.subarray(0, cut % bytes.length);
        throwsCorrupt(() => decodeBatch(truncated, expect));
        throwsCorrupt(() => decodeBatch(truncated));
      }),
      { numRuns: 300 },
    );
  });

  test('truncating or extending a segment object makes decodeSegment throw CorruptSegmentError', () => {
    fc.assert(
      fc.property(
        encodedBatchArb,
        fc.nat(),
        fc.uint8Array({ minLength: 1, maxLength: 8 }),
        ({ segment }, cut, extra) => {
          throwsCorrupt(() => decodeSegment(segment.subarray(0, cut % segment.length)));
          throwsCorrupt(() => decodeSegment(bytesOf(segment, extra)), /bytes after/);
        },
      ),
      { numRuns: 200 },
    );
  });

  test('a CRC mismatch is reported as such', () => {
    const { bytes } = encodeSegment([{ partition: 0, compression: 'none', records: [record()] }]);
    const batch = bytes.slice(8);
    batch[batch.length - 1] = (batch[batch.length - 1] as number) ^ 0xff;
    throwsCorrupt(() => decodeBatch(batch), /CRC32C mismatch/);
  });

  test('a non-Uint8Array input is corrupt, not a TypeError', () => {
    throwsCorrupt(() => decodeBatch(undefined as unknown as Uint8Array));
    throwsCorrupt(() => decodeSegment('SBSG' as unknown as Uint8Array));
  });
});

describe('hostile batches that pass the CRC', () => {
  const ts = { minTimestamp: 0n, maxTimestamp: 0n };

  test('a minimal hand-made batch decodes (so the cases below fail for their stated reason)', () => {
    const batch = rawBatch({ recordCount: 1, ...ts, stored: Uint8Array.from(ONE_RECORD) });
    assert.deepStrictEqual(decodeBatch(batch).records, [record({ timestamp: 0 })]);
  });

  test('a gzip bomb is cut off at the declared length', () => {
    const bomb = gzipSync(new Uint8Array(16 * 1024 * 1024));
    const batch = rawBatch({ attributes: 1, recordCount: 1, ...ts, recordsLength: 6, stored: bomb });
    const started = performance.now();
    throwsCorrupt(() => decodeBatch(batch), /does not decompress to the declared 6 bytes/);
    assert.ok(performance.now() - started < 1000);
  });

  test('a zstd bomb is cut off at the declared length', () => {
    const bomb = zstdCompressSync(new Uint8Array(16 * 1024 * 1024));
    const batch = rawBatch({ attributes: 2, recordCount: 1, ...ts, recordsLength: 6, stored: bomb });
    throwsCorrupt(() => decodeBatch(batch), /does not decompress to the declared 6 bytes/);
  });

  test('a compressed section shorter than declared is corrupt', () => {
    const stored = zstdCompressSync(Uint8Array.from(ONE_RECORD));
    throwsCorrupt(
      () => decodeBatch(rawBatch({ attributes: 2, recordCount: 1, ...ts, recordsLength: 7, stored })),
      /decompresses to 6 bytes, the header declares 7/,
    );
  });

  test('a declared records length above the 64 MiB cap is corrupt before anything is inflated', () => {
    const stored = gzipSync(Uint8Array.from(ONE_RECORD));
    throwsCorrupt(
      () =>
        decodeBatch(rawBatch({ attributes: 1, recordCount: 1, ...ts, recordsLength: 2 ** 32 - 1, stored })),
      /exceeds the 67108864-byte limit/,
    );
  });

  test('an uncompressed section whose length differs from the declared one is corrupt', () => {
    const stored = Uint8Array.from(ONE_RECORD);
    throwsCorrupt(
      () => decodeBatch(rawBatch({ recordCount: 1, ...ts, recordsLength: 7, stored })),
      /declares 7/,
    );
  });

  const cases: [string, Partial<Parameters<typeof rawBatch>[0]>, RegExp][] = [
    ['an unknown format version', { version: 2 }, /version 2/],
    ['an unknown compression code', { attributes: 3 }, /attributes 0x3/],
    ['unknown attribute bits', { attributes: 0x80 }, /attributes 0x80/],
    ['a non-zero reserved field', { reserved: 1 }, /reserved/],
    ['zero records', { recordCount: 0 }, /no records/],
    ['more records than the section can hold', { recordCount: 2 }, /2 records in only 6 bytes/],
    ['a minTimestamp after the maxTimestamp', { minTimestamp: 5n, maxTimestamp: 4n }, /after maxTimestamp/],
    ['a timestamp above 2^53 - 1', { minTimestamp: 2n ** 53n, maxTimestamp: 2n ** 53n }, /exceeds 2\^53 - 1/],
    ['a maxTimestamp no record has', { maxTimestamp: 9n }, /no record has the batch's maxTimestamp 9/],
    [
      'a minTimestamp no record has',
      { stored: Uint8Array.from([0x05, 0x00, 0x01, 0x01, 0x76, 0x00]), maxTimestamp: 1n },
      /minTimestamp 0/,
    ],
    [
      'a record past the maxTimestamp',
      { stored: Uint8Array.from([0x05, 0x00, 0x01, 0x01, 0x76, 0x00]) },
      /delta 1 exceeds/,
    ],
    [
      'a non-canonical varint',
      { stored: Uint8Array.from([0x85, 0x00, 0x00, 0x00, 0x01, 0x76, 0x00]) },
      /non-canonical varint/,
    ],
    [
      'a varint longer than 8 bytes',
      { stored: Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]) },
      /longer than 8 bytes/,
    ],
    [
      'a varint above 2^53 - 1',
      { stored: Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x00]) },
      /exceeds 2\^53 - 1/,
    ],
    [
      'a record body longer than the section',
      { stored: Uint8Array.from([0x06, 0x00, 0x00, 0x01, 0x76, 0x00]) },
      /truncated record 0 body/,
    ],
    [
      'a record body with unread bytes',
      { stored: Uint8Array.from([0x06, 0x00, 0x00, 0x01, 0x76, 0x00, 0x00]) },
      /1 unread bytes/,
    ],
    [
      'bytes after the last record',
      { stored: Uint8Array.from([...ONE_RECORD, 0x00]) },
      /1 bytes after record 0/,
    ],
    [
      'unknown record flags',
      { stored: Uint8Array.from([0x05, 0x08, 0x00, 0x01, 0x76, 0x00]) },
      /unknown flags 0x8/,
    ],
    [
      'a null value flagged as JSON',
      { stored: Uint8Array.from([0x03, 0x06, 0x00, 0x00]) },
      /unknown flags 0x6/,
    ],
    [
      'a key longer than the record',
      { stored: Uint8Array.from([0x06, 0x01, 0x00, 0x7f, 0x01, 0x76, 0x00]) },
      /truncated record 0 key/,
    ],
    [
      'a value longer than the record',
      { stored: Uint8Array.from([0x05, 0x00, 0x00, 0x7f, 0x76, 0x00]) },
      /truncated record 0 value/,
    ],
    [
      'a huge header count',
      {
        stored: Uint8Array.from([
          0x0c, 0x00, 0x00, 0x01, 0x76, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f,
        ]),
      },
      /declares 9007199254740991 headers in 0 bytes/,
    ],
    [
      'a header name that is not UTF-8',
      { stored: Uint8Array.from([0x08, 0x00, 0x00, 0x01, 0x76, 0x01, 0x01, 0xff, 0x00]) },
      /header 0 name is not valid UTF-8/,
    ],
  ];
  for (const [name, fields, message] of cases) {
    test(`${name} is corrupt`, () => {
      const batch = rawBatch({ recordCount: 1, ...ts, stored: Uint8Array.from(ONE_RECORD), ...fields });
      throwsCorrupt(() => decodeBatch(batch), message);
    });
  }

  test('a batch length below the smallest batch is corrupt', () => {
    const batch = rawBatch({ recordCount: 1, ...ts, stored: Uint8Array.from(ONE_RECORD) });
    new DataView(batch.buffer).setUint32(0, 39);
    throwsCorrupt(() => decodeBatch(batch), /below the smallest possible batch/);
  });

  test('a segment holding the same partition twice is corrupt', () => {
    const batch = rawBatch({ partition: 4, recordCount: 1, ...ts, stored: Uint8Array.from(ONE_RECORD) });
    const segment = bytesOf([0x53, 0x42, 0x53, 0x47, 1, 0, 0, 2], batch, batch);
    throwsCorrupt(() => decodeSegment(segment), /partition 4 more than once/);
  });

  for (const [name, header, message] of [
    ['bad magic', [0x53, 0x42, 0x53, 0x48, 1, 0, 0, 1], /bad magic/],
    ['an unknown segment version', [0x53, 0x42, 0x53, 0x47, 2, 0, 0, 1], /segment version 2/],
    ['a non-zero reserved byte', [0x53, 0x42, 0x53, 0x47, 1, 1, 0, 1], /reserved byte/],
    ['zero batches', [0x53, 0x42, 0x53, 0x47, 1, 0, 0, 0], /no batches/],
  ] as const) {
    test(`a segment with ${name} is corrupt`, () => {
      const batch = rawBatch({ recordCount: 1, ...ts, stored: Uint8Array.from(ONE_RECORD) });
      throwsCorrupt(() => decodeSegment(bytesOf([...header], batch)), message);
    });
  }

  test('an error inside a segment names the batch and its byte offset', () => {
    const { bytes } = encodeSegment([
      { partition: 0, compression: 'none', records: [record()] },
      { partition: 1, compression: 'none', records: [record({ value: utf8('second') })] },
    ]);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
    throwsCorrupt(() => decodeSegment(bytes), /^segment batch 1 of 2 at byte \d+: batch CRC32C mismatch/);
  });
});
