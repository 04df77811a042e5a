import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDispatcher } from '../../lib/adapters/aws.ts';
import type { Stuck } from '../../lib/engine/delivery-io.ts';
import type { LagReport } from '../../lib/engine/dispatcher.ts';
import { InProcessInvoker } from '../../lib/engine/in-process-invoker.ts';
import type { Streambed } from '../../lib/engine/streambed.ts';
import { positionOf, subscriptionOf } from '../support/lookups.ts';
import { bytes, type TestStack, testStack, text } from '../support/stack.ts';

describe('a poison record never stalls a partition silently', () => {
  let stack: TestStack;
  let log: Streambed;
  before(async () => {
    stack = await testStack();
    log = stack.engine();
  });
  after(() => stack.close());

  const position = (group: string, topic: string) => positionOf(log, group, topic);

  /** The failure messages the on-failure topic received. */
  const failures = async (topic: string) =>
    (await log.fetch({ topic, partition: 0, offset: 0, maxRecords: 1000 })).records.map(
      (r) => JSON.parse(text(r.value) ?? '') as Record<string, Record<string, unknown>>,
    );

  async function produce(topic: string, count: number) {
    await log.produce({
      topic,
      records: Array.from({ length: count }, (_, i) => ({ value: bytes(`v${i}`) })),
    });
  }

  /** A handler that processes records in order and throws at a poison one: offsets of successful invocations. */
  function poisoned(invoker: InProcessInvoker, target: string, poison: ReadonlySet<number>) {
    const succeeded: number[] = [];
    let invocations = 0;
    invoker.register(target, async (event) => {
      invocations++;
      for (const record of event.Records) {
        if (poison.has(record.offset)) throw new Error(`cannot handle ${record.offset}`);
      }
      succeeded.push(...event.Records.map((r) => r.offset));
    });
    return { succeeded, invocations: () => invocations };
  }

  test('with onFailure, a failing batch is bisected down to the poison records: only they go to the destination, everything else is delivered once and in order', async () => {
    await log.createTopic({ name: 'poison', partitions: 1 });
    await log.createTopic({ name: 'poison-dlq', partitions: 1 });
    const invoker = new InProcessInvoker();
    const seen = poisoned(invoker, 'poison-fn', new Set([37, 80]));
    const dispatcher = createDispatcher(stack.config, { invoker, retryBaseMs: 1, retryMaxMs: 5 });
    await dispatcher.subscribe({
      group: 'poison',
      topic: 'poison',
      target: 'poison-fn',
      startingPosition: 'earliest',
      batchSize: 100,
      onFailure: { topic: 'poison-dlq' },
    });
    await produce('poison', 100);
    const spec = await subscriptionOf(stack, 'poison');
    assert.equal(await dispatcher.deliver(spec as never, 0, Date.now() + 60_000), 'caught-up');
    const expected = Array.from({ length: 100 }, (_, i) => i).filter((i) => i !== 37 && i !== 80);
    assert.deepEqual(seen.succeeded, expected);
    assert.equal(await position('poison', 'poison'), 100);
    const sent = await failures('poison-dlq');
    assert.deepEqual(
      sent.map((m) => [m.streambedBatchInfo?.startOffset, m.streambedBatchInfo?.endOffset]),
      [
        [37, 37],
        [80, 80],
      ],
    );
    for (const message of sent) {
      assert.equal(message.requestContext?.condition, 'RetryAttemptsExhausted');
      // The default with a destination: 10 retries, 11 attempts of the lone record.
      assert.equal(message.requestContext?.approximateInvokeCount, 11);
      assert.match(String(message.responseContext?.functionError), /cannot handle (37|80)/);
    }
    // Bisection is logarithmic: far fewer invocations than one per record.
    assert.ok(seen.invocations() < 60, `${seen.invocations()} invocations`);
  });

  test('with onFailure and reported item failures, only the failed record goes to the destination and the rest of the batch is delivered', async () => {
    await log.createTopic({ name: 'items', partitions: 1 });
    await log.createTopic({ name: 'items-dlq', partitions: 1 });
    const invoker = new InProcessInvoker();
    const succeeded: number[] = [];
    invoker.register('items-fn', async (event) => {
      const failed = event.Records.filter((r) => r.offset === 4);
      succeeded.push(...event.Records.filter((r) => r.offset !== 4).map((r) => r.offset));
      return { batchItemFailures: failed.map((r) => ({ itemIdentifier: r.messageId })) };
    });
    const dispatcher = createDispatcher(stack.config, { invoker, retryBaseMs: 1, retryMaxMs: 5 });
    await dispatcher.subscribe({
      group: 'items',
      topic: 'items',
      target: 'items-fn',
      startingPosition: 'earliest',
      batchSize: 10,
      reportBatchItemFailures: true,
      maxRetryAttempts: 2,
      onFailure: { topic: 'items-dlq' },
    });
    await produce('items', 10);
    const spec = await subscriptionOf(stack, 'items');
    assert.equal(await dispatcher.deliver(spec as never, 0, Date.now() + 30_000), 'caught-up');
    const sent = await failures('items-dlq');
    assert.equal(sent.length, 1);
    assert.equal(sent[0]?.streambedBatchInfo?.startOffset, 4);
    assert.equal(sent[0]?.streambedBatchInfo?.endOffset, 4);
    assert.equal(await position('items', 'items'), 10);
    // Records after the failed one were retried with it, then delivered on their own once it was given up.
    assert.deepEqual(
      [...new Set(succeeded)].sort((a, b) => a - b),
      [0, 1, 2, 3, 5, 6, 7, 8, 9],
    );
  });

  test('without onFailure the partition stops at the failing record, and StuckPartition says so: at once from the delivery, every minute from the sweep, until it is fixed', async () => {
    await log.createTopic({ name: 'stuck', partitions: 1 });
    const invoker = new InProcessInvoker();
    let broken = true;
    invoker.register('stuck-fn', async (event) => {
      if (broken && event.Records.some((r) => r.offset === 3)) throw new Error('downstream is down');
    });
    const stuck: Stuck[] = [];
    const dispatcher = createDispatcher(stack.config, {
      invoker,
      retryBaseMs: 20,
      retryMaxMs: 50,
      stuckAfterMs: 300,
      onStuck: (s) => stuck.push(s),
      onError: () => {},
    });
    await dispatcher.subscribe({
      group: 'stuck',
      topic: 'stuck',
      target: 'stuck-fn',
      startingPosition: 'earliest',
      batchSize: 2,
      functionTimeoutSeconds: 1,
    });
    await produce('stuck', 6);
    const spec = await subscriptionOf(stack, 'stuck');
    assert.equal(await dispatcher.deliver(spec as never, 0, Date.now() + 3_000), 'deadline');
    assert.equal(await position('stuck', 'stuck'), 2);
    assert.equal(stuck.length, 1, 'reported once per delivery');
    assert.equal(stuck[0]?.offset, 2);
    assert.match(stuck[0]?.error ?? '', /downstream is down/);
    // Another dispatcher's sweep sees it from the lease's failure record (it survives dispatchers).
    const sweeper = createDispatcher(stack.config, {
      invoker,
      stuckAfterMs: 300,
      onStuck: () => {},
      onError: () => {},
    });
    let reports: LagReport[] = [];
    await sweeper.sweep(Date.now() + 500, (r) => {
      reports = r;
    });
    assert.deepEqual(
      reports.filter((r) => r.group === 'stuck').map((r) => [r.lag, r.stuck]),
      [[4, true]],
    );
    broken = false;
    assert.equal(await dispatcher.deliver(spec as never, 0, Date.now() + 10_000), 'caught-up');
    await sweeper.sweep(Date.now() + 500, (r) => {
      reports = r;
    });
    assert.deepEqual(
      reports.filter((r) => r.group === 'stuck').map((r) => [r.lag, r.stuck]),
      [[0, false]],
    );
  });

  test('the sweep hands its lag reports (records and seconds behind) over before it delivers, so metrics are not as late as a backlog', async () => {
    await log.createTopic({ name: 'backlog', partitions: 1 });
    const invoker = new InProcessInvoker();
    const events: string[] = [];
    invoker.register('backlog-fn', async () => {
      events.push('invoked');
    });
    const dispatcher = createDispatcher(stack.config, { invoker });
    await dispatcher.subscribe({
      group: 'backlog',
      topic: 'backlog',
      target: 'backlog-fn',
      startingPosition: 'earliest',
      batchSize: 1,
    });
    await produce('backlog', 3);
    await sleep(1_100);
    let lagSeconds = 0;
    await dispatcher.sweep(Date.now() + 10_000, (reports) => {
      const mine = reports.find((r) => r.group === 'backlog');
      events.push(`reported lag ${mine?.lag}`);
      lagSeconds = mine?.lagSeconds ?? 0;
    });
    assert.deepEqual(events, ['reported lag 3', 'invoked', 'invoked', 'invoked']);
    // The oldest undelivered record was appended over a second before the sweep.
    assert.ok(lagSeconds >= 1.1 && lagSeconds < 30, `lagSeconds ${lagSeconds}`);
  });
});
