import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { binaryCodec } from '../../lib/client/binary-codec.ts';
import { jsonCodec } from '../../lib/client/json-codec.ts';
import {
  CorruptSegmentError,
  InvalidArgumentError,
  RecordTooLargeError,
  RequestTooLargeError,
} from '../../lib/core/errors.ts';
import { encodeBatch, encodeSegment, readSegment } from '../../lib/core/segment/index.ts';
import { planSegment } from '../../lib/core/segment-plan.ts';
import type { TopicRecord } from '../../lib/core/types.ts';
import { DEFAULT_TOPIC_CONFIG } from '../../lib/core/validation.ts';
import {
  allocateFetchFrame,
  decodeFetchFrame,
  encodeFetchFrame,
  FETCH_FRAME_TYPE,
} from '../../lib/core/wire/fetch-frame.ts';
import { parseProducerHeaders, producerHeaders, SEGMENT_TYPE } from '../../lib/core/wire/produce-headers.ts';
import { batchesArb, onlyCorrupt, record, utf8 } from './segment-fixtures.ts';

const topic = (config: Partial<TopicRecord['config']> = {}, partitions = 4): TopicRecord =>
  ({
    name: 'orders',
    id: 't1',
    partitions,
    config: { ...DEFAULT_TOPIC_CONFIG, ...config },
    createdAt: 0,
  }) as TopicRecord;

const records = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) =>
    record({ value: utf8(`v${from + i}`), timestamp: 1_700_000_000_000 + i }),
  );

describe('fetch frame (binary fetch answers)', () => {
  test('round trip: records from the asked offset on, batches travel whole, offsets from the header', () => {
    const a = encodeBatch({ partition: 0, compression: 'none', records: records(5) });
    const b = encodeBatch({ partition: 0, compression: 'zstd', records: records(3, 5) });
    const frame = encodeFetchFrame({
      highWatermark: 108,
      logStartOffset: 90,
      nextOffset: 108,
      batches: [
        { baseOffset: 100, appendTime: 1, bytes: a },
        { baseOffset: 105, appendTime: 2, bytes: b },
      ],
    });
    const read = decodeFetchFrame(frame, { offset: 102 });
    assert.deepEqual(
      read.records.map((r) => [r.offset, new TextDecoder().decode(r.value as Uint8Array), r.appendTime]),
      [
        [102, 'v2', 1],
        [103, 'v3', 1],
        [104, 'v4', 1],
        [105, 'v5', 2],
        [106, 'v6', 2],
        [107, 'v7', 2],
      ],
    );
    assert.deepEqual([read.nextOffset, read.highWatermark, read.logStartOffset], [108, 108, 90]);
  });

  test('maxRecords trims inside a batch and nextOffset follows the last record returned', () => {
    const a = encodeBatch({ partition: 0, compression: 'none', records: records(10) });
    const frame = encodeFetchFrame({
      highWatermark: 10,
      logStartOffset: 0,
      nextOffset: 10,
      batches: [{ baseOffset: 0, appendTime: 1, bytes: a }],
    });
    const read = decodeFetchFrame(frame, { offset: 3, maxRecords: 4 });
    assert.deepEqual(
      read.records.map((r) => r.offset),
      [3, 4, 5, 6],
    );
    assert.equal(read.nextOffset, 7);
  });

  test('a sparse batch (a compacted log) keeps its offsets and nextOffset skips the holes', () => {
    const sparse = encodeBatch({
      partition: 0,
      compression: 'none',
      records: records(2),
      sparse: { offsetDeltas: [1, 4], span: 6 },
    });
    const frame = encodeFetchFrame({
      highWatermark: 26,
      logStartOffset: 0,
      nextOffset: 26,
      batches: [{ baseOffset: 20, appendTime: 1, bytes: sparse }],
    });
    const read = decodeFetchFrame(frame, { offset: 20 });
    assert.deepEqual(
      read.records.map((r) => r.offset),
      [21, 24],
    );
    assert.equal(read.nextOffset, 26);
  });

  test('batches read into allocateFetchFrame slots are framed in place: same bytes as a copied frame, no copy', () => {
    const a = encodeBatch({ partition: 0, compression: 'none', records: records(5) });
    const b = encodeBatch({ partition: 0, compression: 'gzip', records: records(3, 5) });
    const header = { highWatermark: 8, logStartOffset: 0, nextOffset: 8 };
    const copied = encodeFetchFrame({
      ...header,
      batches: [
        { baseOffset: 0, appendTime: 1, bytes: a },
        { baseOffset: 5, appendTime: 2, bytes: b },
      ],
    });
    const [slotA, slotB] = allocateFetchFrame([a.length, b.length]) as [Uint8Array, Uint8Array];
    slotA.set(a);
    slotB.set(b);
    const placed = encodeFetchFrame({
      ...header,
      batches: [
        { baseOffset: 0, appendTime: 1, bytes: slotA },
        { baseOffset: 5, appendTime: 2, bytes: slotB },
      ],
    });
    assert.deepEqual(placed, copied);
    assert.equal(placed.buffer, slotA.buffer, "the frame is the slots' buffer");
    assert.equal(decodeFetchFrame(placed, { offset: 0 }).records.length, 8);
  });

  test('adjacent views of a buffer allocateFetchFrame did not make are copied, the buffer left alone', () => {
    const a = encodeBatch({ partition: 0, compression: 'none', records: records(2) });
    const room = 40 + 16;
    const foreign = new Uint8Array(room + a.length).fill(7);
    foreign.set(a, room);
    const frame = encodeFetchFrame({
      highWatermark: 2,
      logStartOffset: 0,
      nextOffset: 2,
      batches: [{ baseOffset: 0, appendTime: 1, bytes: foreign.subarray(room) }],
    });
    assert.notEqual(frame.buffer, foreign.buffer);
    assert.ok(foreign.subarray(0, room).every((byte) => byte === 7));
    // Slots used out of order, or only some of them, are copied too.
    const slots = allocateFetchFrame([a.length, a.length]);
    for (const slot of slots) slot.set(a);
    const swapped = encodeFetchFrame({
      highWatermark: 4,
      logStartOffset: 0,
      nextOffset: 4,
      batches: [{ baseOffset: 0, appendTime: 1, bytes: slots[1] as Uint8Array }],
    });
    assert.notEqual(swapped.buffer, slots[0]?.buffer);
    assert.equal(decodeFetchFrame(swapped, { offset: 0 }).records.length, 2);
  });

  test('an empty frame answers nextOffset and the watermarks', () => {
    const frame = encodeFetchFrame({ highWatermark: 5, logStartOffset: 0, nextOffset: 5, batches: [] });
    assert.deepEqual(decodeFetchFrame(frame, { offset: 5 }), {
      records: [],
      nextOffset: 5,
      highWatermark: 5,
      logStartOffset: 0,
    });
  });

  test('every flipped byte is caught (header CRC32C, batch CRC32C or structure) and only ever as CorruptSegment', () => {
    const a = encodeBatch({ partition: 0, compression: 'gzip', records: records(4) });
    const frame = encodeFetchFrame({
      highWatermark: 4,
      logStartOffset: 0,
      nextOffset: 4,
      batches: [{ baseOffset: 0, appendTime: 1, bytes: a }],
    });
    for (let i = 0; i < frame.length; i++) {
      const damaged = frame.slice();
      damaged[i] = (damaged[i] as number) ^ 0x01;
      assert.throws(
        () => decodeFetchFrame(damaged, { offset: 0 }),
        (error: unknown) => error instanceof CorruptSegmentError,
        `byte ${i} flipped was not caught`,
      );
    }
  });

  test('random bytes and truncations only ever throw CorruptSegment', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        onlyCorrupt(() => decodeFetchFrame(bytes, { offset: 0 }));
      }),
    );
    const frame = encodeFetchFrame({
      highWatermark: 3,
      logStartOffset: 0,
      nextOffset: 3,
      batches: [
        {
          baseOffset: 0,
          appendTime: 1,
          bytes: encodeBatch({ partition: 0, compression: 'none', records: records(3) }),
        },
      ],
    });
    for (let n = 0; n < frame.length; n++) {
      assert.throws(() => decodeFetchFrame(frame.subarray(0, n), { offset: 0 }), CorruptSegmentError);
    }
  });
});

describe('planSegment (a binary produce body checked against its topic)', () => {
  test('a valid body: parts in body order with where each batch sits, and readSegment agrees with encodeSegment', () => {
    fc.assert(
      fc.property(batchesArb, (batches) => {
        const { bytes, batches: written } = encodeSegment(batches);
        assert.deepEqual(readSegment(bytes).locations, written);
      }),
      { numRuns: 50 },
    );
    const { bytes, batches } = encodeSegment([
      { partition: 2, compression: 'zstd', records: records(3) },
      { partition: 0, compression: 'none', records: records(1) },
    ]);
    const parts = planSegment(bytes, topic(), { producerId: '77', epoch: 1, sequences: { 0: 5, 2: 9 } });
    assert.deepEqual(
      parts.map((p) => [p.partition, p.location, p.producer]),
      [
        [2, batches[0], { producerId: '77', epoch: 1, sequence: 9, count: 3 }],
        [0, batches[1], { producerId: '77', epoch: 1, sequence: 5, count: 1 }],
      ],
    );
  });

  const refused: Array<
    [string, () => Uint8Array, RegExp, new (...args: never[]) => Error, Partial<TopicRecord['config']>?]
  > = [
    [
      'a flipped byte (CRC32C)',
      () => {
        const { bytes } = encodeSegment([{ partition: 0, compression: 'none', records: records(2) }]);
        bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0xff;
        return bytes;
      },
      /not a valid segment: .*CRC32C mismatch/,
      InvalidArgumentError,
    ],
    [
      'not a segment at all',
      () => utf8('{"records":[]}'),
      /not a valid segment: not a segment object/,
      InvalidArgumentError,
    ],
    [
      'a partition the topic does not have',
      () => encodeSegment([{ partition: 4, compression: 'none', records: records(1) }]).bytes,
      /batch 0 \(partition 4\): topic 'orders' has partitions 0-3/,
      InvalidArgumentError,
    ],
    [
      'a sparse batch',
      () =>
        encodeSegment([
          {
            partition: 0,
            compression: 'none',
            records: records(2),
            sparse: { offsetDeltas: [0, 2], span: 3 },
          },
        ]).bytes,
      /is sparse/,
      InvalidArgumentError,
    ],
    [
      'a record over maxRecordBytes',
      () =>
        encodeSegment([
          { partition: 0, compression: 'none', records: [record({ value: new Uint8Array(2000) })] },
        ]).bytes,
      /record 0 is 2000 bytes; topic 'orders' accepts at most 1000/,
      RecordTooLargeError,
      { maxRecordBytes: 1000 },
    ],
    [
      'a keyless record on a compacted topic',
      () => encodeSegment([{ partition: 0, compression: 'none', records: records(1) }]).bytes,
      /has no key; topic 'orders' is compacted/,
      InvalidArgumentError,
      { cleanupPolicy: 'compact' },
    ],
    [
      'a value flagged JSON that is not JSON',
      () =>
        encodeSegment([
          {
            partition: 0,
            compression: 'none',
            records: [record({ value: utf8('{nope'), valueIsJson: true })],
          },
        ]).bytes,
      /flagged JSON but its value is not UTF-8 JSON text/,
      InvalidArgumentError,
    ],
    [
      'more than 10,000 records',
      () => encodeSegment([{ partition: 0, compression: 'none', records: records(10_001) }]).bytes,
      /at most 10000 records, got 10001/,
      RequestTooLargeError,
    ],
  ];
  for (const [what, body, message, type, config] of refused) {
    test(`refuses ${what} with a typed error that says so`, () => {
      assert.throws(
        () => planSegment(body(), topic(config)),
        (error: unknown) => error instanceof type && message.test((error as Error).message),
      );
    });
  }

  test('a compression bomb is refused from its headers before anything is inflated (413), and a wrong partition before its CRC', () => {
    const zeros = record({ value: new Uint8Array(40 * 1024 * 1024) });
    const { bytes } = encodeSegment([
      { partition: 0, compression: 'zstd', records: [zeros] },
      { partition: 1, compression: 'zstd', records: [zeros] },
    ]);
    assert.ok(bytes.length < 100_000, `${bytes.length} bytes`);
    assert.throws(
      () => planSegment(bytes, topic({ maxRecordBytes: 64 * 1024 * 1024 })),
      (e: unknown) =>
        e instanceof RequestTooLargeError &&
        /inflate to \d+ bytes, above the 67108864-byte limit/.test((e as Error).message),
    );
    const wrong = encodeSegment([{ partition: 9, compression: 'zstd', records: [zeros] }]).bytes;
    wrong[wrong.length - 1] = (wrong[wrong.length - 1] as number) ^ 1; // a bad CRC too: the partition is named first
    assert.throws(
      () => planSegment(wrong, topic()),
      /batch 0 \(partition 9\): topic 'orders' has partitions 0-3/,
    );
  });

  test('an idempotent body needs a sequence for exactly the partitions it writes', () => {
    const { bytes } = encodeSegment([{ partition: 1, compression: 'none', records: records(1) }]);
    assert.throws(
      () => planSegment(bytes, topic(), { producerId: '7', epoch: 0, sequences: { 0: 1 } }),
      /names a partition this call does not write to/,
    );
  });
});

describe('producer headers of a binary produce', () => {
  test('round trip', () => {
    const headers = producerHeaders({ producerId: '8412', epoch: 3, sequences: { 0: 12, 3: 40 } }, [0, 3]);
    assert.deepEqual(parseProducerHeaders(headers), {
      producerId: '8412',
      epoch: 3,
      sequences: { 0: 12, 3: 40 },
    });
    assert.equal(parseProducerHeaders({}), undefined);
  });

  for (const [what, headers, message] of [
    ['only some', { 'streambed-producer-id': '1' }, /needs all of/],
    [
      'a bad epoch',
      { 'streambed-producer-id': '1', 'streambed-producer-epoch': '-1', 'streambed-sequences': '0:1' },
      /epoch must be/,
    ],
    [
      'a bad pair',
      { 'streambed-producer-id': '1', 'streambed-producer-epoch': '0', 'streambed-sequences': '0=1' },
      /pairs joined by commas/,
    ],
    [
      'a partition twice',
      { 'streambed-producer-id': '1', 'streambed-producer-epoch': '0', 'streambed-sequences': '0:1,0:2' },
      /partition 0 twice/,
    ],
  ] as const) {
    test(`refuses ${what}`, () => {
      assert.throws(
        () => parseProducerHeaders(headers),
        (e: unknown) => e instanceof InvalidArgumentError && message.test((e as Error).message),
      );
    });
  }
});

describe('binaryCodec', () => {
  test('encodes one segment grouped by partition and puts the answer back in request order', () => {
    const enc = new TextEncoder();
    const encoded = binaryCodec.encodeProduce({
      topic: 't',
      records: [
        { value: enc.encode('a'), partition: 1, timestamp: 5 },
        { value: enc.encode('b'), partition: 0, timestamp: 6 },
        { value: enc.encode('c'), partition: 1, timestamp: 7, key: new Uint8Array([0xff, 0x00]) },
      ],
      compression: 'gzip',
      producer: { producerId: '9', epoch: 0, sequences: { 0: 4, 1: 2 } },
    });
    assert.equal(encoded.contentType, SEGMENT_TYPE);
    const read = readSegment(encoded.body as Uint8Array);
    assert.deepEqual(
      read.batches.map((b) => [b.partition, b.compression, b.records.length]),
      [
        [1, 'gzip', 2],
        [0, 'gzip', 1],
      ],
    );
    assert.deepEqual(read.batches[0]?.records[1]?.key, new Uint8Array([0xff, 0x00]));
    assert.equal(encoded.headers?.['streambed-sequences'], '0:4,1:2');
    const body = [
      { partition: 1, offset: 10 },
      { partition: 1, offset: 11 },
      { partition: 0, offset: 3 },
    ];
    assert.deepEqual(encoded.toRequestOrder?.(body), [body[0], body[2], body[1]]);
  });

  test('a record without a partition is refused before anything is sent', () => {
    assert.throws(
      () => binaryCodec.encodeProduce({ topic: 't', records: [{ value: null }] }),
      /has no partition/,
    );
  });

  test('a JSON fetch answer is read as JSON; a frame as a frame', () => {
    const json = new TextEncoder().encode(
      JSON.stringify({
        records: [{ offset: 4, timestamp: 1, key: null, value: 1, headers: {} }],
        nextOffset: 5,
        highWatermark: 5,
        logStartOffset: 0,
      }),
    );
    const request = { topic: 't', partition: 0, offset: 4 };
    assert.deepEqual(
      binaryCodec.decodeFetch('application/json', json, request),
      jsonCodec.decodeFetch('application/json', json, request),
    );
    const frame = encodeFetchFrame({
      highWatermark: 1,
      logStartOffset: 0,
      nextOffset: 1,
      batches: [
        {
          baseOffset: 0,
          appendTime: 1,
          bytes: encodeBatch({ partition: 0, compression: 'none', records: records(1) }),
        },
      ],
    });
    const read = binaryCodec.decodeFetch(FETCH_FRAME_TYPE, frame, { topic: 't', partition: 0, offset: 0 });
    assert.deepEqual(
      read.records.map((r) => r.offset),
      [0],
    );
  });
});
