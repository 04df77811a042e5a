import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { handler, useDispatcher } from '../../functions/dispatcher.ts';
import { localContext } from '../../functions/local/events.ts';
import { createDispatcher } from '../../lib/adapters/aws.ts';
import { DynamoSubscriptionStore } from '../../lib/adapters/dynamodb/subscription-store.ts';
import type { StreambedEvent } from '../../lib/core/subscription.ts';
import { InProcessInvoker } from '../../lib/engine/in-process-invoker.ts';
import type { Streambed } from '../../lib/engine/streambed.ts';
import { bytes, type TestStack, testStack } from '../support/stack.ts';

describe('the dispatcher Lambda handler (events as AWS sends them)', () => {
  let stack: TestStack;
  let log: Streambed;
  const delivered: number[] = [];
  before(async () => {
    stack = await testStack();
    log = stack.engine();
    const invoker = new InProcessInvoker({
      'arn:aws:lambda:us-east-1:000000000000:function:billing': async (event: StreambedEvent) => {
        delivered.push(...event.Records.map((r) => r.offset));
      },
    });
    useDispatcher(createDispatcher(stack.config, { invoker }));
  });
  after(() => {
    useDispatcher(undefined);
    stack.close();
  });
  const invoke = (event: unknown) => handler(event as never, localContext('streambed-dispatcher', 60_000));

  test('a custom-resource Create subscribes, a stream record delivers, a scheduled event sweeps, Delete unsubscribes', async () => {
    await log.createTopic({ name: 'orders', partitions: 2 });
    const spec = JSON.stringify({
      group: 'billing',
      topic: 'orders',
      target: 'arn:aws:lambda:us-east-1:000000000000:function:billing',
      startingPosition: 'earliest',
    });
    const created = await invoke({ RequestType: 'Create', ResourceProperties: { Subscription: spec } });
    assert.deepEqual(created, { PhysicalResourceId: 'streambed-subscription-billing' });
    const subscriptions = new DynamoSubscriptionStore({ client: stack.dynamodb, table: stack.tables.meta });
    assert.equal((await subscriptions.get('billing'))?.topic, 'orders');

    await log.produce({
      topic: 'orders',
      records: [
        { value: bytes('a'), partition: 1 },
        { value: bytes('b'), partition: 1 },
      ],
    });
    const topic = await log.describeTopic('orders');
    // What a Lambda event source mapping on the log table's stream delivers for that commit.
    await invoke({
      Records: [
        {
          eventSource: 'aws:dynamodb',
          eventName: 'MODIFY',
          dynamodb: {
            Keys: { pk: { S: `${topic.id}#1` }, sk: { N: '-1' } },
            NewImage: { next: { N: '2' } },
            OldImage: { next: { N: '0' } },
          },
        },
      ],
    });
    assert.deepEqual(delivered, [0, 1]);

    await log.produce({ topic: 'orders', records: [{ value: bytes('c'), partition: 0 }] });
    await invoke({ source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} });
    assert.deepEqual(delivered, [0, 1, 0]);
    assert.deepEqual(
      (await log.describeGroupOffsets('billing', 'orders')).map((o) => o.lag),
      [0, 0],
    );

    await invoke({ RequestType: 'Delete', ResourceProperties: { Subscription: spec } });
    assert.equal(await subscriptions.get('billing'), undefined);
  });

  test('a scheduled event publishes ConsumerLag, ConsumerLagSeconds and StuckPartition (EMF) per partition and per group', async () => {
    const invoker = new InProcessInvoker({
      broken: async () => {
        throw new Error('downstream is down');
      },
    });
    useDispatcher(
      createDispatcher(stack.config, {
        invoker,
        stuckAfterMs: 50,
        retryBaseMs: 1,
        onError: () => {},
        onStuck: () => {},
      }),
    );
    await log.createTopic({ name: 'metered', partitions: 1 });
    const spec = JSON.stringify({
      group: 'metered',
      topic: 'metered',
      target: 'broken',
      startingPosition: 'earliest',
      functionTimeoutSeconds: 1,
    });
    await invoke({ RequestType: 'Create', ResourceProperties: { Subscription: spec } });
    await log.produce({ topic: 'metered', records: [{ value: bytes('x') }, { value: bytes('y') }] });
    const lines: string[] = [];
    // Integration tests run with metrics off (test/global-setup.ts); each single metric reads it anew.
    const disabled = process.env.POWERTOOLS_METRICS_DISABLED;
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    // Sweeps of 4 s (the handler keeps 10 s of its time for itself): room for one 1 s invocation.
    const sweep = () =>
      handler(
        { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} } as never,
        localContext('streambed-dispatcher', 14_000),
      );
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      lines.push(String(chunk));
      return write(chunk, ...rest);
    }) as typeof process.stdout.write;
    try {
      // The first sweep records the failure; the second sees it older than stuckAfterMs.
      await sweep();
      await new Promise((resolve) => setTimeout(resolve, 100));
      lines.length = 0;
      await sweep();
    } finally {
      process.stdout.write = write;
      process.env.POWERTOOLS_METRICS_DISABLED = disabled;
    }
    const metrics = lines
      .flatMap((l) => l.split('\n'))
      .filter((l) => l.includes('"_aws"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((m) => m.group === 'metered');
    const value = (name: string, partitioned: boolean) =>
      metrics.find((m) => name in m && 'partition' in m === partitioned)?.[name];
    assert.equal(value('ConsumerLag', true), 2);
    assert.equal(value('ConsumerLag', false), 2);
    assert.ok(Number(value('ConsumerLagSeconds', false)) > 0, JSON.stringify(metrics));
    assert.equal(value('StuckPartition', true), 1);
    assert.equal(value('StuckPartition', false), 1);
    await invoke({ RequestType: 'Delete', ResourceProperties: { Subscription: spec } });
  });
});
