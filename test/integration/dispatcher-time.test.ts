import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createDispatcher } from '../../lib/adapters/aws.ts';
import type { StreambedEvent } from '../../lib/core/subscription.ts';
import type { Dispatcher } from '../../lib/engine/dispatcher.ts';
import { InProcessInvoker } from '../../lib/engine/in-process-invoker.ts';
import type { Streambed } from '../../lib/engine/streambed.ts';
import { subscriptionOf } from '../support/lookups.ts';
import { bytes, type TestStack, testStack } from '../support/stack.ts';

const HOUR = 3_600_000;

describe('consumer functions go by append time, not the producer timestamp', () => {
  let stack: TestStack;
  let log: Streambed;
  const invoker = new InProcessInvoker();
  let dispatcher: Dispatcher;
  before(async () => {
    stack = await testStack();
    log = stack.engine();
    dispatcher = createDispatcher(stack.config, { invoker, retryBaseMs: 10, retryMaxMs: 50 });
  });
  after(() => stack.close());

  const subscription = async (group: string) => await subscriptionOf(stack, group);

  test('the batching window closes a window after the record was appended, even when its timestamp is an hour ahead', async () => {
    await log.createTopic({ name: 'future', partitions: 1 });
    const seen: StreambedEvent[] = [];
    invoker.register('future-fn', async (event) => {
      seen.push(event);
    });
    await dispatcher.subscribe({
      group: 'future',
      topic: 'future',
      target: 'future-fn',
      startingPosition: 'earliest',
      maxBatchingWindowSeconds: 2,
    });
    await log.produce({
      topic: 'future',
      records: [{ value: bytes('early'), timestamp: Date.now() + HOUR }],
    });
    const started = Date.now();
    await dispatcher.deliver((await subscription('future')) as never, 0, Date.now() + 30_000);
    const took = Date.now() - started;
    assert.equal(seen.length, 1);
    assert.ok(took < 10_000, `delivered after ${took} ms; the window is 2 s`);
  });

  test('a backfilled record (timestamp a day old) is delivered, not dropped as too old', async () => {
    await log.createTopic({ name: 'backfill', partitions: 1 });
    await log.createTopic({ name: 'backfill-dlq', partitions: 1 });
    const handled: number[] = [];
    invoker.register('backfill-fn', async (event) => {
      for (const r of event.Records) handled.push(r.offset);
    });
    await dispatcher.subscribe({
      group: 'backfill',
      topic: 'backfill',
      target: 'backfill-fn',
      startingPosition: 'earliest',
      maxRecordAgeSeconds: 60,
      onFailure: { topic: 'backfill-dlq' },
    });
    await log.produce({
      topic: 'backfill',
      records: [0, 1, 2].map((i) => ({ value: bytes(`old-${i}`), timestamp: Date.now() - 24 * HOUR })),
    });
    await dispatcher.deliver((await subscription('backfill')) as never, 0, Date.now() + 30_000);
    assert.deepEqual(handled, [0, 1, 2]);
    assert.equal((await log.fetch({ topic: 'backfill-dlq', partition: 0, offset: 0 })).records.length, 0);
  });
});
