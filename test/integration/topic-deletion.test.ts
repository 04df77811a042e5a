import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { awsPorts } from '../../lib/adapters/aws.ts';
import { UnknownTopicError } from '../../lib/core/errors.ts';
import { newObjectId, segmentKey, topicPrefix } from '../../lib/core/object-keys.ts';
import type { EngineDeps } from '../../lib/engine/context.ts';
import { Streambed } from '../../lib/engine/streambed.ts';
import { DELETION_SETTLE_MS } from '../../lib/engine/topic-deletion.ts';
import { bytes, type TestStack, testStack } from '../support/stack.ts';

/** Real time moved by `offset` (the test skips ahead by raising it). */
type Clock = { offset: number };

function engineAt(stack: TestStack, clock: Clock, wrap: (deps: EngineDeps) => EngineDeps = (d) => d) {
  return new Streambed(wrap(awsPorts({ ...stack.config, engine: { now: () => Date.now() + clock.offset } })));
}

/** Items of the log table that belong to the topic incarnation `topicId`. */
async function itemsOf(stack: TestStack, topicId: string): Promise<number> {
  const out = await stack.dynamodb.send(
    new ScanCommand({
      TableName: stack.tables.log,
      FilterExpression: 'begins_with(pk, :id)',
      ExpressionAttributeValues: { ':id': { S: `${topicId}#` } },
      Select: 'COUNT',
    }),
  );
  return out.Count ?? 0;
}

async function objectCount(stack: TestStack, prefix: string): Promise<number> {
  let count = 0;
  let token: string | undefined;
  do {
    const out = await stack.s3.send(
      new ListObjectsV2Command({ Bucket: stack.bucket, Prefix: prefix, ContinuationToken: token }),
    );
    count += out.KeyCount ?? 0;
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token !== undefined);
  return count;
}

function deferred() {
  let release = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { gate, release };
}

describe('topic deletion', () => {
  let stack: TestStack;
  before(async () => {
    stack = await testStack({ pageSize: 2 });
  });
  after(() => stack.close());

  test('once the name is free, an engine with the old topic cached appends to the new topic, never the old one', async () => {
    const clock = { offset: 0 };
    const log = engineAt(stack, clock);
    await log.createTopic({ name: 'cached', partitions: 1 });
    const cached = stack.engine();
    await cached.produce({ topic: 'cached', records: [{ value: bytes('old') }] }); // caches the topic
    // The delete stops right after the topic record is gone.
    const { gate, release } = deferred();
    let recordGone = false;
    const deleter = engineAt(stack, clock, (deps) => ({
      ...deps,
      topics: Object.assign(Object.create(deps.topics), {
        delete: async (name: string, id: string) => {
          const done = await deps.topics.delete(name, id);
          recordGone = true;
          await gate;
          return done;
        },
      }),
    }));
    const deleting = deleter.deleteTopic('cached');
    while (!recordGone) await new Promise((resolve) => setTimeout(resolve, 10));
    await log.createTopic({ name: 'cached', partitions: 1 });
    const { offsets } = await cached.produce({ topic: 'cached', records: [{ value: bytes('new') }] });
    release();
    await deleting;
    // Acknowledged, so it is in the topic that now has the name.
    const { records } = await log.fetch({ topic: 'cached', partition: 0, offset: offsets[0]?.offset ?? -1 });
    assert.deepEqual(
      records.map((r) => new TextDecoder().decode(r.value ?? new Uint8Array())),
      ['new'],
    );
  });

  for (const step of ['after the tombstone', 'after the fence', 'after the record']) {
    test(`a delete that dies ${step} is finished by the sweep: record, index items and objects all go`, async () => {
      const clock = { offset: 0 };
      const log = engineAt(stack, clock);
      const name = `dies-${step.split(' ').at(-1)}`;
      const topic = await log.createTopic({ name, partitions: 3 });
      for (let i = 0; i < 10; i++) {
        await log.produce({
          topic: name,
          records: [0, 1, 2].map((partition) => ({ value: bytes(`${i}`), partition })),
        });
      }
      const crash = () => {
        throw new Error('crash');
      };
      const dying = engineAt(stack, clock, (deps) => ({
        ...deps,
        index:
          step === 'after the tombstone'
            ? Object.assign(Object.create(deps.index), { fencePartitions: crash })
            : deps.index,
        topics:
          step === 'after the fence'
            ? Object.assign(Object.create(deps.topics), { delete: crash })
            : deps.topics,
      }));
      const outcome = await dying.deleteTopic(name).catch((e: unknown) => e);
      if (step === 'after the record') assert.equal(outcome, undefined);
      else assert.match(String(outcome), /crash/);
      assert.ok((await itemsOf(stack, topic.id)) > 0);
      // The sweep finishes it: at once the record and fences, the data once the deletion settled.
      let report = await log.sweep({ graceMs: 120_000 });
      await assert.rejects(log.describeTopic(name), UnknownTopicError);
      assert.ok(!report.deletionsFinished.includes(topic.id), 'not before the deletion settled');
      clock.offset += DELETION_SETTLE_MS + 1;
      report = await log.sweep({ graceMs: 120_000 });
      assert.ok(report.deletionsFinished.includes(topic.id));
      assert.equal(await itemsOf(stack, topic.id), 0);
      assert.equal(await objectCount(stack, topicPrefix(name, topic.id)), 0);
      // The name is free; a new topic starts at offset 0.
      await log.createTopic({ name, partitions: 1 });
      const { offsets } = await log.produce({ topic: name, records: [{ value: bytes('again') }] });
      assert.deepEqual(offsets, [{ partition: 0, offset: 0 }]);
    });
  }

  test('a topic of 100,000 objects is deleted completely, over sweeps cut short by their deadline', async () => {
    const clock = { offset: 0 };
    const log = engineAt(stack, clock);
    const topic = await log.createTopic({ name: 'huge', partitions: 2 });
    await log.produce({ topic: 'huge', records: [{ value: bytes('x'), partition: 0 }] });
    // 100,000 objects under the topic's prefix (as uncommitted produces would leave them).
    const total = 100_000;
    let next = 0;
    const body = bytes('segment');
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        for (let i = next++; i < total; i = next++) {
          const key = segmentKey('huge', topic.id, newObjectId(Date.now() - 1_000_000 + i));
          await stack.s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: key, Body: body }));
        }
      }),
    );
    await log.deleteTopic('huge');
    clock.offset += DELETION_SETTLE_MS + 1;
    let passes = 0;
    for (;;) {
      passes++;
      // Each pass may run for ~1 s of real time: the deletion spans several passes.
      const report = await log.sweep({ graceMs: 120_000, deadline: Date.now() + clock.offset + 1_000 });
      if (report.deletionsFinished.includes(topic.id)) break;
      assert.ok(passes < 500, 'the deletion finishes');
    }
    assert.ok(passes > 1, `several passes (${passes})`);
    assert.equal(await objectCount(stack, topicPrefix('huge', topic.id)), 0);
    assert.equal(await itemsOf(stack, topic.id), 0);
  });
});
