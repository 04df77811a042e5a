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
});
