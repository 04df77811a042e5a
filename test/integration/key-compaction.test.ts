import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { awsPorts, createDispatcher } from '../../lib/adapters/aws.ts';
import { RequestCounter } from '../../lib/adapters/request-counter.ts';
import { isCompactedObject } from '../../lib/core/object-keys.ts';
import { InProcessInvoker } from '../../lib/engine/in-process-invoker.ts';
import { Streambed } from '../../lib/engine/streambed.ts';
import { segmentIds, subscriptionOf } from '../support/lookups.ts';
import { bytes, type TestStack, testStack } from '../support/stack.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const text = (v: Uint8Array | null) => (v === null ? null : new TextDecoder().decode(v));

function engineAt(stack: TestStack, clock: { offset: number }) {
  return new Streambed(awsPorts({ ...stack.config, engine: { now: () => Date.now() + clock.offset } }));
}

interface Read {
  readonly offset: number;
  readonly key: string | null;
  readonly value: string | null;
}

/**
 * Reads a partition from `from` to its high watermark as a consumer does (fetch at nextOffset);
 * asserts offsets strictly increase and that no fetch comes back empty below the high watermark.
 */
async function readAll(log: Streambed, topic: string, partition: number, from = 0): Promise<Read[]> {
  const out: Read[] = [];
  let offset = from;
  for (;;) {
    const r = await log.fetch({ topic, partition, offset, maxRecords: 2_000 });
    if (offset >= r.highWatermark) break;
    assert.ok(
      r.records.length > 0,
      `a fetch at ${offset} below the high watermark ${r.highWatermark} is empty`,
    );
    for (const rec of r.records) {
      assert.ok(rec.offset >= offset, `offset ${rec.offset} read after ${offset}`);
      out.push({ offset: rec.offset, key: text(rec.key), value: text(rec.value) });
      offset = rec.offset + 1;
    }
    assert.ok(r.nextOffset >= offset);
    offset = r.nextOffset;
  }
  return out;
}

/** The latest value of each key in `records`, as a consumer reading them in order would keep it. */
function table(records: readonly { key: string | null; value: string | null }[]): Map<string, string | null> {
  const out = new Map<string, string | null>();
  for (const r of records) out.set(r.key as string, r.value);
  return out;
}

describe('key compaction (cleanupPolicy compact)', () => {
  let stack: TestStack;
  before(async () => {
    stack = await testStack();
  });
  after(() => stack.close());

  test('a changelog of 100,000 updates over 1,000 keys compacts to 1,000 records at their offsets; a reader from the start sees the latest value of every key', async () => {
    const clock = { offset: 0 };
    const log = engineAt(stack, clock);
    await log.createTopic({ name: 'changelog', partitions: 1, config: { cleanupPolicy: 'compact' } });
    for (let round = 0; round < 100; round++) {
      await log.produce({
        topic: 'changelog',
        records: Array.from({ length: 1000 }, (_, k) => ({
          key: bytes(`key-${k}`),
          value: bytes(`v${round}-${k}`),
        })),
      });
    }
    const before = await readAll(log, 'changelog', 0);
    assert.equal(before.length, 100_000);
    assert.equal((await segmentIds(stack, log, 'changelog')).length, 100);

    clock.offset += 30 * MIN;
    const report = await log.sweep({ graceMs: 2 * MIN });
    assert.equal(
      report.topics.find((t) => t.topic === 'changelog')?.recordsCompactedAway,
      99_000,
      JSON.stringify(report),
    );
    const counter = new RequestCounter().attach(stack.s3, 's3:');
    const after = await readAll(stack.engine(), 'changelog', 0);
    assert.equal(after.length, 1_000);
    // Offsets never change: each key's record sits where its last update was appended.
    for (const r of after) {
      const k = Number((r.key as string).slice(4));
      assert.equal(r.offset, 99_000 + k);
      assert.equal(r.value, `v99-${k}`);
    }
    assert.deepEqual(table(after), table(before));
    assert.ok((counter.snapshot()['s3:GetObject'] ?? 0) <= 2, JSON.stringify(counter.snapshot()));
    // The high watermark stays; the log start too; a fetch inside the holes answers the next record.
    const inHole = await log.fetch({ topic: 'changelog', partition: 0, offset: 5, maxRecords: 1 });
    assert.deepEqual(
      inHole.records.map((r) => r.offset),
      [99_000],
    );
    assert.equal(inHole.nextOffset, 99_001);
    assert.equal(inHole.highWatermark, 100_000);
    assert.equal(await log.listOffsets('changelog', 0, 'earliest'), 0);

    // Past the grace, the produced objects go: the log lives in the compactor's object(s).
    clock.offset += 30 * MIN;
    await log.sweep({ graceMs: 2 * MIN });
    const ids = await segmentIds(stack, log, 'changelog');
    assert.ok(ids.length >= 1 && ids.length <= 2 && ids.every(isCompactedObject), ids.join());
    assert.deepEqual(await readAll(log, 'changelog', 0), after);
  });

  test('tombstones delete a key: kept for deleteRetentionMs (a reader sees the delete), then gone without new writes', async () => {
    const clock = { offset: 0 };
    const log = engineAt(stack, clock);
    await log.createTopic({
      name: 'users',
      partitions: 1,
      config: { cleanupPolicy: 'compact', deleteRetentionMs: HOUR },
    });
    for (const [key, value] of [
      ['a', 'a1'],
      ['b', 'b1'],
      ['c', 'c1'],
      ['a', 'a2'],
      ['b', null],
    ] as const) {
      await log.produce({
        topic: 'users',
        records: [{ key: bytes(key), value: value === null ? null : bytes(value) }],
      });
    }
    clock.offset += 30 * MIN;
    await log.sweep({ graceMs: 2 * MIN });
    assert.deepEqual(await readAll(log, 'users', 0), [
      { offset: 2, key: 'c', value: 'c1' },
      { offset: 3, key: 'a', value: 'a2' },
      { offset: 4, key: 'b', value: null },
    ]);
    clock.offset += 2 * HOUR;
    const report = await log.sweep({ graceMs: 2 * MIN });
    assert.equal(report.topics.find((t) => t.topic === 'users')?.recordsCompactedAway, 1);
    assert.deepEqual(await readAll(log, 'users', 0), [
      { offset: 2, key: 'c', value: 'c1' },
      { offset: 3, key: 'a', value: 'a2' },
    ]);
    assert.equal((await log.describeTopic('users')).partitionStates[0]?.highWatermark, 5);
    // A later write after the holes lands at the next offset.
    const { offsets } = await log.produce({
      topic: 'users',
      records: [{ key: bytes('b'), value: bytes('b2') }],
    });
    assert.equal(offsets[0]?.offset, 5);
  });

  test('records younger than minCompactionLagMs are never compacted away, older ones are', async () => {
    const clock = { offset: 0 };
    const log = engineAt(stack, clock);
    await log.createTopic({
      name: 'lagged',
      partitions: 1,
      config: { cleanupPolicy: 'compact', minCompactionLagMs: 2 * HOUR },
    });
    for (const value of ['x1', 'x2', 'x3']) {
      await log.produce({ topic: 'lagged', records: [{ key: bytes('x'), value: bytes(value) }] });
    }
    clock.offset += HOUR;
    await log.sweep({ graceMs: 2 * MIN });
    assert.equal((await readAll(log, 'lagged', 0)).length, 3);
    clock.offset += 2 * HOUR;
    await log.sweep({ graceMs: 2 * MIN });
    assert.deepEqual(await readAll(log, 'lagged', 0), [{ offset: 2, key: 'x', value: 'x3' }]);
  });

  test('a pass waits until the dirty part reaches minCleanableDirtyRatio of the partition', async () => {
    const clock = { offset: 0 };
    const log = engineAt(stack, clock);
    await log.createTopic({
      name: 'ratio',
      partitions: 1,
      config: { cleanupPolicy: 'compact', minCleanableDirtyRatio: 0.5 },
    });
    const write = async (keys: number, tag: string) =>
      await log.produce({
        topic: 'ratio',
        records: Array.from({ length: keys }, (_, k) => ({
          key: bytes(`k${k}`),
          value: bytes(`${tag}`.padEnd(100, '.')),
        })),
      });
    await write(100, 'a');
    clock.offset += 10 * MIN;
    await log.sweep({ graceMs: 2 * MIN });
    assert.equal((await readAll(log, 'ratio', 0)).length, 100);
    // 10 updates against 100 clean records: 9% dirty, no pass.
    await write(10, 'b');
    clock.offset += 10 * MIN;
    let report = await log.sweep({ graceMs: 2 * MIN });
    assert.equal(report.topics.find((t) => t.topic === 'ratio')?.recordsCompactedAway, 0);
    assert.equal((await readAll(log, 'ratio', 0)).length, 110);
    // 100 more: the dirty part is now the larger share.
    await write(100, 'c');
    clock.offset += 10 * MIN;
    report = await log.sweep({ graceMs: 2 * MIN });
    assert.equal(report.topics.find((t) => t.topic === 'ratio')?.recordsCompactedAway, 110);
    const records = await readAll(log, 'ratio', 0);
    assert.equal(records.length, 100);
    assert.ok(records.every((r) => r.value?.startsWith('c')));
  });

  test('repeated passes leave no objects behind: what a pass replaces is deleted after the grace', async () => {
    const clock = { offset: 0 };
    const log = engineAt(stack, clock);
    await log.createTopic({
      name: 'churn',
      partitions: 2,
      config: { cleanupPolicy: 'compact', minCleanableDirtyRatio: 0 },
    });
    for (let round = 0; round < 8; round++) {
      await log.produce({
        topic: 'churn',
        records: Array.from({ length: 50 }, (_, k) => ({ key: bytes(`k${k}`), value: bytes(`r${round}`) })),
      });
      clock.offset += 10 * MIN;
      await log.sweep({ graceMs: 2 * MIN });
    }
    clock.offset += 10 * MIN;
    await log.sweep({ graceMs: 2 * MIN });
    const ids = await segmentIds(stack, log, 'churn');
    // One compactor object per partition, nothing else (8 produce calls, 8 passes).
    assert.ok(ids.every(isCompactedObject), ids.join());
    assert.ok(ids.length <= 2, `${ids.length} objects: ${ids.join()}`);
    const p0 = await readAll(log, 'churn', 0);
    const p1 = await readAll(log, 'churn', 1);
    assert.equal(p0.length + p1.length, 50);
    assert.ok([...p0, ...p1].every((r) => r.value === 'r7'));
  });

  test('key compaction while producers, readers and a consumer function run: readers never go back, the consumer ends with the latest value of every key', async () => {
    const log = stack.engine();
    await log.createTopic({
      name: 'live',
      partitions: 1,
      config: { cleanupPolicy: 'compact', minCleanableDirtyRatio: 0 },
    });
    // The sweeper runs 6 minutes ahead (so every batch looks settled), within its 10-minute grace.
    const sweeper = engineAt(stack, { offset: 6 * MIN });
    const acknowledged = new Map<number, { key: string; value: string }>();
    let producing = true;
    const producers = Array.from({ length: 4 }, async (_, p) => {
      for (let i = 0; producing; i++) {
        const key = `k${(i * 7 + p) % 25}`;
        const value = `p${p}-${i}`;
        const { offsets } = await log.produce({
          topic: 'live',
          records: [{ key: bytes(key), value: bytes(value) }],
        });
        acknowledged.set(offsets[0]?.offset as number, { key, value });
      }
    });
    let reads = 0;
    const readers = Array.from({ length: 2 }, async () => {
      const reader = stack.engine();
      while (producing) {
        for (const r of await readAll(reader, 'live', 0)) {
          const known = acknowledged.get(r.offset);
          if (known !== undefined) assert.deepEqual({ key: r.key, value: r.value }, known);
        }
        reads++;
      }
    });
    const invoker = new InProcessInvoker();
    const delivered: { offset: number; key: string; value: string }[] = [];
    invoker.register('live-fn', async (event) => {
      for (const r of event.Records) {
        delivered.push({
          offset: r.offset,
          key: r.key as string,
          value: Buffer.from(r.valueBase64 ?? '', 'base64').toString(),
        });
      }
    });
    const dispatcher = createDispatcher(stack.config, { invoker });
    await dispatcher.subscribe({
      group: 'live-consumer',
      topic: 'live',
      target: 'live-fn',
      startingPosition: 'earliest',
      batchSize: 50,
    });
    const subscription = await subscriptionOf(stack, 'live-consumer');
    const consumer = (async () => {
      while (producing) await dispatcher.deliver(subscription as never, 0, Date.now() + 5_000);
    })();
    let removed = 0;
    for (let pass = 0; pass < 6; pass++) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const report = await sweeper.sweep({ graceMs: 10 * MIN });
      removed += report.topics.find((t) => t.topic === 'live')?.recordsCompactedAway ?? 0;
    }
    producing = false;
    await Promise.all([...producers, ...readers, consumer]);
    await dispatcher.deliver(subscription as never, 0, Date.now() + 30_000);
    assert.ok(removed > 0, 'compaction removed records while the others ran');
    assert.ok(reads > 2);
    const latest = new Map<string, string>();
    for (const offset of [...acknowledged.keys()].sort((a, b) => a - b)) {
      const { key, value } = acknowledged.get(offset) as { key: string; value: string };
      latest.set(key, value);
    }
    const final = await readAll(log, 'live', 0);
    assert.deepEqual(table(final), latest);
    for (const r of final) assert.deepEqual({ key: r.key, value: r.value }, acknowledged.get(r.offset));
    // The consumer function's first deliveries are in offset order and end with every key's latest value.
    const seen = new Set<number>();
    const firsts = delivered.filter((d) => !seen.has(d.offset) && seen.add(d.offset));
    assert.deepEqual(
      firsts.map((d) => d.offset),
      [...firsts.map((d) => d.offset)].sort((a, b) => a - b),
    );
    assert.deepEqual(table(firsts), latest);
  });

  test('a consumer function whose undelivered records were all compacted away moves its position past the holes to the high watermark', async () => {
    const log = stack.engine();
    await log.createTopic({
      name: 'holes',
      partitions: 1,
      config: { cleanupPolicy: 'compact', deleteRetentionMs: 0 },
    });
    const invoker = new InProcessInvoker();
    const delivered: number[] = [];
    invoker.register('holes-fn', async (event) => {
      for (const r of event.Records) delivered.push(r.offset);
    });
    const dispatcher = createDispatcher(stack.config, { invoker });
    await dispatcher.subscribe({
      group: 'holes-consumer',
      topic: 'holes',
      target: 'holes-fn',
      startingPosition: 'earliest',
    });
    const subscription = await subscriptionOf(stack, 'holes-consumer');
    await log.produce({ topic: 'holes', records: [{ key: bytes('a'), value: bytes('kept') }] });
    await dispatcher.deliver(subscription as never, 0, Date.now() + 10_000);
    // A value and its tombstone, never delivered; the tombstone outlives no retention: both go.
    await log.produce({
      topic: 'holes',
      records: [
        { key: bytes('b'), value: bytes('x') },
        { key: bytes('b'), value: null },
      ],
    });
    await engineAt(stack, { offset: 6 * MIN }).sweep({ graceMs: 10 * MIN });
    assert.deepEqual(await readAll(log, 'holes', 0), [{ offset: 0, key: 'a', value: 'kept' }]);
    await dispatcher.deliver(subscription as never, 0, Date.now() + 10_000);
    assert.deepEqual(delivered, [0]);
    const [position] = await log.fetchOffsets('holes-consumer', 'holes');
    assert.equal(position?.offset, 3);
  });

  test('a compacted topic refuses records without a key and changes nothing', async () => {
    const log = stack.engine();
    await log.createTopic({ name: 'keyed', partitions: 1, config: { cleanupPolicy: 'compact' } });
    await assert.rejects(
      log.produce({
        topic: 'keyed',
        records: [{ key: bytes('k'), value: bytes('v') }, { value: bytes('no key') }],
      }),
      (error: Error & { code?: string }) =>
        error.code === 'InvalidArgument' &&
        /records\[1\] has no key; topic 'keyed' is compacted/.test(error.message),
    );
    assert.equal((await log.describeTopic('keyed')).partitionStates[0]?.highWatermark, 0);
  });
});
