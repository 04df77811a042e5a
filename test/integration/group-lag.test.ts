import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { awsPorts } from '../../lib/adapters/aws.ts';
import { RequestCounter } from '../../lib/adapters/request-counter.ts';
import { EngineContext } from '../../lib/engine/context.ts';
import { partitionLag } from '../../lib/engine/lag.ts';
import { Streambed } from '../../lib/engine/streambed.ts';
import { call, localApi } from '../support/http.ts';
import { bytes, type TestStack, testStack } from '../support/stack.ts';

const MIN = 60_000;

/** An engine whose clock runs `clock.offset` ms ahead of the real one (append times follow it). */
function engineAt(stack: TestStack, clock: { offset: number }) {
  const config = { ...stack.config, engine: { now: () => Date.now() + clock.offset } };
  return { log: new Streambed(awsPorts(config)), ctx: new EngineContext(awsPorts(config)) };
}

/** When the record at `offset` (or the first after it) was appended, as a fetch reports it. */
async function appendTimeAt(log: Streambed, topic: string, offset: number): Promise<number> {
  const [first] = (await log.fetch({ topic, partition: 0, offset, maxRecords: 1 })).records;
  assert.ok(first !== undefined, `a record at or after ${offset}`);
  return first.appendTime;
}

/** Reads partition 0's lag and the clock around the read: lagSeconds must lie in the window. */
async function lagOf(log: Streambed, clock: { offset: number }, group: string, topic: string) {
  const from = Date.now() + clock.offset;
  const [lag] = await log.describeGroupOffsets(group, topic);
  const to = Date.now() + clock.offset;
  assert.ok(lag !== undefined);
  return { lag, from, to };
}

function assertAge(read: Awaited<ReturnType<typeof lagOf>>, appendTime: number) {
  const ms = read.lag.lagSeconds * 1000;
  assert.ok(
    ms >= read.from - appendTime - 1 && ms <= read.to - appendTime + 1,
    `lagSeconds ${read.lag.lagSeconds} is the age of a record appended at ${appendTime} (read between ${read.from} and ${read.to})`,
  );
}

describe('consumer lag in records and seconds', () => {
  let stack: TestStack;
  before(async () => {
    stack = await testStack({ pageSize: 4 });
  });
  after(() => stack.close());

  test('under a growing backlog lagSeconds is the age of the oldest unconsumed record by append time (not the producer timestamp) and grows; lagRecords counts the records behind; caught up is 0', async () => {
    const clock = { offset: 0 };
    const { log } = engineAt(stack, clock);
    await log.createTopic({ name: 'backlog', partitions: 1 });
    await log.commitOffsets({ group: 'slow', topic: 'backlog', offsets: [{ partition: 0, offset: 0 }] });
    const caughtUp = await lagOf(log, clock, 'slow', 'backlog');
    assert.deepEqual([caughtUp.lag.lagRecords, caughtUp.lag.lagSeconds], [0, 0]);

    // Backfilled records: their producer timestamps are a day old, their append time is now.
    const dayAgo = Date.now() - 24 * 60 * MIN;
    await log.produce({
      topic: 'backlog',
      records: Array.from({ length: 3 }, (_, i) => ({ value: bytes(`a${i}`), timestamp: dayAgo })),
    });
    const first = await appendTimeAt(log, 'backlog', 0);
    const early = await lagOf(log, clock, 'slow', 'backlog');
    assert.equal(early.lag.lagRecords, 3);
    assert.equal(early.lag.lag, 3);
    assert.equal(early.lag.highWatermark, 3);
    assertAge(early, first);
    assert.ok(early.lag.lagSeconds < 60, 'the producer timestamp does not count');

    // The backlog waits and grows: the age keeps counting from the oldest record, not the newest.
    await sleep(1_200);
    await log.produce({ topic: 'backlog', records: [{ value: bytes('b0') }, { value: bytes('b1') }] });
    const later = await lagOf(log, clock, 'slow', 'backlog');
    assert.equal(later.lag.lagRecords, 5);
    assertAge(later, first);
    assert.ok(later.lag.lagSeconds >= early.lag.lagSeconds + 1.1, JSON.stringify([early.lag, later.lag]));

    // Consuming the first batch: the oldest unconsumed record is now the second batch's.
    await log.commitOffsets({ group: 'slow', topic: 'backlog', offsets: [{ partition: 0, offset: 3 }] });
    const second = await appendTimeAt(log, 'backlog', 3);
    assert.ok(second > first + 1_000);
    const partly = await lagOf(log, clock, 'slow', 'backlog');
    assert.equal(partly.lag.lagRecords, 2);
    assertAge(partly, second);

    await log.commitOffsets({ group: 'slow', topic: 'backlog', offsets: [{ partition: 0, offset: 5 }] });
    const done = await lagOf(log, clock, 'slow', 'backlog');
    assert.deepEqual([done.lag.lagRecords, done.lag.lagSeconds, done.lag.lag], [0, 0, 0]);
  });

  test('the age of an offset in the index pages comes from its page entry: one head read and one Query, no S3 read', async () => {
    const clock = { offset: 0 };
    const { log, ctx } = engineAt(stack, clock);
    await log.createTopic({ name: 'paged', partitions: 1 });
    for (let i = 0; i < 10; i++) {
      await log.produce({ topic: 'paged', records: [{ value: bytes(`p${i}`) }, { value: bytes(`q${i}`) }] });
      clock.offset += MIN; // each batch a minute younger than the one before
    }
    const topic = await ctx.topic('paged');
    const ref = ctx.partitionRef(topic, 0);
    for (let i = 0; ; i++) {
      const head = await ctx.index.readHead(ref);
      if ((head?.tailBase ?? 0) > 5) break;
      assert.ok(i < 50, 'the flusher pages the first entries');
      await sleep(100);
    }
    const expected = await appendTimeAt(log, 'paged', 5); // the third batch, [4, 6)
    const counter = new RequestCounter().attach(stack.s3, 's3:').attach(stack.dynamodb, 'ddb:');
    const now = Date.now() + clock.offset;
    const lag = await partitionLag(ctx, topic, 0, 5, now);
    assert.deepEqual(counter.snapshot(), { 'ddb:GetItem': 1, 'ddb:Query': 1 });
    assert.deepEqual(lag, {
      partition: 0,
      highWatermark: 20,
      lagRecords: 15,
      lagSeconds: (now - expected) / 1000,
    });
    assert.ok(lag.lagSeconds >= 7 * 60, 'seven minutes older than the newest batch');
    // With the head given (a sweep that read every head at once), no head read.
    counter.reset();
    const head = await ctx.index.readHead(ref);
    counter.reset();
    assert.deepEqual(await partitionLag(ctx, topic, 0, 5, now, head), lag);
    assert.deepEqual(counter.snapshot(), { 'ddb:Query': 1 });
    // Caught up or ahead: no index read at all.
    counter.reset();
    assert.deepEqual(await partitionLag(ctx, topic, 0, 20, now, head), {
      partition: 0,
      highWatermark: 20,
      lagRecords: 0,
      lagSeconds: 0,
    });
    assert.deepEqual(counter.snapshot(), {});
  });

  test('an offset below the log start counts from the log start record; one in a compaction hole from the first record after the hole', async () => {
    const clock = { offset: 0 };
    const { log } = engineAt(stack, clock);
    // Below the log start (DeleteRecords): records 0 and 1 are gone, record 2 is the oldest left.
    await log.createTopic({ name: 'trimmed', partitions: 1 });
    for (let i = 0; i < 3; i++) {
      await log.produce({ topic: 'trimmed', records: [{ value: bytes(`t${i}`) }] });
      clock.offset += 5 * MIN;
    }
    await log.deleteRecords('trimmed', 0, 2);
    await log.commitOffsets({ group: 'late', topic: 'trimmed', offsets: [{ partition: 0, offset: 0 }] });
    const trimmed = await lagOf(log, clock, 'late', 'trimmed');
    assert.equal(trimmed.lag.lagRecords, 3);
    assertAge(trimmed, await appendTimeAt(log, 'trimmed', 2));
    assert.ok(trimmed.lag.lagSeconds >= 5 * 60 && trimmed.lag.lagSeconds < 10 * 60 + 60);

    // Compaction holes: offsets 0-4 (the first value of each key) are removed by key compaction.
    await log.createTopic({ name: 'keyed', partitions: 1, config: { cleanupPolicy: 'compact' } });
    for (const round of [1, 2]) {
      for (let k = 0; k < 5; k++) {
        await log.produce({ topic: 'keyed', records: [{ key: bytes(`k${k}`), value: bytes(`v${round}`) }] });
      }
      clock.offset += 10 * MIN;
    }
    clock.offset += 30 * MIN;
    await log.sweep({ graceMs: 2 * MIN });
    const afterHole = await log.fetch({ topic: 'keyed', partition: 0, offset: 2, maxRecords: 1 });
    assert.equal(afterHole.records[0]?.offset, 5, 'offsets 0-4 are holes after compaction');
    await log.commitOffsets({ group: 'late', topic: 'keyed', offsets: [{ partition: 0, offset: 2 }] });
    const holed = await lagOf(log, clock, 'late', 'keyed');
    assert.equal(holed.lag.lagRecords, 8);
    assertAge(holed, afterHole.records[0]?.appendTime as number);
    assert.ok(holed.lag.lagSeconds > 0);
  });

  test('runs that compaction emptied are skipped without a read: the age is that of the first record after them', async () => {
    const clock = { offset: 0 };
    const { log, ctx } = engineAt(stack, clock);
    await log.createTopic({
      name: 'emptied',
      partitions: 1,
      config: { cleanupPolicy: 'compact', deleteRetentionMs: 60 * MIN },
    });
    for (const [key, value] of [
      ['a', 'a1'],
      ['b', 'b1'],
      ['a', null],
      ['b', null],
    ] as const) {
      await log.produce({
        topic: 'emptied',
        records: [{ key: bytes(key), value: value === null ? null : bytes(value) }],
      });
    }
    clock.offset += 30 * MIN;
    await log.sweep({ graceMs: 2 * MIN });
    clock.offset += 2 * 60 * MIN;
    await log.sweep({ graceMs: 2 * MIN }); // the tombstones go too: [0, 4) holds no record
    const topic = await ctx.topic('emptied');
    const ref = ctx.partitionRef(topic, 0);
    const [page] = await ctx.index.pagesFrom(ref, 0, 1);
    assert.equal(page?.entries[0]?.byteLength, 0, 'an entry of no bytes covers the emptied run');
    clock.offset += 10 * MIN;
    await log.produce({ topic: 'emptied', records: [{ key: bytes('c'), value: bytes('c1') }] });
    await log.commitOffsets({ group: 'late', topic: 'emptied', offsets: [{ partition: 0, offset: 0 }] });
    const counter = new RequestCounter().attach(stack.s3, 's3:');
    const read = await lagOf(log, clock, 'late', 'emptied');
    assert.deepEqual(counter.snapshot(), {});
    assert.equal(read.lag.lagRecords, 5);
    assertAge(read, await appendTimeAt(log, 'emptied', 0));
    assert.ok(read.lag.lagSeconds < 60, 'the emptied run, two hours older, does not count');
  });
});

describe('GET /groups/{group}/offsets reports the lag', () => {
  let api: Awaited<ReturnType<typeof localApi>>;
  before(async () => {
    api = await localApi();
  });
  after(() => api.close());

  test('each partition has lagRecords, lagSeconds and lag, as the OpenAPI document says', async () => {
    await call(api.url, 'POST', '/topics', { json: { name: 'http-lag', partitions: 2 } });
    await call(api.url, 'POST', '/topics/http-lag/records', {
      json: {
        records: [
          { value: 1, partition: 0 },
          { value: 2, partition: 0 },
          { value: 3, partition: 1 },
        ],
      },
    });
    await call(api.url, 'PUT', '/groups/readers/offsets', {
      json: {
        topic: 'http-lag',
        offsets: [
          { partition: 0, offset: 0 },
          { partition: 1, offset: 1 },
        ],
      },
    });
    await sleep(300);
    const reply = await call(api.url, 'GET', '/groups/readers/offsets?topic=http-lag');
    assert.equal(reply.status, 200);
    const [p0, p1] = reply.body.offsets;
    assert.deepEqual([p0.partition, p0.lagRecords, p0.lag, p0.highWatermark], [0, 2, 2, 2]);
    assert.ok(p0.lagSeconds >= 0.3 && p0.lagSeconds < 60, String(p0.lagSeconds));
    assert.deepEqual([p1.partition, p1.lagRecords, p1.lagSeconds, p1.lag], [1, 0, 0, 0]);
  });
});
