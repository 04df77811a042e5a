import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IndexEntry } from '../../lib/core/index-entry.ts';
import type { PartitionHead, SizeCount } from '../../lib/core/ports.ts';
import { MAX_ENTRIES_PER_STEP, planRetention } from '../../lib/core/retention.ts';

/** Batches of 2 records, 100 bytes, appended at 0, 10, 20, ... ms. */
const log: IndexEntry[] = Array.from({ length: 10 }, (_, i) => ({
  baseOffset: 2 * i,
  recordCount: 2,
  objectId: `obj${i}`,
  byteOffset: 0,
  byteLength: 100,
  maxTimestamp: 0,
  appendTime: 10 * i,
}));

function entriesFrom(offset: number): AsyncIterable<IndexEntry> {
  return (async function* () {
    for (const e of log) if (e.baseOffset + e.recordCount > offset) yield e;
  })();
}

const head = (start: number, sizes: SizeCount = { from: 0, through: 0, bytes: 0 }): PartitionHead => ({
  partition: 0,
  logStartOffset: start,
  highWatermark: 20,
  tail: [],
  tailBase: 20,
  sizes,
});
const keep = { retentionMs: -1, retentionBytes: -1 };

test('a first step counts every live batch and moves nothing when the policy keeps everything', async () => {
  const plan = await planRetention(head(0), entriesFrom, keep, 1_000);
  assert.deepEqual(plan, {
    start: 0,
    sizes: { from: 0, through: 20, bytes: 1000 },
    firstLiveAppendTime: 0,
    changed: true,
  });
  const again = await planRetention(head(0, plan.sizes), entriesFrom, keep, 1_000);
  assert.equal(again.changed, false);
});

test('by time: whole batches appended before now − retentionMs leave, the first kept one is reported', async () => {
  const plan = await planRetention(head(0), entriesFrom, { retentionMs: 100, retentionBytes: -1 }, 135);
  // Cutoff 35: batches appended at 0, 10, 20, 30 leave.
  assert.equal(plan.start, 8);
  assert.deepEqual(plan.sizes, { from: 8, through: 20, bytes: 600 });
  assert.equal(plan.firstLiveAppendTime, 40);
});

test('by bytes: batches leave while the rest still holds at least retentionBytes', async () => {
  const plan = await planRetention(head(0), entriesFrom, { retentionMs: -1, retentionBytes: 250 }, 0);
  assert.equal(plan.start, 14);
  assert.equal(plan.sizes.bytes, 300);
});

test('everything may expire: the log start reaches the high watermark and no live batch is reported', async () => {
  const plan = await planRetention(head(0), entriesFrom, { retentionMs: 0, retentionBytes: -1 }, 1_000);
  assert.equal(plan.start, 20);
  assert.equal(plan.sizes.bytes, 0);
  assert.equal(plan.firstLiveAppendTime, undefined);
});

test('records deleted by DeleteRecords are uncounted; a batch cut in the middle stays counted', async () => {
  const counted = { from: 0, through: 20, bytes: 1000 };
  const plan = await planRetention(head(5, counted), entriesFrom, keep, 0);
  // [0,2) and [2,4) are wholly below 5; [4,6) holds 5 and stays.
  assert.equal(plan.start, 5);
  assert.deepEqual(plan.sizes, { from: 5, through: 20, bytes: 800 });
  assert.equal(plan.firstLiveAppendTime, 20);
});

test('a log start moved past what was counted counts only what is live', async () => {
  const counted = { from: 0, through: 6, bytes: 300 };
  const plan = await planRetention(head(9, counted), entriesFrom, keep, 0);
  // Batches [0,6) leave the count; [6,8) is below the start and was never counted; [8,10) holds 9.
  assert.deepEqual(plan.sizes, { from: 9, through: 20, bytes: 600 });
});

test('a backlog is caught up over several bounded steps, never counting or dropping more than the cap', async () => {
  const total = MAX_ENTRIES_PER_STEP * 2 + 10;
  const big: IndexEntry[] = Array.from({ length: total }, (_, i) => ({
    baseOffset: i,
    recordCount: 1,
    objectId: 'o',
    byteOffset: 0,
    byteLength: 10,
    maxTimestamp: 0,
    appendTime: i,
  }));
  const from = (offset: number) =>
    (async function* () {
      for (let i = Math.max(0, offset); i < total; i++) yield big[i] as IndexEntry;
    })();
  let h: PartitionHead = { ...head(0), highWatermark: total, tailBase: total };
  const steps: number[] = [];
  for (let i = 0; i < 5 && h.logStartOffset < total; i++) {
    const plan = await planRetention(h, from, { retentionMs: 0, retentionBytes: -1 }, total + 1);
    assert.ok(plan.start - h.logStartOffset <= MAX_ENTRIES_PER_STEP);
    assert.ok(plan.sizes.through - h.sizes.through <= MAX_ENTRIES_PER_STEP);
    assert.ok(plan.sizes.bytes >= 0);
    steps.push(plan.start);
    h = { ...h, logStartOffset: plan.start, sizes: plan.sizes };
  }
  assert.deepEqual(steps, [MAX_ENTRIES_PER_STEP, 2 * MAX_ENTRIES_PER_STEP, total]);
});
