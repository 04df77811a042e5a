import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DeleteItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import type { EngineDeps } from '../../lib/engine/context.ts';
import { bytes, type TestStack, testStack } from '../support/stack.ts';

class InjectedCrash extends Error {}

/** The S3 PUT completes, then the process "dies" before any commit. */
const crashAfterPut = (deps: EngineDeps): EngineDeps => ({
  ...deps,
  objects: {
    ...deps.objects,
    list: (prefix) => deps.objects.list(prefix),
    getRange: (key, offset, length) => deps.objects.getRange(key, offset, length),
    deleteMany: (keys) => deps.objects.deleteMany(keys),
    put: async (key, body) => {
      await deps.objects.put(key, body);
      throw new InjectedCrash(`crashed after writing ${key}`);
    },
  },
});

describe('crashes between the S3 PUT and the DynamoDB commit', () => {
  let stack: TestStack;
  before(async () => {
    stack = await testStack({ pageSize: 2 });
  });
  after(() => stack.close());

  test('a producer that dies after the PUT leaves nothing visible, and the next produce is dense', async () => {
    const log = stack.engine();
    await log.createTopic({ name: 'crash', partitions: 2 });
    await log.produce({
      topic: 'crash',
      records: [
        { value: bytes('a'), partition: 0 },
        { value: bytes('b'), partition: 0 },
      ],
    });
    const dying = stack.engine(crashAfterPut);
    await assert.rejects(
      dying.produce({
        topic: 'crash',
        records: [
          { value: bytes('lost'), partition: 0 },
          { value: bytes('lost'), partition: 1 },
        ],
      }),
      InjectedCrash,
    );
    const described = await log.describeTopic('crash');
    assert.deepEqual(
      described.partitionStates.map((p) => p.highWatermark),
      [2, 0],
    );
    const { offsets } = await log.produce({ topic: 'crash', records: [{ value: bytes('c'), partition: 0 }] });
    assert.deepEqual(offsets, [{ partition: 0, offset: 2 }]);
    const { records } = await log.fetch({ topic: 'crash', partition: 0, offset: 0 });
    assert.deepEqual(
      records.map((r) => [r.offset, new TextDecoder().decode(r.value)]),
      [
        [0, 'a'],
        [1, 'b'],
        [2, 'c'],
      ],
    );
    const p1 = await log.fetch({ topic: 'crash', partition: 1, offset: 0 });
    assert.deepEqual(p1.records, []);
  });

  test('the orphaned object is findable for cleanup, and committed objects are not listed', async () => {
    const log = stack.engine();
    await log.createTopic({ name: 'orphans', partitions: 1 });
    const kept = await log.produce({ topic: 'orphans', records: [{ value: bytes('kept') }] });
    let orphanKey = '';
    const dying = stack.engine((deps) => {
      const crashing = crashAfterPut(deps);
      return {
        ...crashing,
        objects: {
          ...crashing.objects,
          put: async (key, body) => {
            orphanKey = key;
            return await crashing.objects.put(key, body);
          },
        },
      };
    });
    await assert.rejects(
      dying.produce({ topic: 'orphans', records: [{ value: bytes('lost') }] }),
      InjectedCrash,
    );
    const orphans = await log.findOrphanSegments('orphans', 0);
    assert.deepEqual(
      orphans.map((o) => o.key),
      [orphanKey],
    );
    assert.notEqual(orphanKey, kept.objectKey);
    // Young objects may belong to a call still committing: not reported.
    assert.deepEqual(await log.findOrphanSegments('orphans', 60_000), []);
  });

  test('a crash after one partition committed leaves that partition committed and the other untouched', async () => {
    const log = stack.engine();
    await log.createTopic({ name: 'partial', partitions: 2 });
    const dying = stack.engine((deps) => ({
      ...deps,
      index: Object.assign(Object.create(Object.getPrototypeOf(deps.index)), deps.index, {
        append: async (...args: Parameters<EngineDeps['index']['append']>) => {
          if (args[0].partition === 1) throw new InjectedCrash('died before committing partition 1');
          return await deps.index.append(...args);
        },
      }),
    }));
    await assert.rejects(
      dying.produce({
        topic: 'partial',
        records: [
          { value: bytes('x'), partition: 0 },
          { value: bytes('y'), partition: 1 },
        ],
      }),
      InjectedCrash,
    );
    const described = await log.describeTopic('partial');
    assert.deepEqual(
      described.partitionStates.map((p) => p.highWatermark),
      [1, 0],
    );
    const { offsets } = await log.produce({
      topic: 'partial',
      records: [{ value: bytes('z'), partition: 1 }],
    });
    assert.deepEqual(offsets, [{ partition: 1, offset: 0 }]);
  });

  test('losing every index page (retention or TTL) never makes an idle partition restart at 0', async () => {
    const log = stack.engine();
    await log.createTopic({ name: 'idle', partitions: 1 });
    for (let i = 0; i < 5; i++) await log.produce({ topic: 'idle', records: [{ value: bytes(`${i}`) }] });
    const topic = await log.describeTopic('idle');
    const pages = await stack.dynamodb.send(
      new QueryCommand({
        TableName: stack.tables.log,
        KeyConditionExpression: 'pk = :pk AND sk >= :zero',
        ExpressionAttributeValues: { ':pk': { S: `${topic.id}#0` }, ':zero': { N: '0' } },
      }),
    );
    assert.ok((pages.Items ?? []).length > 0, 'the log has index pages');
    for (const item of pages.Items ?? []) {
      await stack.dynamodb.send(
        new DeleteItemCommand({
          TableName: stack.tables.log,
          Key: { pk: item.pk ?? { S: '' }, sk: item.sk ?? { N: '0' } },
        }),
      );
    }
    const { offsets } = await log.produce({ topic: 'idle', records: [{ value: bytes('next') }] });
    assert.deepEqual(offsets, [{ partition: 0, offset: 5 }]);
    assert.equal(await log.listOffsets('idle', 0, 'latest'), 6);
  });
});
