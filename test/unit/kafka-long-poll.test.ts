import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Clock } from '../../lib/kafka/server/context.ts';
import { gatedLook, longPoll } from '../../lib/kafka/server/long-poll.ts';

/** A clock whose sleeps only move its time. */
function fakeClock(): Clock & { slept: number[] } {
  let now = 0;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms: number) => {
      slept.push(ms);
      now += ms;
    },
  };
}

/** A partition whose high watermark the test moves; counts reads of records and of the head. */
function partition() {
  const p = { highWatermark: 10, reads: 0, heads: 0 };
  const look = gatedLook({
    read: async () => {
      p.reads++;
      const records = p.highWatermark - 7;
      return { highWatermark: p.highWatermark, bytes: records > 0 ? records * 100 : 0, failed: false };
    },
    highWatermark: async () => {
      p.heads++;
      return p.highWatermark;
    },
    reusableAt: (v) => (v.failed || v.bytes === 0 ? undefined : v.highWatermark),
  });
  return { p, look };
}

describe('a gated look of the long poll', () => {
  test('reads records once while the high watermark stays; later looks read only the head', async () => {
    const { p, look } = partition();
    const clock = fakeClock();
    const found = await longPoll(async () => ({ value: (await look()).bytes, bytes: 300, failed: false }), {
      maxWaitMs: 1_000,
      minBytes: 1_000,
      clock,
    });
    assert.equal(found, 300);
    assert.equal(p.reads, 1);
    assert.equal(p.heads, clock.slept.length);
    assert.ok(p.heads > 1);
  });

  test('reads records again once the high watermark moved, and answers with them', async () => {
    const { p, look } = partition();
    const clock = fakeClock();
    let looks = 0;
    const found = await longPoll(
      async () => {
        if (++looks === 3) p.highWatermark = 20;
        const v = await look();
        return { value: v, bytes: v.bytes, failed: false };
      },
      { maxWaitMs: 10_000, minBytes: 1_000, clock },
    );
    assert.deepEqual(found, { highWatermark: 20, bytes: 1_300, failed: false });
    assert.equal(p.reads, 2);
    assert.equal(p.heads, 2);
  });

  test('a look that found nothing or failed is not reused: the next look reads again', async () => {
    const values = [
      { bytes: 0, failed: false },
      { bytes: 5, failed: true },
      { bytes: 5, failed: false },
    ];
    let reads = 0;
    let heads = 0;
    const look = gatedLook({
      read: async () => values[reads++] ?? { bytes: 5, failed: false },
      highWatermark: async () => {
        heads++;
        return 3;
      },
      reusableAt: (v) => (v.failed || v.bytes === 0 ? undefined : 3),
    });
    for (let i = 0; i < 5; i++) await look();
    assert.equal(reads, 3);
    assert.equal(heads, 2);
  });

  test('a head read that fails is followed by the full read, which answers', async () => {
    let reads = 0;
    let heads = 0;
    const look = gatedLook({
      read: async () => ++reads,
      highWatermark: async () => {
        heads++;
        throw new Error('the topic was deleted');
      },
      reusableAt: () => 4,
    });
    assert.equal(await look(), 1);
    assert.equal(await look(), 2);
    assert.deepEqual([reads, heads], [2, 1]);
  });
});
