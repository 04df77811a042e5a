import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { decodeBatch, encodeSegment, offsetDelta } from '../../lib/core/segment/index.ts';
import { COMPRESSIONS, onlyCorrupt, rawBatch, record, recordArb, throwsCorrupt } from './segment-fixtures.ts';

const ts = { minTimestamp: 1000n, maxTimestamp: 1000n };
/** One record: length 5, flags 0, delta 0, value "v", no headers. */
const ONE_RECORD = [0x05, 0x00, 0x00, 0x01, 0x76, 0x00];

/** Records with strictly increasing deltas inside a span larger than their count. */
const sparseArb = fc.array(recordArb, { minLength: 1, maxLength: 6 }).chain((records) =>
  fc
    .uniqueArray(fc.nat({ max: 5000 }), { minLength: records.length, maxLength: records.length })
    .chain((deltas) => {
      const sorted = [...deltas].sort((a, b) => a - b);
      const last = sorted.at(-1) as number;
      return fc
        .integer({ min: last + 1, max: last + 100 })
        .filter((span) => span > records.length)
        .map((span) => ({ records, offsetDeltas: sorted, span }));
    }),
);

describe('sparse batches (what key compaction writes)', () => {
  test('a sparse batch decodes to its records at their deltas, for any records, deltas and compression', () => {
    fc.assert(
      fc.property(
        sparseArb,
        fc.constantFrom(...COMPRESSIONS),
        ({ records, offsetDeltas, span }, compression) => {
          const { bytes, batches } = encodeSegment([
            { partition: 3, records, compression, sparse: { offsetDeltas, span } },
          ]);
          const loc = batches[0];
          assert.ok(loc);
          assert.equal(loc.span, span);
          assert.equal(loc.recordCount, records.length);
          const decoded = decodeBatch(bytes.subarray(loc.byteOffset, loc.byteOffset + loc.byteLength), {
            partition: 3,
            recordCount: span,
          });
          assert.deepStrictEqual(decoded.records, records);
          assert.equal(decoded.span, span);
          assert.deepEqual(
            decoded.records.map((_, i) => offsetDelta(decoded, i)),
            offsetDeltas,
          );
        },
      ),
      { numRuns: 150 },
    );
  });

  test('deltas without a hole are written dense (span = record count, no sparse attribute)', () => {
    const records = [record(), record()];
    const { bytes, batches } = encodeSegment([
      { partition: 0, records, compression: 'none', sparse: { offsetDeltas: [0, 1], span: 2 } },
    ]);
    const loc = batches[0];
    assert.ok(loc);
    assert.equal(bytes[loc.byteOffset + 9], 0, 'attributes: no sparse bit');
    const decoded = decodeBatch(bytes.subarray(loc.byteOffset), { partition: 0, recordCount: 2 });
    assert.equal(decoded.offsetDeltas, undefined);
  });

  test('a sparse batch whose span differs from the index entry is corrupt', () => {
    const { bytes, batches } = encodeSegment([
      { partition: 0, records: [record()], compression: 'none', sparse: { offsetDeltas: [4], span: 10 } },
    ]);
    const loc = batches[0];
    assert.ok(loc);
    const batch = bytes.subarray(loc.byteOffset, loc.byteOffset + loc.byteLength);
    throwsCorrupt(
      () => decodeBatch(batch, { partition: 0, recordCount: 1 }),
      /covers 10 offsets, expected 1/,
    );
    assert.equal(decodeBatch(batch, { partition: 0, recordCount: 10 }).records.length, 1);
  });

  test('a sparse prefix placing a record at or past its span is corrupt', () => {
    // span 3, gap 3: the record would sit at delta 3.
    const stored = Uint8Array.from([0x03, 0x03, ...ONE_RECORD]);
    throwsCorrupt(
      () => decodeBatch(rawBatch({ recordCount: 1, attributes: 0x08, ...ts, stored })),
      /outside its span 3/,
    );
  });

  test('a sparse batch without a hole is corrupt (it must be written dense)', () => {
    const stored = Uint8Array.from([0x01, 0x00, ...ONE_RECORD]);
    throwsCorrupt(
      () => decodeBatch(rawBatch({ recordCount: 1, attributes: 0x08, ...ts, stored })),
      /no hole/,
    );
  });

  test('random bytes with the sparse attribute only ever throw CorruptSegmentError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat({ max: 4 }), (stored, recordCount) => {
        onlyCorrupt(() => decodeBatch(rawBatch({ recordCount, attributes: 0x08, ...ts, stored })));
      }),
      { numRuns: 300 },
    );
  });
});
