import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  InvalidArgumentError,
  StaleGenerationError,
  UnknownPartitionError,
  UnknownTopicError,
} from '../../lib/core/errors.ts';
import type { Streambed } from '../../lib/engine/streambed.ts';
import { type TestStack, testStack } from '../support/stack.ts';

describe('consumer-group offsets', () => {
  let stack: TestStack;
  let log: Streambed;
  before(async () => {
    stack = await testStack();
    log = stack.engine();
    await log.createTopic({ name: 'events', partitions: 4 });
  });
  after(() => stack.close());

  test('committed offsets and metadata are read back per partition', async () => {
    await log.commitOffsets({
      group: 'billing',
      topic: 'events',
      offsets: [
        { partition: 0, offset: 10, metadata: 'host-a' },
        { partition: 2, offset: 7 },
      ],
    });
    const offsets = await log.fetchOffsets('billing', 'events');
    assert.deepEqual(
      offsets.map(({ partition, offset, metadata }) => ({ partition, offset, metadata })),
      [
        { partition: 0, offset: 10, metadata: 'host-a' },
        { partition: 2, offset: 7, metadata: '' },
      ],
    );
    assert.deepEqual(await log.fetchOffsets('other-group', 'events'), []);
  });

  test("a stale generation's commit is rejected and changes nothing", async () => {
    await log.commitOffsets({
      group: 'fenced',
      topic: 'events',
      offsets: [{ partition: 1, offset: 5 }],
      generation: 3,
    });
    await assert.rejects(
      log.commitOffsets({
        group: 'fenced',
        topic: 'events',
        offsets: [{ partition: 1, offset: 99 }],
        generation: 2,
      }),
      StaleGenerationError,
    );
    await assert.rejects(
      log.commitOffsets({ group: 'fenced', topic: 'events', offsets: [{ partition: 1, offset: 99 }] }),
      StaleGenerationError,
    );
    await log.commitOffsets({
      group: 'fenced',
      topic: 'events',
      offsets: [{ partition: 1, offset: 6 }],
      generation: 3,
    });
    await log.commitOffsets({
      group: 'fenced',
      topic: 'events',
      offsets: [{ partition: 1, offset: 8 }],
      generation: 4,
    });
    const [committed] = await log.fetchOffsets('fenced', 'events');
    assert.equal(committed?.offset, 8);
    assert.equal(committed?.generation, 4);
  });

  test('a multi-partition commit with one stale partition commits none of them', async () => {
    await log.commitOffsets({
      group: 'atomic',
      topic: 'events',
      offsets: [{ partition: 3, offset: 1 }],
      generation: 5,
    });
    await assert.rejects(
      log.commitOffsets({
        group: 'atomic',
        topic: 'events',
        offsets: [
          { partition: 0, offset: 50 },
          { partition: 3, offset: 50 },
        ],
        generation: 4,
      }),
      StaleGenerationError,
    );
    const offsets = await log.fetchOffsets('atomic', 'events');
    assert.deepEqual(
      offsets.map((o) => [o.partition, o.offset]),
      [[3, 1]],
    );
  });

  test('bad commits are rejected naming the problem', async () => {
    const base = { group: 'bad', topic: 'events' };
    await assert.rejects(log.commitOffsets({ ...base, offsets: [] }), InvalidArgumentError);
    await assert.rejects(log.commitOffsets({ ...base, offsets: [{ partition: 0, offset: -1 }] }), /offset/);
    await assert.rejects(
      log.commitOffsets({ ...base, offsets: [{ partition: 9, offset: 1 }] }),
      UnknownPartitionError,
    );
    await assert.rejects(
      log.commitOffsets({
        ...base,
        offsets: [
          { partition: 0, offset: 1 },
          { partition: 0, offset: 2 },
        ],
      }),
      /twice/,
    );
    await assert.rejects(
      log.commitOffsets({ ...base, group: 'no spaces', offsets: [{ partition: 0, offset: 1 }] }),
      /group/,
    );
    await assert.rejects(
      log.commitOffsets({ ...base, topic: 'nope', offsets: [{ partition: 0, offset: 1 }] }),
      UnknownTopicError,
    );
    assert.deepEqual(await log.fetchOffsets('bad', 'events'), []);
  });
});
