import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DuplicateSequenceError,
  OutOfOrderSequenceError,
  ProducerFencedError,
} from '../../lib/core/errors.ts';
import {
  afterAppend,
  decide,
  PRODUCER_WINDOW,
  type ProducerBatch,
  type ProducerState,
} from '../../lib/core/producer-state.ts';

const batch = (sequence: number, count = 1, epoch = 0): ProducerBatch => ({
  producerId: '7',
  epoch,
  sequence,
  count,
});

/** The state after appending `batches` in order. */
function stateAfter(batches: readonly ProducerBatch[]): ProducerState | undefined {
  let state: ProducerState | undefined;
  batches.forEach((b, i) => {
    state = afterAppend(state, b, { objectId: `obj-${i}`, bound: i * 10, now: 1000 + i });
  });
  return state;
}

describe("Kafka's idempotent producer rules", () => {
  test('a first batch must start at sequence 0', () => {
    assert.deepEqual(decide(undefined, batch(0)), { kind: 'append' });
    const refused = decide(undefined, batch(3));
    assert.ok(refused.kind === 'error' && refused.error instanceof OutOfOrderSequenceError);
  });

  test('each of the last 5 batches is a duplicate with its object and bound; the 6th back is DuplicateSequence', () => {
    const batches = Array.from({ length: 6 }, (_, k) => batch(k * 2, 2));
    const state = stateAfter(batches);
    assert.equal(state?.window.length, PRODUCER_WINDOW);
    for (let k = 1; k < 6; k++) {
      assert.deepEqual(decide(state, batch(k * 2, 2)), {
        kind: 'duplicate',
        batch: { sequence: k * 2, count: 2, objectId: `obj-${k}`, bound: k * 10 },
      });
    }
    const old = decide(state, batch(0, 2));
    assert.ok(old.kind === 'error' && old.error instanceof DuplicateSequenceError);
  });

  test('the next sequence is appended; a gap or a resend with another count is OutOfOrderSequence', () => {
    const state = stateAfter([batch(0, 3)]);
    assert.deepEqual(decide(state, batch(3)), { kind: 'append' });
    for (const b of [batch(4), batch(0, 2), batch(1)]) {
      const d = decide(state, b);
      assert.ok(d.kind === 'error' && d.error instanceof OutOfOrderSequenceError, JSON.stringify(b));
    }
  });

  test('sequences wrap modulo 2^31 as Kafka counts them: a batch straddling the wrap, then the next from 12, are appended; old ones stay duplicates', () => {
    const top = 2 ** 31 - 40;
    const batches = [batch(top, 20), batch(top + 20, 20)];
    let state = stateAfter(batches);
    assert.equal(state?.nextSequence, 0);
    assert.deepEqual(decide(state, batch(0, 12)), { kind: 'append' });
    state = afterAppend(state, batch(0, 12), { objectId: 'obj-w', bound: 99, now: 2000 });
    assert.equal(state.nextSequence, 12);
    assert.deepEqual(decide(state, batch(12)), { kind: 'append' });
    // The batches before the wrap are still recognised as duplicates (in the window) …
    assert.equal(decide(state, batch(top + 20, 20)).kind, 'duplicate');
    // … a gap after the wrap is ahead (the server waits for its predecessor) …
    const gap = decide(state, batch(20));
    assert.ok(gap.kind === 'error' && gap.error instanceof OutOfOrderSequenceError && gap.error.ahead);
    // … and a batch from before the window, across the wrap, is DuplicateSequence, not a gap.
    const older = decide(state, batch(top - 10, 10));
    assert.ok(older.kind === 'error' && older.error instanceof DuplicateSequenceError);
    // A straddling batch: 2^31 - 5 with 10 records ends at 4; the next starts at 5.
    const straddle = afterAppend(undefined, batch(0), { objectId: 'a', bound: 0, now: 1 });
    const s2 = afterAppend({ ...straddle, nextSequence: 2 ** 31 - 5 }, batch(2 ** 31 - 5, 10), {
      objectId: 'b',
      bound: 1,
      now: 2,
    });
    assert.equal(s2.nextSequence, 5);
    assert.deepEqual(decide(s2, batch(5)), { kind: 'append' });
  });

  test('a lower epoch is fenced; a higher epoch starts at 0 and forgets the old window', () => {
    const state = stateAfter([batch(0, 1, 2)]);
    const fenced = decide(state, batch(1, 1, 1));
    assert.ok(fenced.kind === 'error' && fenced.error instanceof ProducerFencedError);
    assert.deepEqual(decide(state, batch(0, 1, 3)), { kind: 'append' });
    const notZero = decide(state, batch(5, 1, 3));
    assert.ok(notZero.kind === 'error' && notZero.error instanceof OutOfOrderSequenceError);
    const next = afterAppend(state, batch(0, 1, 3), { objectId: 'x', bound: 0, now: 5 });
    assert.deepEqual(
      next.window.map((b) => b.objectId),
      ['x'],
    );
  });
});
