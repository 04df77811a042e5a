import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDispatcher } from '../../lib/adapters/aws.ts';
import { DynamoLeaseStore } from '../../lib/adapters/dynamodb/lease-store.ts';
import { InProcessInvoker } from '../../lib/engine/in-process-invoker.ts';
import type { Streambed } from '../../lib/engine/streambed.ts';
import { subscriptionOf } from '../support/lookups.ts';
import { bytes, type TestStack, testStack } from '../support/stack.ts';

describe('leases between dispatchers and pull members: no lost triggers, no stolen leases', () => {
  let stack: TestStack;
  let log: Streambed;
  let leases: DynamoLeaseStore;
  before(async () => {
    stack = await testStack();
    log = stack.engine();
    leases = new DynamoLeaseStore({ client: stack.dynamodb, table: stack.tables.meta });
  });
  after(() => stack.close());

  test('a trigger that finds the partition busy while its holder is releasing is not dropped: the holder delivers those records', async () => {
    await log.createTopic({ name: 'handoff', partitions: 1 });
    const invoker = new InProcessInvoker();
    const delivered: number[] = [];
    invoker.register('handoff-fn', async (event) => {
      delivered.push(...event.Records.map((r) => r.offset));
    });
    const first = createDispatcher(stack.config, { invoker });
    const second = createDispatcher(stack.config, { invoker });
    await first.subscribe({
      group: 'handoff',
      topic: 'handoff',
      target: 'handoff-fn',
      startingPosition: 'earliest',
    });
    await log.produce({ topic: 'handoff', records: [0, 1].map((i) => ({ value: bytes(`h${i}`) })) });
    const spec = await subscriptionOf(stack, 'handoff');
    // Right before the first dispatcher releases its lease (it has seen the partition caught up), new
    // records are committed and their trigger reaches the second dispatcher, which finds it busy.
    const release = DynamoLeaseStore.prototype.release;
    const triggered: string[] = [];
    DynamoLeaseStore.prototype.release = async function (this: DynamoLeaseStore, group, topic, lease, owner) {
      if (group === 'handoff' && triggered.length === 0) {
        await log.produce({ topic: 'handoff', records: [2, 3, 4].map((i) => ({ value: bytes(`h${i}`) })) });
        triggered.push(await second.deliver(spec as never, 0, Date.now() + 10_000));
      }
      return await release.call(this, group, topic, lease, owner);
    };
    try {
      assert.equal(await first.deliver(spec as never, 0, Date.now() + 20_000), 'caught-up');
    } finally {
      DynamoLeaseStore.prototype.release = release;
    }
    assert.deepEqual(triggered, ['busy']);
    assert.deepEqual(delivered, [0, 1, 2, 3, 4]);
    assert.equal((await log.fetchOffsets('handoff', 'handoff'))[0]?.offset, 5);
  });

  test('a take based on an expired lease fails when the holder renewed it in between', async () => {
    await leases.create('race', 'race', [0]);
    const fresh = await leases.get('race', 'race', 0);
    assert.ok(fresh);
    const held = await leases.take('race', 'race', fresh, 'holder', Date.now() + 200);
    assert.ok(held);
    await sleep(300);
    // A taker reads the lease: expired, so free to take.
    const seen = await leases.get('race', 'race', 0);
    assert.ok(seen && seen.expiresAt < Date.now());
    // Meanwhile the holder renews it (same counter, later expiry).
    assert.ok(await leases.renew('race', 'race', held, 'holder', Date.now() + 60_000));
    assert.equal(await leases.take('race', 'race', seen, 'taker', Date.now() + 60_000), undefined);
    assert.equal((await leases.get('race', 'race', 0))?.owner, 'holder');
  });

  test("a pull member does not take a partition whose lease a dispatcher holds; it gets it once the dispatcher's lease is gone", async () => {
    await log.createTopic({ name: 'mixed', partitions: 2 });
    await leases.create('mixed', 'mixed', [0, 1]);
    const lease = await leases.get('mixed', 'mixed', 0);
    assert.ok(lease);
    const held = await leases.take('mixed', 'mixed', lease, 'dispatcher:abc', Date.now() + 1_500);
    assert.ok(held);
    const joined = await log.joinGroup('mixed', 'mixed', { memberId: 'm-1', sessionTimeoutMs: 10_000 });
    assert.deepEqual(
      joined.assignments.map((a) => a.partition),
      [1],
    );
    assert.equal((await leases.get('mixed', 'mixed', 0))?.owner, 'dispatcher:abc');
    await sleep(1_600);
    const later = await log.heartbeat('mixed', 'mixed', 'm-1', 10_000);
    assert.deepEqual(
      later.assignments.map((a) => a.partition),
      [0, 1],
    );
  });
});
