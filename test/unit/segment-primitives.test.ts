import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { CorruptSegmentError } from '../../lib/core/errors.ts';
import { crc32c } from '../../lib/core/segment/crc.ts';
import { ByteReader } from '../../lib/core/segment/reader.ts';
import { encodeRecords, measureRecords, writeRecords } from '../../lib/core/segment/record.ts';
import { readVarint, varintSize, writeVarint } from '../../lib/core/segment/varint.ts';
import { throwsCorrupt, utf8 } from './segment-fixtures.ts';

describe('crc32c', () => {
  test('matches the CRC-32C check value for "123456789"', () => {
    assert.equal(crc32c(utf8('123456789')), 0xe3069283);
  });

  test('is 0 for no bytes and always unsigned', () => {
    assert.equal(crc32c(new Uint8Array(0)), 0);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const crc = crc32c(bytes);
        assert.ok(Number.isInteger(crc) && crc >= 0 && crc <= 0xffff_ffff);
      }),
    );
  });
});

function encodeVarint(value: number): Uint8Array {
  const out = new Uint8Array(varintSize(value));
  assert.equal(writeVarint(out, 0, value), out.length);
  return out;
}

describe('varint', () => {
  test('encodes as unsigned LEB128', () => {
    assert.deepStrictEqual([...encodeVarint(0)], [0x00]);
    assert.deepStrictEqual([...encodeVarint(127)], [0x7f]);
    assert.deepStrictEqual([...encodeVarint(128)], [0x80, 0x01]);
    assert.deepStrictEqual([...encodeVarint(300)], [0xac, 0x02]);
    assert.deepStrictEqual([...encodeVarint(2 ** 32)], [0x80, 0x80, 0x80, 0x80, 0x10]);
    assert.deepStrictEqual(
      [...encodeVarint(Number.MAX_SAFE_INTEGER)],
      [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f],
    );
  });

  test('round-trips every safe non-negative integer and consumes exactly its bytes', () => {
    fc.assert(
      fc.property(fc.oneof(fc.nat(), fc.maxSafeNat()), (value) => {
        const bytes = encodeVarint(value);
        const reader = new ByteReader(bytes);
        assert.equal(readVarint(reader, 'x'), value);
        assert.equal(reader.pos, bytes.length);
      }),
      { numRuns: 300 },
    );
  });

  test('rejects truncated, non-canonical, too-long and unsafe varints', () => {
    const read = (bytes: number[]) => () => readVarint(new ByteReader(Uint8Array.from(bytes)), 'x');
    throwsCorrupt(read([]), /truncated varint/);
    throwsCorrupt(read([0x80]), /truncated varint/);
    throwsCorrupt(read([0x80, 0x00]), /non-canonical/);
    throwsCorrupt(read([0xff, 0x80, 0x00]), /non-canonical/);
    throwsCorrupt(read([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), /longer than 8 bytes/);
    throwsCorrupt(read([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x10]), /exceeds 2\^53 - 1/);
  });

  test('never reads past the reader end', () => {
    const reader = new ByteReader(Uint8Array.from([0x01, 0x80, 0x01]), 0, 2);
    assert.equal(readVarint(reader, 'x'), 1);
    assert.throws(() => readVarint(reader, 'x'), CorruptSegmentError);
  });
});

describe('writing measured records', () => {
  const record = (value: string) => ({
    key: null,
    value: utf8(value),
    valueIsJson: false,
    headers: [],
    timestamp: 5,
  });

  test('writes exactly the measured bytes, where it is told', () => {
    const records = [record('abc'), record('de')];
    const layout = measureRecords(records, 5);
    const out = new Uint8Array(layout.total + 3).fill(0xee);
    writeRecords(out, 3, records, 5, layout);
    assert.deepEqual([...out.subarray(0, 3)], [0xee, 0xee, 0xee]);
    assert.deepEqual([...out.subarray(3)], [...encodeRecords(records, 5)]);
  });

  test('records that changed after they were measured throw instead of writing a batch its header does not describe', () => {
    const records = [record('abcdef')];
    const layout = measureRecords(records, 5);
    const changed = [record('ab')];
    assert.throws(
      () => writeRecords(new Uint8Array(layout.total), 0, changed, 5, layout),
      /records changed while encoded/,
    );
  });
});
