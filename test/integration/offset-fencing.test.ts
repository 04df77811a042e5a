import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createDispatcher } from '../../lib/adapters/aws.ts';
import type { Dispatcher } from '../../lib/engine/dispatcher.ts';
import { InProcessInvoker } from '../../lib/engine/in-process-invoker.ts';
import type { Streambed } from '../../lib/engine/streambed.ts';
import { subscriptionOf } from '../support/lookups.ts';
import { bytes, type TestStack, testStack } from '../support/stack.ts';

describe('plain offset commits and lease holders do not collide', () => {
  let stack: TestStack;
  let log: Streambed;
  const invoker = new InProcessInvoker();
  let dispatcher: Dispatcher;
  const skips: { from: number; to: number; reason: string }[] = [];
  before(async () => {
    stack = await testStack();
    log = stack.engine();
    dispatcher = createDispatcher(stack.config, {
      invoker,
      retryBaseMs: 10,
      retryMaxMs: 50,
      onSkip: ({ from, to, reason }) => skips.push({ from, to, reason }),
    });
  });
  after(() => stack.close());

  const subscription = async (group: string) => await subscriptionOf(stack, group);
  const position = async (group: string, topic: string) => (await log.fetchOffsets(group, topic))[0]?.offset;

  test('a plain commit with a huge generation does not make every later dispatcher commit fail', async () => {
    await log.createTopic({ name: 'huge-gen', partitions: 1 });
    const seen: number[] = [];
    invoker.register('huge-gen-fn', async (event) => {
      for (const r of event.Records) seen.push(r.offset);
    });
    await dispatcher.subscribe({
      group: 'huge-gen',
      topic: 'huge-gen',
      target: 'huge-gen-fn',
      startingPosition: 'earliest',
    });
    await log.produce({
      topic: 'huge-gen',
      records: Array.from({ length: 5 }, (_, i) => ({ value: bytes(`a${i}`) })),
    });
    assert.equal(
      await dispatcher.deliver((await subscription('huge-gen')) as never, 0, Date.now() + 10_000),
      'caught-up',
    );
    await log.commitOffsets({
      group: 'huge-gen',
      topic: 'huge-gen',
      offsets: [{ partition: 0, offset: 5 }],
      generation: 1_000_000_000,
    });
    await log.produce({
      topic: 'huge-gen',
      records: Array.from({ length: 5 }, (_, i) => ({ value: bytes(`b${i}`) })),
    });
    assert.equal(
      await dispatcher.deliver((await subscription('huge-gen')) as never, 0, Date.now() + 10_000),
      'caught-up',
    );
    assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(await position('huge-gen', 'huge-gen'), 10);
  });

  test('a plain commit (a reset) while a dispatcher delivers is picked up: the dispatcher goes on from it instead of overwriting it', async () => {
    await log.createTopic({ name: 'rewound', partitions: 1 });
    const batches: number[][] = [];
    let resetDone = false;
    await dispatcher.subscribe({
      group: 'rewound',
      topic: 'rewound',
      target: 'rewound-fn',
      startingPosition: 'earliest',
      batchSize: 5,
    });
    await log.produce({
      topic: 'rewound',
      records: Array.from({ length: 10 }, (_, i) => ({ value: bytes(`r${i}`) })),
    });
    // While the second batch is handled (the position is 5), someone rewinds the group to 2 with a
    // plain commit (no generation).
    invoker.register('rewound-fn', async (event) => {
      batches.push(event.Records.map((r) => r.offset));
      if (!resetDone && event.Records[0]?.offset === 5) {
        resetDone = true;
        await log.commitOffsets({
          group: 'rewound',
          topic: 'rewound',
          offsets: [{ partition: 0, offset: 2 }],
        });
      }
    });
    assert.equal(
      await dispatcher.deliver((await subscription('rewound')) as never, 0, Date.now() + 10_000),
      'caught-up',
    );
    assert.deepEqual(batches, [
      [0, 1, 2, 3, 4],
      [5, 6, 7, 8, 9],
      [2, 3, 4, 5, 6],
      [7, 8, 9],
    ]);
    assert.equal(await position('rewound', 'rewound'), 10);
    assert.deepEqual(skips.at(-1), { from: 10, to: 2, reason: 'reset' });
  });
});
