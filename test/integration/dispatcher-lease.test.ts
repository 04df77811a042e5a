import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDispatcher } from '../../lib/adapters/aws.ts';
import { InProcessInvoker } from '../../lib/engine/in-process-invoker.ts';
import type { Streambed } from '../../lib/engine/streambed.ts';
import { subscriptionOf } from '../support/lookups.ts';
import { bytes, type TestStack, testStack } from '../support/stack.ts';

describe('one delivery of a partition at a time', () => {
  let stack: TestStack;
  let log: Streambed;
  before(async () => {
    stack = await testStack();
    log = stack.engine();
  });
  after(() => stack.close());

  const subscription = async (group: string) => await subscriptionOf(stack, group);

  test('an invocation that runs longer than what is left of the lease never overlaps a second dispatcher delivering the same partition', async () => {
    await log.createTopic({ name: 'slow', partitions: 1 });
    const invoker = new InProcessInvoker();
    let active = 0;
    let overlaps = 0;
    const batches: number[][] = [];
    invoker.register('slow-fn', async (event) => {
      active++;
      if (active > 1) overlaps++;
      batches.push(event.Records.map((r) => r.offset));
      // The first batch is quick; the second takes longer than the lease has left by then.
      await sleep(batches.length === 1 ? 1_500 : 3_000);
      active--;
    });
    // A 4-second lease, renewed (before this fix) only once half of it was gone.
    const first = createDispatcher(stack.config, { invoker, leaseMs: 4_000, onError: () => {} });
    const second = createDispatcher(stack.config, { invoker, leaseMs: 4_000, onError: () => {} });
    await first.subscribe({
      group: 'slow',
      topic: 'slow',
      target: 'slow-fn',
      startingPosition: 'earliest',
      batchSize: 2,
      functionTimeoutSeconds: 3,
    });
    await log.produce({ topic: 'slow', records: [0, 1, 2, 3].map((i) => ({ value: bytes(`s${i}`) })) });
    const spec = await subscription('slow');
    const racing = (async () => {
      // The second dispatcher keeps trying to take the partition while the first delivers.
      const stop = Date.now() + 8_000;
      while (Date.now() < stop) {
        await second.deliver(spec as never, 0, Date.now() + 20_000);
        await sleep(100);
      }
    })();
    await first.deliver(spec as never, 0, Date.now() + 20_000);
    await racing;
    assert.equal(overlaps, 0, `batches: ${JSON.stringify(batches)}`);
    assert.deepEqual([...new Set(batches.flat())], [0, 1, 2, 3]);
  });

  test('an invocation is not started when the dispatcher could not see it end before its deadline', async () => {
    await log.createTopic({ name: 'late', partitions: 1 });
    const invoker = new InProcessInvoker();
    let invoked = 0;
    invoker.register('late-fn', async () => {
      invoked++;
    });
    const dispatcher = createDispatcher(stack.config, { invoker });
    await dispatcher.subscribe({
      group: 'late',
      topic: 'late',
      target: 'late-fn',
      startingPosition: 'earliest',
      functionTimeoutSeconds: 30,
    });
    await log.produce({ topic: 'late', records: [{ value: bytes('x') }] });
    assert.equal(
      await dispatcher.deliver((await subscription('late')) as never, 0, Date.now() + 10_000),
      'deadline',
    );
    assert.equal(invoked, 0);
    assert.equal(
      await dispatcher.deliver((await subscription('late')) as never, 0, Date.now() + 60_000),
      'caught-up',
    );
    assert.equal(invoked, 1);
  });
});
