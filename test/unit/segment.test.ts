import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { InvalidArgumentError } from '../../lib/core/errors.ts';
import {
  type BatchInput,
  type DecodedBatch,
  decodeBatch,
  decodeSegment,
  encodeSegment,
  type LogRecord,
  recordSize,
} from '../../lib/core/segment/index.ts';
import { batchesArb, COMPRESSIONS, record, throwsCorrupt, utf8 } from './segment-fixtures.ts';

function expected(batch: BatchInput): DecodedBatch {
  const timestamps = batch.records.map((r) => r.timestamp);
  return {
    partition: batch.partition,
    compression: batch.compression,
    records: [...batch.records],
    span: batch.records.length,
    minTimestamp: Math.min(...timestamps),
    maxTimestamp: Math.max(...timestamps),
  };
}

function sliceOf(bytes: Uint8Array, loc: { byteOffset: number; byteLength: number }): Uint8Array {
  return bytes.subarray(loc.byteOffset, loc.byteOffset + loc.byteLength);
}

describe('segment round trip', () => {
  test('every batch decodes from its own byte range to exactly the records written, for any input', () => {
    fc.assert(
      fc.property(batchesArb, (batches) => {
        const { bytes, batches: locations } = encodeSegment(batches);
        assert.equal(locations.length, batches.length);
        let end = 8;
        for (const [i, loc] of locations.entries()) {
          const input = batches[i] as BatchInput;
          const want = expected(input);
          assert.deepEqual(loc, {
            partition: input.partition,
            byteOffset: end,
            byteLength: loc.byteLength,
            recordCount: input.records.length,
            span: input.records.length,
            minTimestamp: want.minTimestamp,
            maxTimestamp: want.maxTimestamp,
          });
          end += loc.byteLength;
          const decoded = decodeBatch(sliceOf(bytes, loc), {
            partition: input.partition,
            recordCount: input.records.length,
          });
          assert.deepStrictEqual(decoded, want);
        }
        assert.equal(end, bytes.length, 'the batches fill the object after the 8-byte header');
      }),
      { numRuns: 200 },
    );
  });

  test('decodeSegment returns every batch of the object in order', () => {
    fc.assert(
      fc.property(batchesArb, (batches) => {
        assert.deepStrictEqual(decodeSegment(encodeSegment(batches).bytes), batches.map(expected));
      }),
      { numRuns: 150 },
    );
  });

  for (const compression of COMPRESSIONS) {
    test(`a ${compression} batch round-trips null and empty keys, empty values, JSON flags and duplicate headers`, () => {
      const records: LogRecord[] = [
        record({ key: null, value: new Uint8Array(0), timestamp: 0 }),
        record({ key: new Uint8Array(0), value: utf8('{"a":1}'), valueIsJson: true, timestamp: 2 ** 50 }),
        record({
          key: utf8('k'),
          value: new Uint8Array(1000).fill(7),
          headers: [
            ['dup', utf8('1')],
            ['dup', new Uint8Array(0)],
            ['', utf8('empty name')],
            ['\uFEFFbom', utf8('BOM kept')],
            ['ключ 🔑', Uint8Array.of(0, 255)],
          ],
          timestamp: Number.MAX_SAFE_INTEGER,
        }),
      ];
      const { bytes, batches } = encodeSegment([{ partition: 3, compression, records }]);
      const loc = batches[0];
      assert.ok(loc);
      const decoded = decodeBatch(sliceOf(bytes, loc), { partition: 3, recordCount: 3 });
      assert.equal(decoded.compression, compression);
      assert.deepStrictEqual(decoded.records, records);
      assert.equal(decoded.minTimestamp, 0);
      assert.equal(decoded.maxTimestamp, Number.MAX_SAFE_INTEGER);
    });
  }

  test('compression shrinks a compressible batch', () => {
    const records = Array.from({ length: 50 }, (_, i) =>
      record({ value: utf8(`{"n":${i},"pad":"${'x'.repeat(200)}"}`) }),
    );
    const size = (compression: 'none' | 'gzip' | 'zstd') =>
      encodeSegment([{ partition: 0, compression, records }]).bytes.length;
    assert.ok(size('gzip') < size('none') / 5);
    assert.ok(size('zstd') < size('none') / 5);
  });

  test('records of an uncompressed batch are plain Uint8Array views of the input, not copies', () => {
    const { bytes } = encodeSegment([
      { partition: 0, compression: 'none', records: [record({ key: utf8('key') })] },
    ]);
    const [batch] = decodeSegment(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    const value = batch?.records[0]?.value as Uint8Array;
    assert.equal(Object.getPrototypeOf(value), Uint8Array.prototype);
    assert.equal(value.buffer, bytes.buffer);
    assert.deepStrictEqual(batch?.records[0]?.key, utf8('key'));
    assert.deepStrictEqual(value, utf8('v'));
  });

  test('records of a compressed batch do not alias the input bytes', () => {
    const { bytes } = encodeSegment([
      { partition: 0, compression: 'gzip', records: [record({ key: utf8('key') })] },
    ]);
    const [batch] = decodeSegment(bytes);
    bytes.fill(0);
    assert.deepStrictEqual(batch?.records[0]?.key, utf8('key'));
    assert.deepStrictEqual(batch?.records[0]?.value, utf8('v'));
  });

  test('decodeBatch without expect ignores bytes after the batch', () => {
    const { bytes, batches } = encodeSegment([
      { partition: 1, compression: 'none', records: [record()] },
      { partition: 2, compression: 'gzip', records: [record(), record()] },
    ]);
    const first = batches[0];
    assert.ok(first);
    assert.equal(decodeBatch(bytes.subarray(first.byteOffset)).partition, 1);
  });
});

describe('segment layout', () => {
  test('a one-record uncompressed segment has the documented bytes', () => {
    const { bytes, batches } = encodeSegment([
      {
        partition: 7,
        compression: 'none',
        records: [
          {
            key: utf8('k'),
            value: utf8('v'),
            valueIsJson: false,
            headers: [['h', Uint8Array.of(0x78)]],
            timestamp: 1000,
          },
        ],
      },
    ]);
    // biome-ignore format: one line per field
    const golden = [
      0x53, 0x42, 0x53, 0x47,                         // magic "SBSG"
      0x01, 0x00, 0x00, 0x01,                         // version 1, reserved, batchCount 1
      0x00, 0x00, 0x00, 0x30,                         // batchLength 48
      0x54, 0xd0, 0x68, 0x55,                         // CRC32C of the 48 bytes after it
      0x01, 0x00, 0x00, 0x00,                         // format version 1, attributes (none), reserved
      0x00, 0x00, 0x00, 0x07,                         // partition 7
      0x00, 0x00, 0x00, 0x01,                         // recordCount 1
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8, // minTimestamp 1000
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8, // maxTimestamp 1000
      0x00, 0x00, 0x00, 0x0c,                         // recordsLength 12
      0x0b,                                           // record body length 11
      0x01,                                           // flags: key present, binary value
      0x00,                                           // timestamp delta 0
      0x01, 0x6b,                                     // key "k"
      0x01, 0x76,                                     // value "v"
      0x01,                                           // 1 header
      0x01, 0x68, 0x01, 0x78,                         // "h" = [0x78]
    ];
    assert.deepStrictEqual([...bytes], golden);
    assert.deepEqual(batches, [
      {
        partition: 7,
        byteOffset: 8,
        byteLength: 52,
        recordCount: 1,
        span: 1,
        minTimestamp: 1000,
        maxTimestamp: 1000,
      },
    ]);
  });

  test('an uncompressed batch after a compressed one has the bytes the section-then-copy encoder wrote', () => {
    // Hex from the encoder before uncompressed records were written straight into the segment
    // (4897f17^): headers, a UTF-8 header name, a null value, a JSON value, timestamps out of order.
    const { bytes, batches } = encodeSegment([
      {
        partition: 3,
        compression: 'gzip',
        records: [
          {
            key: utf8('k1'),
            value: utf8('{"a":1}'),
            valueIsJson: true,
            headers: [['h', utf8('v')]],
            timestamp: 1_700_000_000_000,
          },
        ],
      },
      {
        partition: 1,
        compression: 'none',
        records: [
          {
            key: null,
            value: utf8('plain'),
            valueIsJson: false,
            headers: [
              ['trace-id', utf8('abc')],
              ['é', Uint8Array.of(0, 255)],
            ],
            timestamp: 1_700_000_000_005,
          },
          { key: utf8('tomb'), value: null, valueIsJson: false, headers: [], timestamp: 1_700_000_000_001 },
          {
            key: utf8('j'),
            value: utf8('[1,2]'),
            valueIsJson: true,
            headers: [],
            timestamp: 1_700_000_000_300,
          },
        ],
      },
    ]);
    const plain = batches[1] as (typeof batches)[number];
    assert.equal(
      Buffer.from(sliceOf(bytes, plain)).toString('hex'),
      '0000005701b7d1260100000000000001000000030000018bcfe568010000018bcfe5692c000000331c000405706c61696e020874726163652d69640361626302c3a90200ff08050004746f6d62000c03ab02016a055b312c325d00',
    );
    assert.deepEqual(
      decodeSegment(bytes).map((batch) => batch.records.length),
      [1, 3],
    );
  });
});

describe('decodeBatch expectations', () => {
  const { bytes, batches } = encodeSegment([
    { partition: 5, compression: 'zstd', records: [record(), record()] },
  ]);
  const loc = batches[0];
  assert.ok(loc);
  const batch = sliceOf(bytes, loc);

  test('a batch for another partition than expected is corrupt', () => {
    throwsCorrupt(() => decodeBatch(batch, { partition: 6, recordCount: 2 }), /partition 5, expected 6/);
  });

  test('a batch with another record count than expected is corrupt', () => {
    throwsCorrupt(() => decodeBatch(batch, { partition: 5, recordCount: 3 }), /2 records, expected 3/);
  });

  test('bytes after the batch are corrupt when expect is given', () => {
    const longer = new Uint8Array(batch.length + 1);
    longer.set(batch);
    throwsCorrupt(() => decodeBatch(longer, { partition: 5, recordCount: 2 }), /were given/);
  });

  test('a matching expectation decodes', () => {
    assert.equal(decodeBatch(batch, { partition: 5, recordCount: 2 }).records.length, 2);
  });
});

describe('encodeSegment input validation', () => {
  const ok: BatchInput = { partition: 0, compression: 'none', records: [record()] };
  const withRecord = (overrides: Record<string, unknown>): BatchInput[] => [
    { ...ok, records: [{ ...record(), ...overrides } as LogRecord] },
  ];
  const cases: [string, unknown][] = [
    ['no batches', []],
    ['a non-array', { partition: 0 }],
    ['a negative partition', [{ ...ok, partition: -1 }]],
    ['a fractional partition', [{ ...ok, partition: 1.5 }]],
    ['a partition above u32', [{ ...ok, partition: 2 ** 32 }]],
    ['a NaN partition', [{ ...ok, partition: Number.NaN }]],
    ['a string partition', [{ ...ok, partition: '0' }]],
    ['an unknown compression', [{ ...ok, compression: 'lz4' }]],
    ['a batch without records', [{ ...ok, records: [] }]],
    ['a negative timestamp', withRecord({ timestamp: -1 })],
    ['a fractional timestamp', withRecord({ timestamp: 1.5 })],
    ['an unsafe timestamp', withRecord({ timestamp: 2 ** 53 })],
    ['a string key', withRecord({ key: 'k' })],
    ['an undefined key', withRecord({ key: undefined })],
    ['a null value flagged as JSON', withRecord({ value: null, valueIsJson: true })],
    ['sparse deltas of another length', [{ ...ok, sparse: { offsetDeltas: [0, 1], span: 3 } }]],
    [
      'sparse deltas out of order',
      [{ ...ok, records: [ok.records[0], ok.records[0]], sparse: { offsetDeltas: [2, 1], span: 3 } }],
    ],
    ['a sparse delta at the span', [{ ...ok, sparse: { offsetDeltas: [3], span: 3 } }]],
    ['a sparse span below the record count', [{ ...ok, sparse: { offsetDeltas: [0], span: 0 } }]],
    ['a non-boolean valueIsJson', withRecord({ valueIsJson: 'yes' })],
    ['headers that are not an array', withRecord({ headers: {} })],
    ['a header that is not a pair', withRecord({ headers: [['a']] })],
    ['a non-string header name', withRecord({ headers: [[42, utf8('x')]] })],
    ['a header name with a lone surrogate', withRecord({ headers: [['\uD800', utf8('x')]] })],
    ['a string header value', withRecord({ headers: [['a', 'x']] })],
    ['a null record', [{ ...ok, records: [null] }]],
    ['a null batch', [null]],
    ['a repeated partition', [ok, { ...ok, compression: 'gzip' }]],
    ['more than 65535 batches', Array.from({ length: 65536 }, (_, partition) => ({ ...ok, partition }))],
  ];
  for (const [name, input] of cases) {
    test(`rejects ${name} with InvalidArgumentError`, () => {
      assert.throws(() => encodeSegment(input as BatchInput[]), InvalidArgumentError);
    });
  }

  test('rejects a batch whose records section exceeds 64 MiB with InvalidArgumentError', () => {
    const huge = record({ value: new Uint8Array(64 * 1024 * 1024) });
    assert.throws(() => encodeSegment([{ ...ok, records: [huge] }]), /above the 67108864-byte batch limit/);
  });

  test('names the offending field in the message', () => {
    assert.throws(
      () => encodeSegment([ok, { ...ok, partition: 1, records: [record(), { ...record(), timestamp: -5 }] }]),
      /batches\[1\]\.records\[1\]\.timestamp/,
    );
  });
});

describe('recordSize', () => {
  test('counts key, value, UTF-8 header names and header values', () => {
    const r = record({
      key: utf8('abc'),
      value: utf8('hello'),
      headers: [
        ['é', utf8('xy')],
        ['h', new Uint8Array(0)],
      ],
    });
    assert.equal(recordSize(r), 3 + 5 + 2 + 2 + 1 + 0);
  });

  test('counts a null key as zero bytes', () => {
    assert.equal(recordSize(record({ key: null, value: new Uint8Array(10) })), 10);
  });
});
