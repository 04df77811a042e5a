import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CorruptSegmentError } from '../../lib/core/errors.ts';
import { encodeBatch } from '../../lib/core/segment/index.ts';
import { type BatchRefs, readBatchRefs, recordsOfRefs } from '../../lib/core/wire/batch-refs.ts';
import { decodeFetchFrame, encodeFetchFrame } from '../../lib/core/wire/fetch-frame.ts';
import { record, utf8 } from './segment-fixtures.ts';

const records = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => record({ value: utf8(`v${from + i}`) }));
const a = encodeBatch({ partition: 3, compression: 'none', records: records(5) });
const b = encodeBatch({ partition: 3, compression: 'gzip', records: records(4, 5) });
const ref = (baseOffset: number, bytes: Uint8Array) => ({
  baseOffset,
  appendTime: 7,
  length: bytes.length,
  url: 'https://bucket.s3.amazonaws.com/k?X-Amz-Signature=x',
  range: `bytes=0-${bytes.length - 1}`,
});
const refs: BatchRefs = {
  highWatermark: 9,
  logStartOffset: 0,
  nextOffset: 9,
  expiresAt: 1,
  batches: [ref(0, a), ref(5, b)],
};

describe('batch references', () => {
  test('the records of fetched batches are exactly those of a frame of the same batches', () => {
    const frame = decodeFetchFrame(
      encodeFetchFrame({
        highWatermark: 9,
        logStartOffset: 0,
        nextOffset: 9,
        batches: [
          { baseOffset: 0, appendTime: 7, bytes: a },
          { baseOffset: 5, appendTime: 7, bytes: b },
        ],
      }),
      { offset: 2, maxRecords: 5 },
    );
    assert.deepEqual(recordsOfRefs(refs, [a, b], { offset: 2, maxRecords: 5 }, 3), frame);
    assert.deepEqual(
      recordsOfRefs(refs, [a, b], { offset: 2, maxRecords: 5 }, 3).records.map((r) => r.offset),
      [2, 3, 4, 5, 6],
    );
  });

  test('bytes that are not the batch named are CorruptSegment: short, long, another partition, a flipped byte, swapped', () => {
    const other = encodeBatch({ partition: 4, compression: 'none', records: records(5) });
    const flipped = Uint8Array.from(a);
    flipped[a.length - 2] = (flipped[a.length - 2] ?? 0) ^ 1;
    const long = new Uint8Array(a.length + 1);
    long.set(a);
    for (const bytes of [[a.subarray(1), b], [long, b], [other, b], [flipped, b], [b, a], [a]]) {
      assert.throws(() => recordsOfRefs(refs, bytes, { offset: 0 }, 3), CorruptSegmentError);
    }
  });

  test('an answer that is not batch references is refused, field by field', () => {
    const good = JSON.parse(JSON.stringify(refs));
    assert.deepEqual(readBatchRefs(good), refs);
    const broken: unknown[] = [
      null,
      [],
      { ...good, highWatermark: -1 },
      { ...good, nextOffset: 1.5 },
      { ...good, expiresAt: '1' },
      { ...good, batches: {} },
      { ...good, batches: [null] },
      { ...good, batches: [{ ...good.batches[0], length: 3 }] },
      { ...good, batches: [{ ...good.batches[0], url: 'file:///etc/passwd' }] },
      { ...good, batches: [{ ...good.batches[0], range: 'bytes=0-' }] },
      { ...good, batches: [{ ...good.batches[0], baseOffset: undefined }] },
    ];
    for (const value of broken)
      assert.throws(() => readBatchRefs(value), CorruptSegmentError, JSON.stringify(value));
  });
});
