import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDispatcher } from '../../lib/adapters/aws.ts';
import type { StreambedEvent } from '../../lib/core/subscription.ts';
import { InProcessInvoker } from '../../lib/engine/in-process-invoker.ts';
import type { Streambed } from '../../lib/engine/streambed.ts';
import { positionOf, subscriptionOf } from '../support/lookups.ts';
import { bytes, type TestStack, testStack } from '../support/stack.ts';

describe('parallelizationFactor: several batches of one partition in flight, per-key order kept', () => {
  let stack: TestStack;
  let log: Streambed;
  before(async () => {
    stack = await testStack();
    log = stack.engine();
  });
  after(() => stack.close());

  const position = (group: string, topic: string) => positionOf(log, group, topic);

  /** Produces `count` records over `keys` keys (key k<i % keys>), 500 per call. */
  async function produceKeyed(topic: string, count: number, keys: number) {
    for (let start = 0; start < count; start += 500) {
      await log.produce({
        topic,
        records: Array.from({ length: Math.min(500, count - start) }, (_, j) => ({
          key: bytes(`k${(start + j) % keys}`),
          value: bytes(`v${start + j}`),
          partition: 0,
        })),
      });
    }
  }

  /**
   * A handler that checks per-key order across every invocation, counts invocations in flight, and
   * records the offsets of successful invocations.
   */
  function orderChecker(
    invoker: InProcessInvoker,
    target: string,
    fail?: (event: StreambedEvent) => boolean,
  ) {
    const state = { inFlight: 0, maxInFlight: 0, violations: [] as string[], delivered: [] as number[] };
    const lastByKey = new Map<string, number>();
    invoker.register(target, async (event) => {
      state.inFlight++;
      state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
      try {
        await sleep(2);
        if (fail?.(event)) throw new Error('this lane fails for now');
        for (const record of event.Records) {
          const key = String(record.key);
          const last = lastByKey.get(key) ?? -1;
          if (record.offset <= last) state.violations.push(`${key}: ${record.offset} after ${last}`);
          lastByKey.set(key, record.offset);
          state.delivered.push(record.offset);
        }
      } finally {
        state.inFlight--;
      }
    });
    return state;
  }

  test('10,000 records of 50 keys with factor 10: every record delivered once, each key in order, up to 10 invocations at once', async () => {
    await log.createTopic({ name: 'wide', partitions: 1 });
    const invoker = new InProcessInvoker();
    const state = orderChecker(invoker, 'wide-fn');
    const dispatcher = createDispatcher(stack.config, { invoker });
    await dispatcher.subscribe({
      group: 'wide',
      topic: 'wide',
      target: 'wide-fn',
      startingPosition: 'earliest',
      batchSize: 100,
      parallelizationFactor: 10,
    });
    await produceKeyed('wide', 10_000, 50);
    const spec = await subscriptionOf(stack, 'wide');
    assert.equal(await dispatcher.deliver(spec as never, 0, Date.now() + 120_000), 'caught-up');
    assert.deepEqual(state.violations, []);
    assert.equal(state.delivered.length, 10_000);
    assert.deepEqual(
      [...state.delivered].sort((a, b) => a - b),
      Array.from({ length: 10_000 }, (_, i) => i),
    );
    assert.ok(state.maxInFlight > 1 && state.maxInFlight <= 10, `max in flight ${state.maxInFlight}`);
    assert.equal(await position('wide', 'wide'), 10_000);
  });

  test('a failing lane holds the committed offset at its lowest undone record while the other lanes go on; once it recovers, everything is delivered once, in key order', async () => {
    await log.createTopic({ name: 'lanes', partitions: 1 });
    const invoker = new InProcessInvoker();
    let failures = 0;
    const state = orderChecker(invoker, 'lanes-fn', (event) => {
      // The lane holding key k0 fails its first 5 invocations.
      if (failures < 5 && event.Records.some((r) => String(r.key) === 'k0')) {
        failures++;
        return true;
      }
      return false;
    });
    let positionWhileFailing: number | undefined;
    let deliveredWhileFailing = 0;
    const dispatcher = createDispatcher(stack.config, {
      invoker,
      retryBaseMs: 30,
      retryMaxMs: 30,
      onError: () => {},
    });
    await dispatcher.subscribe({
      group: 'lanes',
      topic: 'lanes',
      target: 'lanes-fn',
      startingPosition: 'earliest',
      batchSize: 10,
      parallelizationFactor: 4,
    });
    await produceKeyed('lanes', 200, 8);
    const spec = await subscriptionOf(stack, 'lanes');
    const watcher = (async () => {
      while (failures < 3) await sleep(5);
      deliveredWhileFailing = state.delivered.length;
      positionWhileFailing = await position('lanes', 'lanes');
    })();
    assert.equal(await dispatcher.deliver(spec as never, 0, Date.now() + 60_000), 'caught-up');
    await watcher;
    // k0's first record is offset 0: nothing can be committed past it while its lane fails.
    assert.equal(positionWhileFailing, 0);
    assert.ok(deliveredWhileFailing > 0, 'the other lanes delivered while k0 failed');
    assert.deepEqual(state.violations, []);
    assert.deepEqual(
      [...state.delivered].sort((a, b) => a - b),
      Array.from({ length: 200 }, (_, i) => i),
    );
    assert.equal(await position('lanes', 'lanes'), 200);
  });

  test('with factor 1 batches stay sequential: one invocation at a time', async () => {
    await log.createTopic({ name: 'narrow', partitions: 1 });
    const invoker = new InProcessInvoker();
    const state = orderChecker(invoker, 'narrow-fn');
    const dispatcher = createDispatcher(stack.config, { invoker });
    await dispatcher.subscribe({
      group: 'narrow',
      topic: 'narrow',
      target: 'narrow-fn',
      startingPosition: 'earliest',
      batchSize: 10,
    });
    await produceKeyed('narrow', 100, 5);
    const spec = await subscriptionOf(stack, 'narrow');
    assert.equal(await dispatcher.deliver(spec as never, 0, Date.now() + 60_000), 'caught-up');
    assert.equal(state.maxInFlight, 1);
    assert.deepEqual(
      state.delivered,
      Array.from({ length: 100 }, (_, i) => i),
    );
  });
});
