import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDispatcher } from '../../lib/adapters/aws.ts';
import { GroupActiveError, OffsetResetError } from '../../lib/core/errors.ts';
import type { Dispatcher } from '../../lib/engine/dispatcher.ts';
import { InProcessInvoker } from '../../lib/engine/in-process-invoker.ts';
import type { Streambed } from '../../lib/engine/streambed.ts';
import { call, localApi } from '../support/http.ts';
import { subscriptionOf } from '../support/lookups.ts';
import { bytes, type TestStack, testStack } from '../support/stack.ts';

describe('resetting a group’s offsets (kafka-consumer-groups --reset-offsets)', () => {
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
    // Partition 0: records 0-9 stamped 1000, 2000, …, 10000; DeleteRecords moves its log start to 2.
    // Partition 1: records 0-4 stamped 1500, 2500, …, 5500.
    await log.createTopic({ name: 'clicks', partitions: 2 });
    await log.produce({
      topic: 'clicks',
      records: [
        ...Array.from({ length: 10 }, (_, i) => ({
          value: bytes(`a${i}`),
          partition: 0,
          timestamp: (i + 1) * 1000,
        })),
        ...Array.from({ length: 5 }, (_, i) => ({
          value: bytes(`b${i}`),
          partition: 1,
          timestamp: (i + 1) * 1000 + 500,
        })),
      ],
    });
    await log.deleteRecords('clicks', 0, 2);
  });
  after(() => stack.close());

  const committed = async (group: string, topic: string) =>
    (await log.fetchOffsets(group, topic)).map(({ partition, offset }) => [partition, offset]);

  test('to earliest, latest, a timestamp and an offset, clamped to [log start, high watermark], on every partition or the ones named', async () => {
    assert.ok(!(await log.listGroups()).includes('replay'));
    const earliest = await log.resetOffsets({ group: 'replay', topic: 'clicks', to: 'earliest' });
    assert.deepEqual(earliest, {
      group: 'replay',
      topic: 'clicks',
      dryRun: false,
      offsets: [
        { partition: 0, previousOffset: null, offset: 2 },
        { partition: 1, previousOffset: null, offset: 0 },
      ],
    });
    assert.ok((await log.listGroups()).includes('replay'), 'a reset creates the group, as in Kafka');
    assert.deepEqual(await committed('replay', 'clicks'), [
      [0, 2],
      [1, 0],
    ]);

    const latest = await log.resetOffsets({ group: 'replay', topic: 'clicks', to: 'latest' });
    assert.deepEqual(latest.offsets, [
      { partition: 0, previousOffset: 2, offset: 10 },
      { partition: 1, previousOffset: 0, offset: 5 },
    ]);

    // The first offset whose timestamp is ≥ 2600: record 2 of partition 0 (3000), record 2 of partition 1 (3500).
    const at = await log.resetOffsets({ group: 'replay', topic: 'clicks', to: { timestamp: 2600 } });
    assert.deepEqual(
      at.offsets.map((o) => o.offset),
      [2, 2],
    );
    // Before every record: the first one left (partition 0's log start); after every record: the end.
    const early = await log.resetOffsets({ group: 'replay', topic: 'clicks', to: { timestamp: 0 } });
    assert.deepEqual(
      early.offsets.map((o) => o.offset),
      [2, 0],
    );
    const future = await log.resetOffsets({ group: 'replay', topic: 'clicks', to: { timestamp: 9_000_000 } });
    assert.deepEqual(
      future.offsets.map((o) => o.offset),
      [10, 5],
    );

    const exact = await log.resetOffsets({ group: 'replay', topic: 'clicks', to: { offset: 4 } });
    assert.deepEqual(
      exact.offsets.map((o) => o.offset),
      [4, 4],
    );
    // Below the log start clamps to it, beyond the high watermark to it.
    const below = await log.resetOffsets({ group: 'replay', topic: 'clicks', to: { offset: 1 } });
    assert.deepEqual(
      below.offsets.map((o) => o.offset),
      [2, 1],
    );
    const beyond = await log.resetOffsets({ group: 'replay', topic: 'clicks', to: { offset: 1_000 } });
    assert.deepEqual(
      beyond.offsets.map((o) => o.offset),
      [10, 5],
    );

    // Only the partitions named.
    const one = await log.resetOffsets({ group: 'replay', topic: 'clicks', to: 'earliest', partitions: [1] });
    assert.deepEqual(one.offsets, [{ partition: 1, previousOffset: 5, offset: 0 }]);
    assert.deepEqual(await committed('replay', 'clicks'), [
      [0, 10],
      [1, 0],
    ]);
  });

  test('a dry run answers the same offsets and changes nothing, not even the group registry', async () => {
    const dry = await log.resetOffsets({ group: 'dry', topic: 'clicks', to: { offset: 3 }, dryRun: true });
    assert.deepEqual(dry, {
      group: 'dry',
      topic: 'clicks',
      dryRun: true,
      offsets: [
        { partition: 0, previousOffset: null, offset: 3 },
        { partition: 1, previousOffset: null, offset: 3 },
      ],
    });
    assert.ok(!(await log.listGroups()).includes('dry'));
    assert.deepEqual(await log.fetchOffsets('dry', 'clicks'), []);

    await log.commitOffsets({ group: 'dry', topic: 'clicks', offsets: [{ partition: 0, offset: 7 }] });
    const before = await log.fetchOffsets('dry', 'clicks');
    const again = await log.resetOffsets({ group: 'dry', topic: 'clicks', to: 'earliest', dryRun: true });
    assert.deepEqual(again.offsets[0], { partition: 0, previousOffset: 7, offset: 2 });
    assert.deepEqual(await log.fetchOffsets('dry', 'clicks'), before);
  });

  test('refused with GroupActive (409, not retryable) while a pull member is active, dry runs too; allowed with force; an expired member does not block', async () => {
    await log.joinGroup('pullers', 'clicks', { memberId: 'm-1', sessionTimeoutMs: 1_000 });
    await log.commitOffsets({ group: 'pullers', topic: 'clicks', offsets: [{ partition: 0, offset: 6 }] });
    for (const dryRun of [false, true]) {
      await assert.rejects(
        log.resetOffsets({ group: 'pullers', topic: 'clicks', to: 'earliest', dryRun }),
        (error: unknown) => {
          assert.ok(error instanceof GroupActiveError);
          assert.deepEqual([error.code, error.status, error.retryable], ['GroupActive', 409, false]);
          assert.deepEqual(error.members, ['m-1']);
          assert.equal(error.subscription, undefined);
          assert.match(error.message, /m-1/);
          return true;
        },
      );
    }
    assert.deepEqual(await committed('pullers', 'clicks'), [[0, 6]]);
    const forced = await log.resetOffsets({ group: 'pullers', topic: 'clicks', to: 'earliest', force: true });
    assert.deepEqual(forced.offsets[0], { partition: 0, previousOffset: 6, offset: 2 });
    // Another topic's members do not count; a member whose session expired does not either.
    await log.createTopic({ name: 'other', partitions: 1 });
    await log.resetOffsets({ group: 'pullers', topic: 'other', to: 'latest' });
    await sleep(1_100);
    const after = await log.resetOffsets({ group: 'pullers', topic: 'clicks', to: 'latest' });
    assert.deepEqual(
      after.offsets.map((o) => o.offset),
      [10, 5],
    );
  });

  test('refused while an enabled consumer function is subscribed to the topic, allowed with force; a disabled one does not block', async () => {
    await dispatcher.subscribe({
      group: 'fn',
      topic: 'clicks',
      target: 'fn-target',
      startingPosition: 'earliest',
    });
    await assert.rejects(
      log.resetOffsets({ group: 'fn', topic: 'clicks', to: 'latest' }),
      (error: unknown) => {
        assert.ok(error instanceof GroupActiveError);
        assert.equal(error.subscription, 'fn-target');
        assert.deepEqual(error.members, []);
        return true;
      },
    );
    assert.deepEqual(await committed('fn', 'clicks'), [
      [0, 2],
      [1, 0],
    ]);
    await log.resetOffsets({ group: 'fn', topic: 'clicks', to: 'latest', force: true });
    assert.deepEqual(await committed('fn', 'clicks'), [
      [0, 10],
      [1, 5],
    ]);
    await dispatcher.subscribe({
      group: 'fn-off',
      topic: 'clicks',
      target: 'fn-target',
      startingPosition: 'earliest',
      enabled: false,
    });
    await log.resetOffsets({ group: 'fn-off', topic: 'clicks', to: { offset: 3 } });
    assert.deepEqual(await committed('fn-off', 'clicks'), [
      [0, 3],
      [1, 3],
    ]);
  });

  test('the dispatcher picks up a reset made while its subscription runs: between deliveries and during one', async () => {
    await log.createTopic({ name: 'replayed', partitions: 1 });
    const batches: number[][] = [];
    let resetDuring = false;
    invoker.register('replayed-fn', async (event) => {
      batches.push(event.Records.map((r) => r.offset));
      if (resetDuring && event.Records[0]?.offset === 5) {
        resetDuring = false;
        await log.resetOffsets({ group: 'replayed', topic: 'replayed', to: { offset: 2 }, force: true });
      }
    });
    await dispatcher.subscribe({
      group: 'replayed',
      topic: 'replayed',
      target: 'replayed-fn',
      startingPosition: 'earliest',
      batchSize: 5,
    });
    await log.produce({
      topic: 'replayed',
      records: Array.from({ length: 10 }, (_, i) => ({ value: bytes(`r${i}`) })),
    });
    const deliver = async () =>
      await dispatcher.deliver(await subscriptionOf(stack, 'replayed'), 0, Date.now() + 10_000);
    assert.equal(await deliver(), 'caught-up');
    assert.deepEqual(batches.splice(0), [
      [0, 1, 2, 3, 4],
      [5, 6, 7, 8, 9],
    ]);

    // Between deliveries: the next delivery starts at the reset offset.
    await log.resetOffsets({ group: 'replayed', topic: 'replayed', to: 'earliest', force: true });
    resetDuring = true;
    assert.equal(await deliver(), 'caught-up');
    // During one: while [5, 10) is handled the group is reset to 2; the dispatcher's commit of 10 is
    // refused and it goes on from 2 instead of overwriting the reset.
    assert.deepEqual(batches, [
      [0, 1, 2, 3, 4],
      [5, 6, 7, 8, 9],
      [2, 3, 4, 5, 6],
      [7, 8, 9],
    ]);
    assert.deepEqual(skips.at(-1), { from: 10, to: 2, reason: 'reset' });
    assert.deepEqual(await committed('replayed', 'replayed'), [[0, 10]]);
  });

  test('a pull member picks the reset up: its commit under the old lease is refused with OffsetReset naming the new offset, the reset stays, and after a heartbeat it commits from there', async () => {
    await log.createTopic({ name: 'pulled', partitions: 1 });
    await log.produce({
      topic: 'pulled',
      records: Array.from({ length: 10 }, (_, i) => ({ value: bytes(`p${i}`) })),
    });
    const joined = await log.joinGroup('readers', 'pulled', { memberId: 'reader', sessionTimeoutMs: 30_000 });
    const [assignment] = joined.assignments;
    assert.ok(assignment !== undefined);
    await log.commitAsMember('readers', 'pulled', 'reader', [
      { partition: 0, offset: 6, leaseCounter: assignment.leaseCounter },
    ]);

    await log.resetOffsets({ group: 'readers', topic: 'pulled', to: { offset: 1 }, force: true });
    // The member goes on from its own position (6 → 8): refused, with the reset offset; with or
    // without its lease counter.
    for (const leaseCounter of [assignment.leaseCounter, undefined]) {
      await assert.rejects(
        log.commitAsMember('readers', 'pulled', 'reader', [
          { partition: 0, offset: 8, ...(leaseCounter === undefined ? {} : { leaseCounter }) },
        ]),
        (error: unknown) => {
          assert.ok(error instanceof OffsetResetError, String(error));
          assert.equal(error.status, 409);
          assert.deepEqual(error.offsets, [{ partition: 0, offset: 1 }]);
          assert.match(error.message, /partition 0 to 1/);
          return true;
        },
      );
    }
    assert.deepEqual(await committed('readers', 'pulled'), [[0, 1]]);

    // At its next heartbeat it gets the partition again under a new lease counter, reads the committed
    // offset, and consumes from the reset position.
    const beat = await log.heartbeat('readers', 'pulled', 'reader', 30_000);
    const [again] = beat.assignments;
    assert.ok(again !== undefined && again.leaseCounter > assignment.leaseCounter, JSON.stringify(beat));
    const [position] = await log.fetchOffsets('readers', 'pulled');
    assert.equal(position?.offset, 1);
    const { nextOffset } = await log.fetch({ topic: 'pulled', partition: 0, offset: 1, maxRecords: 2 });
    await log.commitAsMember('readers', 'pulled', 'reader', [
      { partition: 0, offset: nextOffset, leaseCounter: again.leaseCounter },
    ]);
    assert.deepEqual(await committed('readers', 'pulled'), [[0, 3]]);
  });
});

describe('POST /groups/{group}/offsets/reset', () => {
  let api: Awaited<ReturnType<typeof localApi>>;
  before(async () => {
    api = await localApi();
    await call(api.url, 'POST', '/topics', { json: { name: 'web', partitions: 2 } });
    await call(api.url, 'POST', '/topics/web/records', {
      json: { records: [0, 1, 2].map((i) => ({ value: i, partition: i % 2 })) },
    });
  });
  after(() => api.close());

  test('answers the previous and new offsets per partition, as the OpenAPI document says; a dry run changes nothing', async () => {
    const dry = await call(api.url, 'POST', '/groups/web-readers/offsets/reset', {
      json: { topic: 'web', to: 'latest', dryRun: true },
    });
    assert.equal(dry.status, 200);
    assert.equal(dry.body.dryRun, true);
    assert.equal((await call(api.url, 'GET', '/groups/web-readers/offsets?topic=web')).status, 404);
    const reply = await call(api.url, 'POST', '/groups/web-readers/offsets/reset', {
      json: { topic: 'web', to: 'latest' },
    });
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.body, {
      group: 'web-readers',
      topic: 'web',
      dryRun: false,
      offsets: [
        { partition: 0, previousOffset: null, offset: 2 },
        { partition: 1, previousOffset: null, offset: 1 },
      ],
    });
    const offsets = await call(api.url, 'GET', '/groups/web-readers/offsets?topic=web');
    assert.deepEqual(
      offsets.body.offsets.map((o: { offset: number; lagRecords: number }) => [o.offset, o.lagRecords]),
      [
        [2, 0],
        [1, 0],
      ],
    );
  });

  test('409 GroupActive while a member is active, then force; the member’s stale commit is 409 OffsetReset', async () => {
    const joined = await call(api.url, 'POST', '/groups/web-members/members', {
      json: { topic: 'web', memberId: 'w-1', sessionTimeoutMs: 30_000 },
    });
    const counter = joined.body.assignments[0].leaseCounter;
    await call(api.url, 'PUT', '/groups/web-members/members/w-1/offsets', {
      json: { topic: 'web', offsets: [{ partition: 0, offset: 1, leaseCounter: counter }] },
    });
    const refused = await call(api.url, 'POST', '/groups/web-members/offsets/reset', {
      json: { topic: 'web', to: 'earliest' },
    });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, 'GroupActive');
    assert.match(refused.body.error.message, /w-1/);
    const forced = await call(api.url, 'POST', '/groups/web-members/offsets/reset', {
      json: { topic: 'web', to: 'earliest', force: true, partitions: [0] },
    });
    assert.equal(forced.status, 200);
    assert.deepEqual(forced.body.offsets, [{ partition: 0, previousOffset: 1, offset: 0 }]);
    const stale = await call(api.url, 'PUT', '/groups/web-members/members/w-1/offsets', {
      json: { topic: 'web', offsets: [{ partition: 0, offset: 2, leaseCounter: counter }] },
    });
    assert.equal(stale.status, 409);
    assert.equal(stale.body.error.code, 'OffsetReset');
    assert.match(stale.body.error.message, /partition 0 to 0/);
  });
});
