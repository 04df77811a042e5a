import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { CorruptSegmentError } from '../../lib/core/errors.ts';
import { decodeIndexEntry, encodeIndexEntry } from '../../lib/core/index-codec.ts';
import type { PendingEntry } from '../../lib/core/index-entry.ts';
import { newObjectId, objectIdFromBytes, objectIdToBytes } from '../../lib/core/object-keys.ts';

const NOW = 1_795_000_000_000;

const entryArb = fc
  .record({
    time: fc.integer({ min: 0, max: 2 ** 47 }),
    random: fc.uint8Array({ minLength: 6, maxLength: 6 }),
    byteOffset: fc.nat({ max: 2 ** 40 }),
    byteLength: fc.integer({ min: 1, max: 2 ** 30 }),
    recordCount: fc.integer({ min: 1, max: 10_000 }),
    appendDelta: fc.integer({ min: -1e9, max: 1e9 }),
    tsDelta: fc.integer({ min: -1e12, max: 1e12 }),
  })
  .map(({ time, random, byteOffset, byteLength, recordCount, appendDelta, tsDelta }): PendingEntry => {
    const appendTime = Math.max(0, time + appendDelta);
    return {
      objectId: `${time.toString(36).padStart(12, '0')}-${Buffer.from(random).toString('hex')}`,
      byteOffset,
      byteLength,
      recordCount,
      appendTime,
      maxTimestamp: Math.max(0, appendTime + tsDelta),
    };
  });

describe('index entry codec (format 2)', () => {
  test('an entry round-trips exactly', () => {
    fc.assert(
      fc.property(entryArb, (entry) => assert.deepEqual(decodeIndexEntry(encodeIndexEntry(entry)), entry)),
    );
  });

  test('a typical 1 KiB batch entry is at most 24 bytes', () => {
    const entry = {
      objectId: newObjectId(NOW),
      byteOffset: 8,
      byteLength: 1100,
      recordCount: 1,
      appendTime: NOW + 40,
      maxTimestamp: NOW + 12,
    };
    assert.ok(encodeIndexEntry(entry).length <= 24, `${encodeIndexEntry(entry).length} bytes`);
  });

  test('random or truncated bytes only ever throw CorruptSegmentError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        try {
          decodeIndexEntry(bytes);
        } catch (error) {
          assert.ok(error instanceof CorruptSegmentError, String(error));
        }
      }),
    );
    const whole = encodeIndexEntry({
      objectId: newObjectId(NOW),
      byteOffset: 300,
      byteLength: 70_000,
      recordCount: 500,
      appendTime: NOW,
      maxTimestamp: NOW,
    });
    for (let cut = 0; cut < whole.length; cut++) {
      assert.throws(() => decodeIndexEntry(whole.subarray(0, cut)), CorruptSegmentError);
    }
    assert.throws(() => decodeIndexEntry(new Uint8Array([...whole, 0])), CorruptSegmentError);
  });

  test('object ids convert to 12 bytes and back; other strings are refused', () => {
    const id = newObjectId(NOW);
    assert.equal(objectIdToBytes(id).length, 12);
    assert.equal(objectIdFromBytes(objectIdToBytes(id)), id);
    for (const bad of ['', 'x', `${id}0`, id.toUpperCase(), '000mhx7s2kq0-5f1c0a9b3e2d4c1a']) {
      assert.throws(() => objectIdToBytes(bad), /not a segment object id/);
    }
  });
});
