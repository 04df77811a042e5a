import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compactionSettings, dirtyEnough, keepRecord, keyId } from '../../lib/core/key-compaction.ts';
import { resolveTopicConfig } from '../../lib/core/validation.ts';
import { record, utf8 } from './segment-fixtures.ts';

const key = (k: string) => keyId(utf8(k));

describe('key compaction decisions', () => {
  test('a record with a later record of its key in the dirty part is dropped; the latest is kept', () => {
    const latest = new Map([[key('a'), 9]]);
    assert.equal(keepRecord(record({ key: utf8('a') }), 7, latest, 0, 0), false);
    assert.equal(keepRecord(record({ key: utf8('a') }), 9, latest, 0, 0), true);
  });

  test('a record whose key the dirty part never names is kept', () => {
    assert.equal(keepRecord(record({ key: utf8('b') }), 3, new Map([[key('a'), 9]]), 0, 0), true);
  });

  test('a record without a key is dropped (a compacted topic cannot place it)', () => {
    assert.equal(keepRecord(record({ key: null }), 3, new Map(), 0, 0), false);
  });

  test('a tombstone stays until deleteRetentionMs after it was appended, then goes', () => {
    const tombstone = record({ key: utf8('a'), value: null });
    const latest = new Map([[key('a'), 5]]);
    assert.equal(keepRecord(tombstone, 5, latest, 1_000, 999), true, 'appended after the horizon');
    assert.equal(keepRecord(tombstone, 5, latest, 1_000, 1_001), false, 'appended before the horizon');
  });

  test('keys are compared as bytes, not as text', () => {
    assert.notEqual(keyId(Uint8Array.of(0xc3, 0xa9)), keyId(Uint8Array.of(0xe9)));
    assert.equal(keyId(Uint8Array.of(0, 255)).length, 2);
  });

  test('a pass is due when the dirty share reaches the ratio, never when nothing is dirty', () => {
    assert.equal(dirtyEnough(0, 0, 0), false);
    assert.equal(dirtyEnough(0, 1, 0.5), true);
    assert.equal(dirtyEnough(1000, 1000, 0.5), true);
    assert.equal(dirtyEnough(1001, 999, 0.5), false);
    assert.equal(dirtyEnough(1000, 1, 0), true);
  });

  test('settings default as Kafka: tombstones 1 day, no lag, ratio 0.5', () => {
    assert.deepEqual(compactionSettings(resolveTopicConfig({ cleanupPolicy: 'compact' })), {
      deleteRetentionMs: 86_400_000,
      minCompactionLagMs: 0,
      minCleanableDirtyRatio: 0.5,
    });
    assert.deepEqual(
      compactionSettings({ retentionMs: 1, retentionBytes: -1, maxRecordBytes: 1, compression: 'none' }),
      {
        deleteRetentionMs: 86_400_000,
        minCompactionLagMs: 0,
        minCleanableDirtyRatio: 0.5,
      },
    );
  });
});

describe('cleanupPolicy and its settings', () => {
  test("accepts 'delete', 'compact', 'compact,delete' and 'delete,compact' (stored as 'compact,delete')", () => {
    assert.equal(resolveTopicConfig({}).cleanupPolicy, 'delete');
    assert.equal(resolveTopicConfig({ cleanupPolicy: 'compact' }).cleanupPolicy, 'compact');
    assert.equal(resolveTopicConfig({ cleanupPolicy: 'compact,delete' }).cleanupPolicy, 'compact,delete');
    assert.equal(resolveTopicConfig({ cleanupPolicy: 'delete,compact' }).cleanupPolicy, 'compact,delete');
  });

  for (const [name, config, message] of [
    ['an unknown policy', { cleanupPolicy: 'compacted' }, /cleanupPolicy must be/],
    ['a policy list with spaces', { cleanupPolicy: 'compact, delete' }, /cleanupPolicy must be/],
    ['a negative deleteRetentionMs', { deleteRetentionMs: -1 }, /deleteRetentionMs must be an integer/],
    ['a fractional minCompactionLagMs', { minCompactionLagMs: 1.5 }, /minCompactionLagMs must be an integer/],
    [
      'a ratio above 1',
      { minCleanableDirtyRatio: 1.5 },
      /minCleanableDirtyRatio must be a number in \[0, 1\]/,
    ],
    ['a ratio that is not a number', { minCleanableDirtyRatio: '0.5' }, /minCleanableDirtyRatio/],
  ] as const) {
    test(`refuses ${name}`, () => {
      assert.throws(() => resolveTopicConfig(config), message);
    });
  }
});
