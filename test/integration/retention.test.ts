import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { awsPorts, createStreambed } from '../../lib/adapters/aws.ts';
import { RequestCounter } from '../../lib/adapters/request-counter.ts';
import {
  CommitTooLateError,
  InvalidArgumentError,
  OffsetOutOfRangeError,
  UnknownPartitionError,
} from '../../lib/core/errors.ts';
import { objectIdOf, objectTime, topicPrefix } from '../../lib/core/object-keys.ts';
import type { PartitionHead, PartitionRef } from '../../lib/core/ports.ts';
import type { EngineDeps } from '../../lib/engine/context.ts';
import { Streambed } from '../../lib/engine/streambed.ts';
import { bytes, type TestStack, testStack } from '../support/stack.ts';

const T0 = 1_900_000_000_000;
const MIN = 60_000;

type Clock = { now: number };

/** An engine on the test's clock (object ids, append times, the sweep and the commit limit). */
function engineAt(stack: TestStack, clock: Clock, wrap: (deps: EngineDeps) => EngineDeps = (d) => d) {
  return new Streambed(
    wrap(awsPorts({ ...stack.config, engine: { now: () => clock.now, topicCacheMs: 0 } })),
  );
}

function clocked(stack: TestStack) {
  const clock = { now: T0 };
  return { clock, log: engineAt(stack, clock) };
}

/** Creation times of the topic's segment objects in the bucket. */
async function objectsOf(stack: TestStack, log: Streambed, topic: string): Promise<number[]> {
  const described = await log.describeTopic(topic);
  const prefix = topicPrefix(topic, described.id);
  const out = await stack.s3.send(new ListObjectsV2Command({ Bucket: stack.bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => objectTime(objectIdOf(prefix, o.Key ?? '') ?? ''));
}

const rec = (partition: number, text: string) => ({ value: bytes(text), partition });

describe('DeleteRecords', () => {
  let stack: TestStack;
  let log: Streambed;
  before(async () => {
    stack = await testStack({ pageSize: 2 });
    log = createStreambed(stack.config);
    await log.createTopic({ name: 'dr', partitions: 2 });
    for (let i = 0; i < 5; i++)
      await log.produce({ topic: 'dr', records: [rec(0, `a${i}`), rec(0, `b${i}`)] });
  });
  after(() => stack.close());

  test('moves the log start; reads below it answer OffsetOutOfRange naming the earliest offset', async () => {
    assert.deepEqual(await log.deleteRecords('dr', 0, 3), { logStartOffset: 3 });
    const error = await log.fetch({ topic: 'dr', partition: 0, offset: 2 }).catch((e: unknown) => e);
    assert.ok(error instanceof OffsetOutOfRangeError);
    assert.match(error.message, /log start offset 3, the earliest offset/);
    // A read at the log start starts inside the batch [2, 4): exactly at 3.
    const read = await log.fetch({ topic: 'dr', partition: 0, offset: 3 });
    assert.deepEqual(
      read.records.map((r) => [r.offset, new TextDecoder().decode(r.value ?? new Uint8Array())]),
      [
        [3, 'b1'],
        [4, 'a2'],
        [5, 'b2'],
        [6, 'a3'],
        [7, 'b3'],
        [8, 'a4'],
        [9, 'b4'],
      ],
    );
    assert.equal(read.logStartOffset, 3);
    assert.equal(await log.listOffsets('dr', 0, 'earliest'), 3);
  });

  test('an offset at or below the log start changes nothing and answers the log start', async () => {
    assert.deepEqual(await log.deleteRecords('dr', 0, 1), { logStartOffset: 3 });
    assert.deepEqual(await log.deleteRecords('dr', 0, 3), { logStartOffset: 3 });
  });

  test('an offset above the high watermark is OffsetOutOfRange and changes nothing', async () => {
    await assert.rejects(log.deleteRecords('dr', 0, 11), (e: unknown) => {
      assert.ok(e instanceof OffsetOutOfRangeError);
      assert.match(e.message, /above the high watermark 10/);
      return true;
    });
    assert.equal(await log.listOffsets('dr', 0, 'earliest'), 3);
  });

  test('bad arguments are refused and change nothing', async () => {
    for (const bad of [-2, 1.5, Number.NaN, '4' as unknown as number]) {
      await assert.rejects(log.deleteRecords('dr', 0, bad), InvalidArgumentError);
    }
    await assert.rejects(log.deleteRecords('dr', 2, 1), UnknownPartitionError);
    assert.equal(await log.listOffsets('dr', 0, 'earliest'), 3);
  });

  test('-1 deletes up to the high watermark, which never moves back', async () => {
    assert.deepEqual(await log.deleteRecords('dr', 0, -1), { logStartOffset: 10 });
    const read = await log.fetch({ topic: 'dr', partition: 0, offset: 10 });
    assert.deepEqual(read.records, []);
    assert.equal(read.highWatermark, 10);
    const { offsets } = await log.produce({ topic: 'dr', records: [rec(0, 'after')] });
    assert.equal(offsets[0]?.offset, 10);
    // An empty partition: -1 is its high watermark, 0.
    assert.deepEqual(await log.deleteRecords('dr', 1, -1), { logStartOffset: 0 });
  });
});

describe('retention and collection', () => {
  let stack: TestStack;
  before(async () => {
    stack = await testStack({ pageSize: 2 });
  });
  after(() => stack.close());

  test('retention by time moves the log start past expired batches; the high watermark stays', async () => {
    const { clock, log } = clocked(stack);
    await log.createTopic({
      name: 'rt',
      partitions: 1,
      config: { retentionMs: 60 * MIN, targetObjectBytes: -1 },
    });
    for (let i = 0; i < 6; i++) {
      clock.now = T0 + i * 10 * MIN; // appended at 0, 10, ... 50 min
      await log.produce({ topic: 'rt', records: [rec(0, `x${i}`), rec(0, `y${i}`)] });
    }
    clock.now = T0 + 85 * MIN; // batches appended before 25 min have expired: 0, 10 and 20
    const report = await log.sweep({ graceMs: 2 * MIN });
    const swept = report.topics.find((t) => t.topic === 'rt');
    assert.equal(swept?.recordsRetired, 6);
    assert.ok((swept?.pagesDropped ?? 0) >= 1);
    const described = await log.describeTopic('rt');
    assert.deepEqual(described.partitionStates[0], { partition: 0, logStartOffset: 6, highWatermark: 12 });
    const read = await log.fetch({ topic: 'rt', partition: 0, offset: 6 });
    assert.deepEqual(
      read.records.map((r) => r.offset),
      [6, 7, 8, 9, 10, 11],
    );
    // Objects of the expired batches are gone (created before the first live one minus the grace).
    assert.deepEqual(await objectsOf(stack, log, 'rt'), [T0 + 30 * MIN, T0 + 40 * MIN, T0 + 50 * MIN]);
    // Everything expires: the log is empty at its high watermark, and appends go on from there.
    clock.now = T0 + 200 * MIN;
    await log.sweep({ graceMs: 2 * MIN });
    assert.deepEqual((await log.describeTopic('rt')).partitionStates[0], {
      partition: 0,
      logStartOffset: 12,
      highWatermark: 12,
    });
    assert.deepEqual(await objectsOf(stack, log, 'rt'), []);
    const { offsets } = await log.produce({ topic: 'rt', records: [rec(0, 'later')] });
    assert.equal(offsets[0]?.offset, 12);
  });

  test('an object shared by partitions is kept while one of them still holds its batch', async () => {
    const { clock, log } = clocked(stack);
    await log.createTopic({
      name: 'shared',
      partitions: 2,
      config: { retentionMs: -1, targetObjectBytes: -1 },
    });
    clock.now = T0;
    await log.produce({ topic: 'shared', records: [rec(0, 'a'), rec(1, 'b')] }); // one object, two batches
    clock.now = T0 + 10_000;
    await log.produce({ topic: 'shared', records: [rec(0, 'c')] });
    await log.deleteRecords('shared', 0, 2);
    clock.now = T0 + 3_600_000;
    await log.sweep({ graceMs: 2 * MIN });
    // Partition 1 still holds the first object's batch: it stays. The second object held only
    // partition 0's records, all deleted: orphan collection takes it.
    assert.deepEqual(await objectsOf(stack, log, 'shared'), [T0]);
    const read = await log.fetch({ topic: 'shared', partition: 1, offset: 0 });
    assert.deepEqual(
      read.records.map((r) => new TextDecoder().decode(r.value ?? new Uint8Array())),
      ['b'],
    );
    await log.deleteRecords('shared', 1, 1);
    await log.sweep({ graceMs: 2 * MIN });
    assert.deepEqual(await objectsOf(stack, log, 'shared'), []);
  });

  test('retention by bytes keeps the newest batches that hold at least retentionBytes', async () => {
    const { clock, log } = clocked(stack);
    const value = 'v'.repeat(1000);
    await log.createTopic({
      name: 'rb',
      partitions: 1,
      config: { retentionMs: -1, retentionBytes: 5_000, targetObjectBytes: -1 },
    });
    for (let i = 0; i < 10; i++) {
      clock.now = T0 + i;
      await log.produce({ topic: 'rb', records: [rec(0, value)] });
    }
    clock.now = T0 + 100_000;
    await log.sweep({ graceMs: 2 * MIN });
    const first = await log.describeTopic('rb');
    const start = first.partitionStates[0]?.logStartOffset ?? -1;
    // Each batch is a little over 1,000 bytes: dropping stops while 4 batches would hold < 5,000.
    assert.equal(start, 5);
    for (let i = 10; i < 13; i++) {
      clock.now = T0 + 200_000 + i;
      await log.produce({ topic: 'rb', records: [rec(0, value)] });
    }
    clock.now = T0 + 300_000;
    await log.sweep({ graceMs: 2 * MIN });
    assert.equal((await log.describeTopic('rb')).partitionStates[0]?.logStartOffset, 8);
    // A sweep with nothing new to count or drop changes nothing.
    const again = await log.sweep({ graceMs: 2 * MIN });
    assert.equal(again.topics.find((t) => t.topic === 'rb')?.recordsRetired, 0);
    assert.equal((await log.describeTopic('rb')).partitionStates[0]?.logStartOffset, 8);
  });

  test('a fetch that read the head before its object was collected answers OffsetOutOfRange, not corruption', async () => {
    const { clock, log } = clocked(stack);
    await log.createTopic({
      name: 'gone',
      partitions: 1,
      config: { retentionMs: 60_000, targetObjectBytes: -1 },
    });
    clock.now = T0;
    await log.produce({ topic: 'gone', records: [rec(0, 'old')] });
    clock.now = T0 + 5 * MIN;
    await log.produce({ topic: 'gone', records: [rec(0, 'new')] });
    // A reader that read the head (and would read the pages) before the sweep ...
    let stale: PartitionHead | undefined;
    const reader = engineAt(stack, clock, (deps) => ({
      ...deps,
      index: Object.assign(Object.create(deps.index), {
        readHead: async (ref: PartitionRef) => {
          if (stale !== undefined) {
            const head = stale;
            stale = undefined;
            return head;
          }
          return await deps.index.readHead(ref);
        },
      }),
    }));
    const { id } = await log.describeTopic('gone');
    stale = await awsPorts(stack.config).index.readHead({ topic: 'gone', topicId: id, partition: 0 });
    clock.now = T0 + 5.5 * MIN; // 'old' expired, 'new' not
    await log.sweep({ graceMs: 2 * MIN });
    assert.deepEqual(await objectsOf(stack, log, 'gone'), [T0 + 5 * MIN]);
    // ... and reads its object after: OffsetOutOfRange with the new log start.
    await assert.rejects(reader.fetch({ topic: 'gone', partition: 0, offset: 0 }), (e: unknown) => {
      assert.ok(e instanceof OffsetOutOfRangeError, String(e));
      assert.equal(e.logStartOffset, 1);
      return true;
    });
  });

  test('a sweep step reads what was appended since the last one, not the partition: at most two LISTs per topic', async (t) => {
    const own = await testStack({ pageSize: 2 }); // this topic alone
    t.after(() => own.close());
    const { clock, log } = clocked(own);
    await log.createTopic({
      name: 'steady',
      partitions: 1,
      config: { retentionMs: 60 * MIN, targetObjectBytes: -1 },
    });
    const produceAt = async (at: number, n: number) => {
      for (let i = 0; i < n; i++) {
        clock.now = at + i;
        await log.produce({ topic: 'steady', records: [rec(0, 'v')] });
      }
    };
    await produceAt(T0, 400); // 200 pages of 2 entries
    clock.now = T0 + 10 * MIN;
    await log.sweep({ graceMs: 2 * MIN }); // counts all 400 once
    await produceAt(T0 + 11 * MIN, 4);
    clock.now = T0 + 12 * MIN;
    const counter = new RequestCounter().attach(own.dynamodb, 'ddb:').attach(own.s3, 's3:');
    await log.sweep({ graceMs: 2 * MIN });
    const counts = counter.snapshot();
    // The topic list, the head, the new entries (a page or two) and the first live page; one LIST for
    // the retention rule and at most one for an orphan-collection window.
    assert.ok((counts['s3:ListObjectsV2'] ?? 0) <= 2, JSON.stringify(counts));
    const reads = (counts['ddb:GetItem'] ?? 0) + (counts['ddb:Query'] ?? 0);
    assert.ok(reads <= 12, JSON.stringify(counts));
    assert.equal(counts['ddb:UpdateItem'], 1); // the new byte count
  });

  test('orphans on a topic kept forever are collected: a crash between PUT and commit, a call of duplicates only', async () => {
    const { clock, log } = clocked(stack);
    await log.createTopic({
      name: 'forever',
      partitions: 2,
      config: { retentionMs: -1, targetObjectBytes: -1 },
    });
    const crashing = engineAt(stack, clock, (deps) => ({
      ...deps,
      index: Object.assign(Object.create(deps.index), {
        append: async () => {
          throw new Error('crash after the PUT');
        },
      }),
    }));
    const producer = await log.initProducer();
    const batch = { topic: 'forever', records: [rec(0, 'p0'), rec(1, 'p1')] };
    clock.now = T0 + MIN;
    await log.produce(batch); // referenced
    clock.now = T0 + 2 * MIN;
    await assert.rejects(crashing.produce(batch), /crash after the PUT/); // orphan
    clock.now = T0 + 3 * MIN;
    const idem = {
      ...batch,
      producer: { producerId: producer.producerId, epoch: producer.epoch, sequences: { 0: 0, 1: 0 } },
    };
    await log.produce(idem); // referenced
    clock.now = T0 + 4 * MIN;
    const again = await log.produce(idem); // every batch a duplicate: its object is an orphan
    assert.deepEqual(again.duplicatePartitions, [0, 1]);
    assert.deepEqual(await objectsOf(stack, log, 'forever'), [
      T0 + MIN,
      T0 + 2 * MIN,
      T0 + 3 * MIN,
      T0 + 4 * MIN,
    ]);
    clock.now = T0 + 30 * MIN;
    const report = await log.sweep({ graceMs: 5 * MIN });
    assert.equal(report.topics.find((t) => t.topic === 'forever')?.objectsDeleted, 2);
    assert.deepEqual(await objectsOf(stack, log, 'forever'), [T0 + MIN, T0 + 3 * MIN]);
    for (const partition of [0, 1]) {
      const read = await log.fetch({ topic: 'forever', partition, offset: 0 });
      assert.equal(read.records.length, 2);
    }
    // Windows already verified are not read again.
    const counter = new RequestCounter().attach(stack.dynamodb, 'ddb:').attach(stack.s3, 's3:');
    await log.sweep({ graceMs: 5 * MIN });
    assert.ok((counter.snapshot()['s3:ListObjectsV2'] ?? 0) <= report.topics.length);
  });

  test('an entry read for one window that names an object of the next keeps that object for the next window', async () => {
    const { clock, log } = clocked(stack);
    clock.now = T0;
    await log.createTopic({
      name: 'windows',
      partitions: 1,
      config: { retentionMs: -1, targetObjectBytes: -1 },
    });
    // Windows start at creation minus the grace: [T0 − 2, T0 + 8), [T0 + 8, T0 + 18), ... minutes.
    for (const at of [5, 9, 11]) {
      clock.now = T0 + at * MIN;
      await log.produce({ topic: 'windows', records: [rec(0, `at ${at}`)] });
    }
    clock.now = T0 + 12 * MIN; // only the first window is old enough; the object of 9 was read in it
    await log.sweep({ graceMs: 2 * MIN });
    clock.now = T0 + 40 * MIN;
    await log.sweep({ graceMs: 2 * MIN });
    assert.deepEqual(await objectsOf(stack, log, 'windows'), [T0 + 5 * MIN, T0 + 9 * MIN, T0 + 11 * MIN]);
    const read = await log.fetch({ topic: 'windows', partition: 0, offset: 0 });
    assert.deepEqual(
      read.records.map((r) => new TextDecoder().decode(r.value ?? new Uint8Array())),
      ['at 5', 'at 9', 'at 11'],
    );
  });

  test('an idle topic is listed by the retention rule about once per grace, not on every pass', async (t) => {
    const own = await testStack({ pageSize: 2 });
    t.after(() => own.close());
    const { clock, log } = clocked(own);
    await log.createTopic({ name: 'idle', partitions: 2, config: { retentionMs: 24 * 60 * MIN } });
    await log.produce({ topic: 'idle', records: [rec(0, 'a'), rec(1, 'b')] });
    clock.now += 5 * MIN;
    await log.sweep({ graceMs: 60 * MIN });
    const counter = new RequestCounter().attach(own.s3, 's3:');
    for (let pass = 0; pass < 12; pass++) {
      clock.now += 5 * MIN; // an hour of passes every 5 minutes
      await log.sweep({ graceMs: 60 * MIN });
    }
    // Orphan collection lists each 10-minute window once (6 in an hour); retention's rule at most once.
    assert.ok((counter.snapshot()['s3:ListObjectsV2'] ?? 0) <= 7, JSON.stringify(counter.snapshot()));
  });

  test('a grace below twice the commit limit is refused: the first live batch of a partition could lose its object', async () => {
    const { log } = clocked(stack);
    const report = await log.sweep({ graceMs: 119_999 });
    assert.ok(report.failed.length > 0 || report.topics.length === 0);
    for (const failure of report.failed) assert.match(failure.error, /graceMs must be an integer ≥ 120000/);
  });

  test('a produce that cannot commit within the limit of its object is refused (retryable) and appends nothing', async () => {
    const { clock, log } = clocked(stack);
    await log.createTopic({ name: 'late', partitions: 1 });
    const slow = engineAt(stack, clock, (deps) => ({
      ...deps,
      objects: Object.assign(Object.create(deps.objects), {
        put: async (key: string, body: Uint8Array) => {
          await deps.objects.put(key, body);
          clock.now += 61_000; // the PUT "took" 61 s
        },
      }),
    }));
    await assert.rejects(slow.produce({ topic: 'late', records: [rec(0, 'x')] }), (e: unknown) => {
      assert.ok(e instanceof CommitTooLateError);
      assert.equal(e.retryable, true);
      return true;
    });
    assert.equal(await log.listOffsets('late', 0, 'latest'), 0);
  });
});
