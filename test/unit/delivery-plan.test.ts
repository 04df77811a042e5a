import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { commitPoint, expiredCount, failedOffset, laneOf, splitLanes } from '../../lib/core/delivery-plan.ts';
import type { FetchedRecord } from '../../lib/core/types.ts';

const encoder = new TextEncoder();

function record(offset: number, key: string | null, appendTime = 0, bytes = 1): FetchedRecord {
  return {
    offset,
    key: key === null ? null : encoder.encode(key),
    value: new Uint8Array(bytes),
    headers: [],
    timestamp: 0,
    appendTime,
  } as unknown as FetchedRecord;
}

describe('delivery plan: lanes, failures, commit points', () => {
  test('records with the same key always share a lane; keyless records spread by offset', () => {
    for (const lanes of [1, 4, 10]) {
      const lane = laneOf(record(0, 'user-7'), lanes);
      for (let offset = 1; offset < 50; offset++) assert.equal(laneOf(record(offset, 'user-7'), lanes), lane);
      assert.ok(lane >= 0 && lane < lanes);
    }
    assert.deepEqual(
      [0, 1, 2, 3, 4].map((o) => laneOf(record(o, null), 4)),
      [0, 1, 2, 3, 0],
    );
    assert.equal(laneOf(record(9, 'x'), 1), 0);
  });

  test("splitLanes takes each lane's first records in offset order and never skips a record of a lane to take a later one", () => {
    const records = Array.from({ length: 40 }, (_, i) => record(i, `k${i % 8}`));
    const lanes = splitLanes(records, 4, () => 3, 1 << 20);
    for (const [lane, batch] of lanes) {
      assert.ok(batch.length <= 3);
      const all = records.filter((r) => laneOf(r, 4) === lane);
      assert.deepEqual(
        batch.map((r) => r.offset),
        all.slice(0, batch.length).map((r) => r.offset),
      );
    }
    // A byte budget closes a lane, but one record always goes.
    const big = splitLanes([record(0, 'a', 0, 100), record(1, 'a', 0, 100)], 1, () => 10, 50);
    assert.deepEqual(
      big.get(0)?.map((r) => r.offset),
      [0],
    );
  });

  test('failedOffset: the first record on a function error, the lowest reported item, the whole batch for an unknown identifier', () => {
    const batch = [record(5, 'a'), record(6, 'a'), record(7, 'a')];
    assert.equal(failedOffset(batch, false, { ok: false, error: 'x' }), 5);
    assert.equal(
      failedOffset(batch, false, { ok: true, response: { batchItemFailures: [{ itemIdentifier: '6' }] } }),
      undefined,
    );
    const items = (ids: unknown) => ({ ok: true as const, response: { batchItemFailures: ids } });
    assert.equal(failedOffset(batch, true, items([{ itemIdentifier: '7' }, { itemIdentifier: '6' }])), 6);
    assert.equal(failedOffset(batch, true, items([{ itemIdentifier: '99' }])), 5);
    assert.equal(failedOffset(batch, true, items('nope')), 5);
    assert.equal(failedOffset(batch, true, items([])), undefined);
    assert.equal(failedOffset(batch, true, { ok: true, response: null }), undefined);
  });

  test('expiredCount counts the prefix appended before the cut-off', () => {
    const records = [record(0, 'a', 10), record(1, 'a', 20), record(2, 'a', 5)];
    assert.equal(expiredCount(records, 15), 1);
    assert.equal(expiredCount(records, 0), 0);
    assert.equal(expiredCount(records, 100), 3);
  });

  test('commitPoint never moves into a batch whose outputs are pending, and passes whole batches only', () => {
    assert.deepEqual(commitPoint(10, []), { to: 10, passed: [] });
    const a = { minOffset: 0, maxOffset: 4, outputs: ['a'] };
    const b = { minOffset: 1, maxOffset: 12, outputs: ['b'] };
    const c = { minOffset: 5, maxOffset: 9, outputs: ['c'] };
    // b straddles 10: the offset stays below it, at 1; a straddles 1 too: down to 0.
    assert.deepEqual(commitPoint(10, [a, b, c]), { to: 0, passed: [] });
    assert.deepEqual(commitPoint(13, [b, c, a]), { to: 13, passed: [a, b, c] });
    assert.deepEqual(commitPoint(10, [c, a]), { to: 10, passed: [a, c] });
  });
});
