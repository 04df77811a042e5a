import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { createDispatcher } from '../../lib/adapters/aws.ts';
import { StreamPoller } from '../../lib/adapters/dynamodb/stream-poller.ts';
import { UnknownTopicError } from '../../lib/core/errors.ts';
import type { FailedBatchRecord, StreambedEvent, StreambedRecord } from '../../lib/core/subscription.ts';
import type { Dispatcher } from '../../lib/engine/dispatcher.ts';
import { InProcessInvoker } from '../../lib/engine/in-process-invoker.ts';
import type { Streambed } from '../../lib/engine/streambed.ts';
import { endpointsFromEnv } from '../../lib/harness/services.ts';
import { bytes, type TestStack, testStack } from '../support/stack.ts';

/** Every invocation a handler saw: partition and the offsets of its batch. */
type Seen = { partition: number; offsets: number[] }[];

function recorder(seen: Seen, behaviour: (event: StreambedEvent) => unknown = () => undefined) {
  return async (event: StreambedEvent) => {
    seen.push({ partition: event.partition, offsets: event.Records.map((r) => r.offset) });
    return await behaviour(event);
  };
}

/** Each batch is ascending and consecutive, and the first deliveries of each offset are 0..n-1 in order. */
function assertOrderedAtLeastOnce(seen: Seen, partition: number, count: number) {
  const batches = seen.filter((s) => s.partition === partition);
  const firstSeen: number[] = [];
  const delivered = new Set<number>();
  for (const batch of batches) {
    batch.offsets.forEach((offset, i) => {
      if (i > 0) assert.equal(offset, (batch.offsets[i - 1] as number) + 1, 'a batch is consecutive');
      if (!delivered.has(offset)) {
        delivered.add(offset);
        firstSeen.push(offset);
      }
    });
  }
  assert.equal(firstSeen.length, count, `partition ${partition}: every record delivered`);
  firstSeen.forEach((offset, i) => {
    assert.equal(offset, i, `partition ${partition}: first deliveries in offset order`);
  });
}

async function until(condition: () => Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('consumer functions', () => {
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

  const lagOf = async (group: string, topic: string) =>
    (await log.describeGroupOffsets(group, topic)).reduce((sum, o) => sum + o.lag, 0);

  test('10,000 records over 4 partitions reach the handler through the stream trigger, in order per partition, each at least once', async () => {
    await log.createTopic({ name: 'deliver', partitions: 4 });
    const seen: Seen = [];
    invoker.register('bulk', recorder(seen));
    await dispatcher.subscribe({
      group: 'bulk',
      topic: 'deliver',
      target: 'bulk',
      startingPosition: 'earliest',
      batchSize: 250,
    });
    const endpoints = endpointsFromEnv();
    assert.ok(endpoints);
    const streams = new DynamoDBStreamsClient({
      endpoint: endpoints.dynamoDbEndpoint,
      region: endpoints.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const errors: unknown[] = [];
    const poller = new StreamPoller({
      dynamodb: stack.dynamodb,
      streams,
      table: stack.tables.log,
      onRecords: (records) => dispatcher.onStreamRecords(records, Date.now() + 60_000),
      onError: (error) => errors.push(error),
    });
    await poller.start();
    try {
      for (let call = 0; call < 100; call += 4) {
        await Promise.all(
          [0, 1, 2, 3].map((i) =>
            log.produce({
              topic: 'deliver',
              records: Array.from({ length: 100 }, (_, j) => ({
                key: bytes(`k${(call + i) * 100 + j}`),
                value: bytes('v'),
              })),
            }),
          ),
        );
      }
      await until(async () => (await lagOf('bulk', 'deliver')) === 0, 120_000, 'the group to catch up');
    } finally {
      await poller.stop();
      streams.destroy();
    }
    assert.deepEqual(errors, []);
    const described = await log.describeTopic('deliver');
    let total = 0;
    for (const state of described.partitionStates) {
      assertOrderedAtLeastOnce(seen, state.partition, state.highWatermark);
      total += state.highWatermark;
    }
    assert.equal(total, 10_000);
  });

  test('a failing batch is retried until it succeeds, and nothing after it is delivered first', async () => {
    await log.createTopic({ name: 'retry', partitions: 1 });
    await log.produce({
      topic: 'retry',
      records: Array.from({ length: 30 }, (_, i) => ({ value: bytes(`${i}`) })),
    });
    const seen: Seen = [];
    let failures = 0;
    invoker.register(
      'flaky',
      recorder(seen, (event) => {
        if (event.Records.some((r) => r.offset === 12) && failures < 3) {
          failures++;
          throw new Error('downstream unavailable');
        }
      }),
    );
    await dispatcher.subscribe({
      group: 'flaky',
      topic: 'retry',
      target: 'flaky',
      startingPosition: 'earliest',
      batchSize: 10,
    });
    assert.equal(
      await dispatcher.deliver((await subscription('flaky')) as never, 0, Date.now() + 30_000),
      'caught-up',
    );
    assert.equal(failures, 3);
    assertOrderedAtLeastOnce(seen, 0, 30);
    assert.deepEqual(
      seen.map((s) => s.offsets[0]),
      [0, 10, 10, 10, 10, 20],
    );
  });

  test('bisectBatchOnFunctionError halves a failing batch until the function copes', async () => {
    await log.createTopic({ name: 'bisect', partitions: 1 });
    await log.produce({
      topic: 'bisect',
      records: Array.from({ length: 40 }, (_, i) => ({ value: bytes(`${i}`) })),
    });
    const seen: Seen = [];
    invoker.register(
      'small-only',
      recorder(seen, (event) => {
        if (event.Records.length > 5) throw new Error('too big for me');
      }),
    );
    await dispatcher.subscribe({
      group: 'small-only',
      topic: 'bisect',
      target: 'small-only',
      startingPosition: 'earliest',
      batchSize: 20,
      bisectBatchOnFunctionError: true,
      maxRetryAttempts: 0,
    });
    assert.equal(
      await dispatcher.deliver((await subscription('small-only')) as never, 0, Date.now() + 30_000),
      'caught-up',
    );
    assertOrderedAtLeastOnce(seen, 0, 40);
    assert.deepEqual(
      seen.slice(0, 3).map((s) => s.offsets.length),
      [20, 10, 5],
    );
    assert.equal(await lagOf('small-only', 'bisect'), 0);
  });

  test('reported batch item failures resume from the lowest failed record (Powertools BatchProcessor)', async () => {
    await log.createTopic({ name: 'partial', partitions: 1 });
    await log.produce({
      topic: 'partial',
      records: Array.from({ length: 20 }, (_, i) => ({ value: `${i}`, key: null })).map((r) => ({
        value: bytes(JSON.stringify(r.value)),
        valueIsJson: true,
      })),
    });
    const seen: Seen = [];
    const failOnce = new Set([7, 9]);
    const processor = new BatchProcessor(EventType.SQS);
    invoker.register(
      'partial',
      recorder(seen, async (event) =>
        processPartialResponse(
          event as never,
          async (record: StreambedRecord) => {
            if (failOnce.delete(record.offset)) throw new Error(`cannot handle ${record.value}`);
          },
          processor,
        ),
      ),
    );
    await dispatcher.subscribe({
      group: 'partial',
      topic: 'partial',
      target: 'partial',
      startingPosition: 'earliest',
      batchSize: 10,
      reportBatchItemFailures: true,
    });
    assert.equal(
      await dispatcher.deliver((await subscription('partial')) as never, 0, Date.now() + 30_000),
      'caught-up',
    );
    assert.deepEqual(
      seen.map((s) => s.offsets[0]),
      [0, 7, 17],
    );
    assertOrderedAtLeastOnce(seen, 0, 20);
  });

  test('a poison record ends in the on-failure topic with its partition and offsets, and later records still flow', async () => {
    await log.createTopic({ name: 'poisoned', partitions: 2 });
    await log.createTopic({ name: 'poisoned-dlq', partitions: 1 });
    const values = Array.from({ length: 25 }, (_, i) => (i === 11 ? 'poison' : `ok-${i}`));
    await log.produce({ topic: 'poisoned', records: values.map((v) => ({ value: bytes(v), partition: 1 })) });
    const handled: string[] = [];
    invoker.register('picky', async (event: StreambedEvent) => {
      for (const record of event.Records) {
        const text = Buffer.from(record.valueBase64 ?? '', 'base64').toString();
        if (text === 'poison') throw new Error('cannot parse poison');
      }
      for (const record of event.Records)
        handled.push(Buffer.from(record.valueBase64 ?? '', 'base64').toString());
    });
    await dispatcher.subscribe({
      group: 'picky',
      topic: 'poisoned',
      target: 'picky',
      startingPosition: 'earliest',
      batchSize: 8,
      maxRetryAttempts: 2,
      bisectBatchOnFunctionError: true,
      onFailure: { topic: 'poisoned-dlq' },
    });
    assert.equal(
      await dispatcher.deliver((await subscription('picky')) as never, 1, Date.now() + 30_000),
      'caught-up',
    );
    assert.deepEqual(
      [...new Set(handled)],
      values.filter((v) => v !== 'poison'),
    );
    const dlq = await log.fetch({ topic: 'poisoned-dlq', partition: 0, offset: 0 });
    assert.equal(dlq.records.length, 1);
    const failed = JSON.parse(new TextDecoder().decode(dlq.records[0]?.value)) as FailedBatchRecord;
    assert.deepEqual(failed.streambedBatchInfo, {
      ...failed.streambedBatchInfo,
      group: 'picky',
      topic: 'poisoned',
      partition: 1,
      startOffset: 11,
      endOffset: 11,
      batchSize: 1,
    });
    assert.equal(failed.requestContext.condition, 'RetryAttemptsExhausted');
    assert.equal(failed.requestContext.approximateInvokeCount, 3);
    assert.match(failed.responseContext.functionError, /cannot parse poison/);
    assert.equal(await lagOf('picky', 'poisoned'), 0);
  });

  test('a dispatcher killed mid-batch: another one redelivers after the lease expires, nothing is lost, order is kept, the dead one cannot commit', async () => {
    await log.createTopic({ name: 'crashy', partitions: 1 });
    await log.produce({
      topic: 'crashy',
      records: Array.from({ length: 30 }, (_, i) => ({ value: bytes(`${i}`) })),
    });
    const seen: Seen = [];
    let hang: (() => void) | undefined;
    const hanging = new Promise<void>((resolve) => {
      hang = resolve;
    });
    let first = true;
    invoker.register(
      'crashy',
      recorder(seen, async () => {
        if (first) {
          first = false;
          await hanging; // the dispatcher "dies" here: it never hears back in time
        }
      }),
    );
    await dispatcher.subscribe({
      group: 'crashy',
      topic: 'crashy',
      target: 'crashy',
      startingPosition: 'earliest',
      batchSize: 10,
      // The lease is renewed to outlast the function's timeout (+ 1 s + 5%): about 2 s here.
      functionTimeoutSeconds: 1,
    });
    const sub = (await subscription('crashy')) as never;
    const dying = createDispatcher(stack.config, { invoker, leaseMs: 1_000 });
    const dead = dying.deliver(sub, 0, Date.now() + 60_000);
    await until(async () => seen.length === 1, 10_000, 'the first invocation');
    // While the dead dispatcher holds the lease, nobody else delivers (one batch in flight).
    const healthy = createDispatcher(stack.config, { invoker, leaseMs: 1_000 });
    assert.equal(await healthy.deliver(sub, 0, Date.now() + 10_000), 'busy');
    await sleep(2_300);
    assert.equal(await healthy.deliver(sub, 0, Date.now() + 30_000), 'caught-up');
    hang?.();
    assert.equal(await dead, 'lost');
    assertOrderedAtLeastOnce(seen, 0, 30);
    assert.deepEqual(
      seen.map((s) => s.offsets[0]),
      [0, 0, 10, 20],
    );
    const [committed] = await log.fetchOffsets('crashy', 'crashy');
    assert.equal(committed?.offset, 30);
  });

  test('a subscription made before its topic exists delivers the topic from its start, even with latest; one failing delivery does not stop the sweep', async () => {
    const seen: Seen = [];
    invoker.register('early', recorder(seen));
    const errors: unknown[] = [];
    const sweeper = createDispatcher(stack.config, { invoker, onError: (error) => errors.push(error) });
    await sweeper.subscribe({ group: 'early', topic: 'later', target: 'early', startingPosition: 'latest' });
    // This one fails, and its on-failure topic does not exist: its delivery throws.
    await sweeper.subscribe({
      group: 'broken',
      topic: 'later',
      target: 'no-such-handler',
      maxRetryAttempts: 0,
      onFailure: { topic: 'missing-dlq' },
    });
    await log.createTopic({ name: 'later', partitions: 1 });
    await log.produce({ topic: 'later', records: [{ value: bytes('first') }, { value: bytes('second') }] });
    const lags = await sweeper.sweep(Date.now() + 20_000);
    assert.equal(errors.length, 1, JSON.stringify(lags));
    assert.ok(errors[0] instanceof UnknownTopicError);
    assertOrderedAtLeastOnce(seen, 0, 2);
    await sweeper.unsubscribe('broken');
    assert.equal(await lagOf('early', 'later'), 0);
  });

  test('a disabled subscription is paused and resumes where it stopped when enabled again', async () => {
    await log.createTopic({ name: 'pausable', partitions: 1 });
    const seen: Seen = [];
    invoker.register('pausable', recorder(seen));
    const base = { group: 'pausable', topic: 'pausable', target: 'pausable', startingPosition: 'earliest' };
    await dispatcher.subscribe(base);
    await log.produce({ topic: 'pausable', records: [{ value: bytes('1') }] });
    await dispatcher.sweep(Date.now() + 10_000);
    await dispatcher.subscribe({ ...base, enabled: false });
    await log.produce({ topic: 'pausable', records: [{ value: bytes('2') }, { value: bytes('3') }] });
    await dispatcher.sweep(Date.now() + 10_000);
    assert.equal(await lagOf('pausable', 'pausable'), 2);
    await dispatcher.subscribe({ ...base, enabled: true });
    await dispatcher.sweep(Date.now() + 10_000);
    assert.equal(await lagOf('pausable', 'pausable'), 0);
    assert.deepEqual(
      seen.map((s) => s.offsets),
      [[0], [1, 2]],
    );
  });

  test('knobs are validated with the ranges of Lambda event source mappings', async () => {
    await log.createTopic({ name: 'knobs', partitions: 1 });
    const base = { group: 'k', topic: 'knobs', target: 't' };
    for (const [bad, field] of [
      [{ batchSize: 0 }, 'batchSize'],
      [{ batchSize: 10_001 }, 'batchSize'],
      [{ maxBatchingWindowSeconds: 301 }, 'maxBatchingWindowSeconds'],
      [{ maxRetryAttempts: -2 }, 'maxRetryAttempts'],
      [{ maxRetryAttempts: 10_001 }, 'maxRetryAttempts'],
      [{ maxRecordAgeSeconds: 59 }, 'maxRecordAgeSeconds'],
      [{ functionTimeoutSeconds: 0 }, 'functionTimeoutSeconds'],
      [{ functionTimeoutSeconds: 901 }, 'functionTimeoutSeconds'],
      [{ parallelizationFactor: 0 }, 'parallelizationFactor'],
      [{ parallelizationFactor: 11 }, 'parallelizationFactor'],
      [{ parallelizationFactor: 1.5 }, 'parallelizationFactor'],
      [{ startingPosition: 'TRIM_HORIZON' }, 'startingPosition'],
      [{ bisectBatchOnFunctionError: 'yes' }, 'bisectBatchOnFunctionError'],
      [{ onFailure: { topic: 'bad topic' } }, 'onFailure.topic'],
      [{ colour: 'red' }, 'colour'],
    ] as const) {
      await assert.rejects(dispatcher.subscribe({ ...base, ...bad }), new RegExp(field));
    }
    const { subscribedAt, ...defaults } = await dispatcher.subscribe(base);
    assert.ok(typeof subscribedAt === 'number');
    assert.deepEqual(defaults, {
      ...base,
      batchSize: 100,
      maxBatchingWindowSeconds: 0,
      startingPosition: 'latest',
      maxRetryAttempts: -1,
      maxRecordAgeSeconds: -1,
      bisectBatchOnFunctionError: false,
      parallelizationFactor: 1,
      reportBatchItemFailures: false,
      enabled: true,
      functionTimeoutSeconds: 3,
    });
    // With an on-failure destination a record that keeps failing is sent there after 10 retries.
    const withDestination = await dispatcher.subscribe({
      ...base,
      group: 'k2',
      onFailure: { topic: 'knobs' },
    });
    assert.equal(withDestination.maxRetryAttempts, 10);
    const forever = await dispatcher.subscribe({
      ...base,
      group: 'k3',
      onFailure: { topic: 'knobs' },
      maxRetryAttempts: -1,
    });
    assert.equal(forever.maxRetryAttempts, -1);
  });

  test('records that left the log before delivery are skipped, said so, and delivery resumes at the log start', async () => {
    await log.createTopic({ name: 'skipped', partitions: 1, config: { retentionMs: -1 } });
    for (let i = 0; i < 5; i++) {
      await log.produce({
        topic: 'skipped',
        records: [{ value: bytes(`${i}a`) }, { value: bytes(`${i}b`) }],
      });
    }
    const seen: Seen = [];
    invoker.register('late-reader', recorder(seen));
    const skips: { from: number; to: number }[] = [];
    const skipping = createDispatcher(stack.config, {
      invoker,
      onSkip: ({ from, to }) => skips.push({ from, to }),
    });
    await skipping.subscribe({
      group: 'late-reader',
      topic: 'skipped',
      target: 'late-reader',
      startingPosition: 'earliest',
      batchSize: 100,
    });
    // Records 0..6 leave the log (their objects stay until the grace has passed).
    await log.deleteRecords('skipped', 0, 7);
    await log.sweep({ graceMs: 120_000 });
    assert.equal(
      await skipping.deliver((await subscription('late-reader')) as never, 0, Date.now() + 30_000),
      'caught-up',
    );
    assert.deepEqual(skips, [{ from: 0, to: 7 }]);
    assert.deepEqual(
      seen.flatMap((s) => s.offsets),
      [7, 8, 9],
    );
    assert.equal(await lagOf('late-reader', 'skipped'), 0);
  });

  async function subscription(group: string) {
    const { DynamoSubscriptionStore } = await import('../../lib/adapters/dynamodb/subscription-store.ts');
    return await new DynamoSubscriptionStore({ client: stack.dynamodb, table: stack.tables.meta }).get(group);
  }
});
