import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  InvalidArgumentError,
  TopicAlreadyExistsError,
  UnknownPartitionError,
  UnknownTopicError,
} from '../../lib/core/errors.ts';
import type { Streambed } from '../../lib/engine/streambed.ts';
import { bytes, type TestStack, testStack } from '../support/stack.ts';

describe('topics on DynamoDB Local', () => {
  let stack: TestStack;
  let log: Streambed;
  before(async () => {
    stack = await testStack();
    log = stack.engine();
  });
  after(() => stack.close());

  test('a created topic is described with its config and empty partitions, and listed', async () => {
    const created = await log.createTopic({
      name: 'orders.v1',
      partitions: 3,
      config: { retentionMs: 3_600_000 },
    });
    assert.equal(created.partitions, 3);
    assert.deepEqual(created.config, {
      retentionMs: 3_600_000,
      retentionBytes: -1,
      maxRecordBytes: 1_048_576,
      compression: 'none',
      targetObjectBytes: 8_388_608,
      cleanupPolicy: 'delete',
      deleteRetentionMs: 86_400_000,
      minCompactionLagMs: 0,
      minCleanableDirtyRatio: 0.5,
    });
    const described = await log.describeTopic('orders.v1');
    assert.equal(described.id, created.id);
    assert.deepEqual(described.partitionStates, [
      { partition: 0, logStartOffset: 0, highWatermark: 0 },
      { partition: 1, logStartOffset: 0, highWatermark: 0 },
      { partition: 2, logStartOffset: 0, highWatermark: 0 },
    ]);
    assert.ok((await log.listTopics()).some((topic) => topic.name === 'orders.v1'));
  });

  test('creating an existing topic is a TopicAlreadyExists error and changes nothing', async () => {
    const first = await log.createTopic({ name: 'dup', partitions: 2 });
    await assert.rejects(log.createTopic({ name: 'dup', partitions: 5 }), TopicAlreadyExistsError);
    const described = await log.describeTopic('dup');
    assert.equal(described.id, first.id);
    assert.equal(described.partitions, 2);
  });

  test('two racing creates of one name: exactly one wins', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, () => log.createTopic({ name: 'race', partitions: 1 })),
    );
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results) {
      if (r.status === 'rejected') assert.ok(r.reason instanceof TopicAlreadyExistsError);
    }
  });

  test('a topic may have 1 and 1000 partitions, not 0 or 1001', async () => {
    await log.createTopic({ name: 'one', partitions: 1 });
    const big = await log.createTopic({ name: 'thousand', partitions: 1000 });
    const described = await log.describeTopic('thousand');
    assert.equal(described.partitionStates.length, 1000);
    assert.equal(big.partitions, 1000);
    await assert.rejects(log.createTopic({ name: 'zero', partitions: 0 }), InvalidArgumentError);
    await assert.rejects(log.createTopic({ name: 'toomany', partitions: 1001 }), InvalidArgumentError);
    await assert.rejects(log.createTopic({ name: 'frac', partitions: 1.5 }), InvalidArgumentError);
  });

  test("topic names follow Kafka's rule", async () => {
    for (const name of ['', 'has space', 'slash/y', 'é', '.', '..', 'x'.repeat(250)]) {
      await assert.rejects(log.createTopic({ name, partitions: 1 }), InvalidArgumentError, name);
    }
    await log.createTopic({ name: `A-z_0.9${'x'.repeat(242)}`, partitions: 1 });
    await assert.rejects(log.describeTopic('bad name'), InvalidArgumentError);
  });

  test('a bad config is rejected naming the field', async () => {
    await assert.rejects(
      log.createTopic({ name: 'c1', partitions: 1, config: { compression: 'lz4' } }),
      /compression/,
    );
    await assert.rejects(
      log.createTopic({ name: 'c2', partitions: 1, config: { retentionMs: 0 } }),
      /retentionMs/,
    );
    await assert.rejects(log.createTopic({ name: 'c3', partitions: 1, config: { colour: 1 } }), /colour/);
    await assert.rejects(
      log.createTopic({ name: 'c4', partitions: 1, config: { maxRecordBytes: -5 } }),
      /maxRecordBytes/,
    );
    for (const bad of [65_535, 64 * 1024 * 1024 + 1, 1.5]) {
      await assert.rejects(
        log.createTopic({ name: 'c5', partitions: 1, config: { targetObjectBytes: bad } }),
        /targetObjectBytes/,
      );
    }
    assert.ok(!(await log.listTopics()).some((topic) => topic.name.startsWith('c')));
  });

  test('unknown topics and partitions are typed errors', async () => {
    await assert.rejects(log.describeTopic('nope'), UnknownTopicError);
    await assert.rejects(log.deleteTopic('nope'), UnknownTopicError);
    await assert.rejects(log.produce({ topic: 'nope', records: [{ value: bytes('x') }] }), UnknownTopicError);
    await assert.rejects(log.fetch({ topic: 'nope', partition: 0, offset: 0 }), UnknownTopicError);
    await log.createTopic({ name: 'two', partitions: 2 });
    await assert.rejects(log.fetch({ topic: 'two', partition: 2, offset: 0 }), UnknownPartitionError);
    await assert.rejects(log.listOffsets('two', 5, 'latest'), UnknownPartitionError);
    await assert.rejects(
      log.produce({ topic: 'two', records: [{ value: bytes('x'), partition: 2 }] }),
      InvalidArgumentError,
    );
  });

  test('a deleted topic is gone with its data, and a new one of the same name starts at offset 0', async () => {
    await log.createTopic({ name: 'gone', partitions: 2 });
    await log.produce({
      topic: 'gone',
      records: [
        { value: bytes('a'), partition: 1 },
        { value: bytes('b'), partition: 1 },
      ],
    });
    await log.deleteTopic('gone');
    await assert.rejects(log.describeTopic('gone'), UnknownTopicError);
    assert.ok(!(await log.listTopics()).some((topic) => topic.name === 'gone'));
    await log.createTopic({ name: 'gone', partitions: 2 });
    const { offsets } = await log.produce({ topic: 'gone', records: [{ value: bytes('c'), partition: 1 }] });
    assert.deepEqual(offsets, [{ partition: 1, offset: 0 }]);
    const fetched = await log.fetch({ topic: 'gone', partition: 1, offset: 0 });
    assert.equal(fetched.records.length, 1);
  });

  test('an engine with a stale topic cache produces to the re-created topic, not the deleted one', async () => {
    const other = stack.engine();
    await log.createTopic({ name: 'recreated', partitions: 1 });
    await other.produce({ topic: 'recreated', records: [{ value: bytes('old') }] }); // caches the old id
    await log.deleteTopic('recreated');
    await log.createTopic({ name: 'recreated', partitions: 1 });
    const { offsets } = await other.produce({ topic: 'recreated', records: [{ value: bytes('new') }] });
    assert.deepEqual(offsets, [{ partition: 0, offset: 0 }]);
    const { records } = await log.fetch({ topic: 'recreated', partition: 0, offset: 0 });
    assert.deepEqual(
      records.map((r) => new TextDecoder().decode(r.value)),
      ['new'],
    );
  });
});
