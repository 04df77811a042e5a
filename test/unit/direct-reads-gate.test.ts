import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DirectReadsGate } from '../../lib/client/direct-reads.ts';

const gateAt = (clock: { t: number }) =>
  new DirectReadsGate({ failuresInARow: 3, pauseMs: 1_000, maxPauseMs: 4_000, now: () => clock.t });

describe('DirectReadsGate', () => {
  test('stays open through failures that are not 3 in a row', () => {
    const clock = { t: 0 };
    const gate = gateAt(clock);
    for (let i = 0; i < 10; i++) {
      gate.failed();
      gate.failed();
      gate.succeeded();
      assert.equal(gate.open(), true);
    }
  });

  test('closes after 3 failures in a row and opens again when the pause is over', () => {
    const clock = { t: 0 };
    const gate = gateAt(clock);
    gate.failed();
    gate.failed();
    assert.equal(gate.open(), true);
    gate.failed();
    assert.equal(gate.open(), false);
    clock.t = 999;
    assert.equal(gate.open(), false);
    clock.t = 1_000;
    assert.equal(gate.open(), true, 'one try after the pause');
  });

  test('a failed try after a pause doubles the next pause, up to the longest', () => {
    const clock = { t: 0 };
    const gate = gateAt(clock);
    for (let i = 0; i < 3; i++) gate.failed();
    const pauses: number[] = [];
    for (let round = 0; round < 5; round++) {
      const closedAt = clock.t;
      while (!gate.open()) clock.t += 100;
      pauses.push(clock.t - closedAt);
      gate.failed();
    }
    assert.deepEqual(pauses, [1_000, 2_000, 4_000, 4_000, 4_000]);
  });

  test('a direct read that works opens it for good, and the next closing starts from the first pause', () => {
    const clock = { t: 0 };
    const gate = gateAt(clock);
    for (let i = 0; i < 3; i++) gate.failed();
    clock.t = 1_000;
    gate.failed(); // the try after the pause: the next pause is 2 s
    clock.t = 3_000;
    assert.equal(gate.open(), true);
    gate.succeeded();
    clock.t = 3_001;
    gate.failed();
    gate.failed();
    assert.equal(gate.open(), true, 'two failures after a success do not close it');
    gate.failed();
    assert.equal(gate.open(), false);
    clock.t = 4_001;
    assert.equal(gate.open(), true, 'closed for the first pause again, not a doubled one');
  });

  test('failures of reads that were under way when the pause began do not lengthen it', () => {
    const clock = { t: 0 };
    const gate = gateAt(clock);
    for (let i = 0; i < 3; i++) gate.failed();
    clock.t = 500;
    gate.failed(); // a read-ahead that started before the pause
    gate.failed();
    clock.t = 1_000;
    assert.equal(gate.open(), true);
  });

  test('after a pause one fetch tries the bucket; the others wait for its outcome', () => {
    const clock = { t: 0 };
    const gate = gateAt(clock);
    for (let i = 0; i < 3; i++) gate.failed();
    clock.t = 1_000;
    assert.equal(gate.open(), true, 'the probe');
    assert.equal(gate.open(), false, 'a second fetch meanwhile goes through the API');
    gate.succeeded();
    assert.equal(gate.open(), true);
    assert.equal(gate.open(), true, 'open for all again');
  });

  test('a probe that ends without a word on the bucket hands the probing to the next fetch, pause unchanged', () => {
    const clock = { t: 0 };
    const gate = gateAt(clock);
    for (let i = 0; i < 3; i++) gate.failed();
    clock.t = 1_000;
    assert.equal(gate.open(), true);
    assert.equal(gate.probing, true, 'this fetch is the probe');
    assert.equal(gate.open(), false);
    gate.abandonProbe();
    assert.equal(gate.open(), true, 'the next fetch probes');
    gate.failed();
    assert.equal(gate.open(), false, 'its failure starts the next pause');
  });
});
