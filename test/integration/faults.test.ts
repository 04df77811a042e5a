import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { awsPorts } from '../../lib/adapters/aws.ts';
import { DynamoPartitionIndex } from '../../lib/adapters/dynamodb/partition-index.ts';
import { CorruptSegmentError, UnknownTopicError } from '../../lib/core/errors.ts';
import { Streambed } from '../../lib/engine/streambed.ts';
import { DELETION_SETTLE_MS } from '../../lib/engine/topic-deletion.ts';
import { loseNextResponse } from '../support/faults.ts';
import { bytes, type TestStack, testStack } from '../support/stack.ts';

const text = (value: Uint8Array) => new TextDecoder().decode(value);

describe('lost responses, retries and mixed deployments', () => {
  let stack: TestStack;
  before(async () => {
    stack = await testStack();
  });
  after(() => stack.close());

  test('an SDK retry of the S3 PUT whose response was lost succeeds and leaves no orphan', async () => {
    const log = stack.engine();
    await log.createTopic({ name: 'lost-put', partitions: 1 });
    loseNextResponse(stack.s3, 'PutObjectCommand');
    const { offsets } = await log.produce({ topic: 'lost-put', records: [{ value: bytes('a') }] });
    assert.deepEqual(offsets, [{ partition: 0, offset: 0 }]);
    assert.deepEqual(await log.findOrphanSegments('lost-put', 0), []);
  });

  test('an SDK retry of a commit whose response was lost appends the batch once', async () => {
    const log = stack.engine();
    await log.createTopic({ name: 'lost-commit', partitions: 1 });
    loseNextResponse(stack.dynamodb, 'UpdateItemCommand');
    const { offsets } = await log.produce({
      topic: 'lost-commit',
      records: [{ value: bytes('once') }, { value: bytes('twice?') }],
    });
    assert.deepEqual(offsets, [
      { partition: 0, offset: 0 },
      { partition: 0, offset: 1 },
    ]);
    const { records, highWatermark } = await log.fetch({ topic: 'lost-commit', partition: 0, offset: 0 });
    assert.deepEqual(
      records.map((r) => text(r.value ?? new Uint8Array())),
      ['once', 'twice?'],
    );
    assert.equal(highWatermark, 2);
  });

  test("an SDK retry of the topic record's put whose response was lost still creates a working topic", async () => {
    const log = stack.engine();
    loseNextResponse(stack.dynamodb, 'PutItemCommand');
    await log.createTopic({ name: 'lost-create', partitions: 1 });
    const { offsets } = await log.produce({ topic: 'lost-create', records: [{ value: bytes('a') }] });
    assert.deepEqual(offsets, [{ partition: 0, offset: 0 }]);
  });

  test("an SDK retry of the topic record's delete whose response was lost still removes the data", async () => {
    const clock = { offset: 0 };
    const log = new Streambed(
      awsPorts({ ...stack.config, engine: { now: () => Date.now() + clock.offset } }),
    );
    await log.createTopic({ name: 'lost-delete', partitions: 1 });
    const topic = await log.describeTopic('lost-delete');
    await log.produce({ topic: 'lost-delete', records: [{ value: bytes('a') }] });
    loseNextResponse(stack.dynamodb, 'DeleteItemCommand');
    await log.deleteTopic('lost-delete');
    await assert.rejects(log.describeTopic('lost-delete'), UnknownTopicError);
    // The data goes with the sweep once the deletion has settled.
    clock.offset += DELETION_SETTLE_MS + 1;
    const report = await log.sweep({ graceMs: 120_000 });
    assert.ok(report.deletionsFinished.includes(topic.id));
    const index = new DynamoPartitionIndex({ client: stack.dynamodb, table: stack.tables.log });
    assert.equal(await index.readHead({ topic: 'lost-delete', topicId: topic.id, partition: 0 }), undefined);
  });

  test('engines configured with different page sizes (a rolling deploy) never lose an index entry', async () => {
    const errors: unknown[] = [];
    const engine = (pageSize: number) =>
      new Streambed(awsPorts({ ...stack.config, pageSize, onFlushError: (e) => errors.push(e) }));
    const engines = Array.from({ length: 12 }, (_, i) => engine(i % 2 === 0 ? 4 : 8));
    await (engines[1] as Streambed).createTopic({ name: 'mixed', partitions: 1 });
    await Promise.all(
      engines.map(async (log, p) => {
        for (let c = 0; c < 30; c++)
          await log.produce({ topic: 'mixed', records: [{ value: bytes(`${p}:${c}`), partition: 0 }] });
      }),
    );
    const reader = engines[0] as Streambed;
    let offset = 0;
    for (;;) {
      const r = await reader.fetch({ topic: 'mixed', partition: 0, offset, maxRecords: 1000 });
      if (r.records.length === 0) break;
      offset = r.nextOffset;
    }
    assert.equal(offset, 12 * 30);
    assert.deepEqual(errors, []);
  });

  test('a hole at the end of the index is a corruption error, never a silent empty read', async () => {
    const log = stack.engine();
    await log.createTopic({ name: 'hole', partitions: 1 });
    for (let i = 0; i < 3; i++) await log.produce({ topic: 'hole', records: [{ value: bytes(`${i}`) }] });
    const topic = await log.describeTopic('hole');
    const broken = new Streambed({
      ...awsPorts(stack.config),
      index: Object.assign(Object.create(DynamoPartitionIndex.prototype), awsPorts(stack.config).index, {
        readHead: async () => ({ partition: 0, logStartOffset: 0, highWatermark: 5, tail: [], tailBase: 5 }),
      }),
    });
    assert.equal(topic.partitionStates[0]?.highWatermark, 3);
    await assert.rejects(broken.fetch({ topic: 'hole', partition: 0, offset: 3 }), CorruptSegmentError);
  });

  test('offsets committed for a deleted topic do not apply to a new topic of the same name', async () => {
    const log = stack.engine();
    await log.createTopic({ name: 'reborn', partitions: 1 });
    await log.commitOffsets({
      group: 'g',
      topic: 'reborn',
      offsets: [{ partition: 0, offset: 5 }],
      generation: 9,
    });
    await log.deleteTopic('reborn');
    await log.createTopic({ name: 'reborn', partitions: 1 });
    assert.deepEqual(await log.fetchOffsets('g', 'reborn'), []);
    await log.commitOffsets({
      group: 'g',
      topic: 'reborn',
      offsets: [{ partition: 0, offset: 1 }],
      generation: 0,
    });
    assert.deepEqual(
      (await log.fetchOffsets('g', 'reborn')).map((o) => o.offset),
      [1],
    );
  });
});
