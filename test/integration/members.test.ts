import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError, LeaseLostError, UnknownMemberError } from '../../lib/core/errors.ts';
import type { Assignment } from '../../lib/engine/membership.ts';
import type { Streambed } from '../../lib/engine/streambed.ts';
import { bytes, type TestStack, testStack } from '../support/stack.ts';

const SESSION = 2000;

interface Member {
  id: string;
  assignments: readonly Assignment[];
  alive: boolean;
}

describe('pull consumer groups with leases', () => {
  let stack: TestStack;
  let log: Streambed;
  before(async () => {
    stack = await testStack();
    log = stack.engine();
  });
  after(() => stack.close());

  test('a killed member loses its partitions within the session timeout, its stale commit is rejected, and committed offsets never go backwards', async (t) => {
    await log.createTopic({ name: 'members', partitions: 6 });
    await log.produce({
      topic: 'members',
      records: Array.from({ length: 600 }, (_, i) => ({ value: bytes(`${i}`), partition: i % 6 })),
    });
    const members: Member[] = [];
    for (const id of ['a', 'b', 'c']) {
      const joined = await log.joinGroup('pull', 'members', { memberId: id, sessionTimeoutMs: SESSION });
      members.push({ id, assignments: joined.assignments, alive: true });
    }
    const committed = new Map<number, number>();
    const beat = async (m: Member) => {
      m.assignments = (await log.heartbeat('pull', 'members', m.id, SESSION)).assignments;
    };
    const consume = async (m: Member) => {
      // Read a little from each owned partition and commit the position (at-least-once).
      for (const a of m.assignments) {
        const current = (await log.fetchOffsets('pull', 'members')).find((o) => o.partition === a.partition);
        const from = current?.offset ?? 0;
        const { nextOffset } = await log.fetch({
          topic: 'members',
          partition: a.partition,
          offset: from,
          maxRecords: 5,
        });
        try {
          await log.commitAsMember('pull', 'members', m.id, [
            { partition: a.partition, offset: nextOffset, leaseCounter: a.leaseCounter },
          ]);
        } catch (error) {
          assert.ok(error instanceof LeaseLostError, String(error));
        }
      }
    };
    const watchOffsets = async () => {
      for (const o of await log.fetchOffsets('pull', 'members')) {
        assert.ok(o.offset >= (committed.get(o.partition) ?? 0), `partition ${o.partition} went backwards`);
        committed.set(o.partition, o.offset);
      }
    };
    const owners = () => {
      const owned = members.filter((m) => m.alive).flatMap((m) => m.assignments.map((a) => a.partition));
      return owned.sort((x, y) => x - y);
    };
    // Converge: every partition owned exactly once, two each.
    for (let round = 0; round < 10; round++) {
      for (const m of members) await beat(m);
      if (owners().join() === '0,1,2,3,4,5' && members.every((m) => m.assignments.length === 2)) break;
    }
    assert.deepEqual(owners(), [0, 1, 2, 3, 4, 5]);
    for (const m of members) await consume(m);
    await watchOffsets();

    // Kill b: it stops heartbeating. The others keep going; measure how long until b's partitions move.
    const b = members[1] as Member;
    const lost = b.assignments;
    b.alive = false;
    const killedAt = Date.now();
    let movedAfter = -1;
    while (Date.now() - killedAt < SESSION * 4) {
      for (const m of members.filter((x) => x.alive)) {
        await beat(m);
        await consume(m);
      }
      await watchOffsets();
      if (owners().join() === '0,1,2,3,4,5') {
        movedAfter = Date.now() - killedAt;
        break;
      }
      await sleep(SESSION / 3);
    }
    assert.ok(movedAfter >= 0, 'the dead member’s partitions were taken over');
    t.diagnostic(
      `partitions moved ${movedAfter} ms after the member stopped (session timeout ${SESSION} ms)`,
    );
    assert.ok(movedAfter <= SESSION + SESSION / 3 + 1500, `moved after ${movedAfter} ms`);
    assert.ok(movedAfter >= SESSION - 200, `not before the session timed out (${movedAfter} ms)`);

    // b wakes up and commits with its old leases: rejected, nothing moves backwards.
    for (const a of lost) {
      await assert.rejects(
        log.commitAsMember('pull', 'members', 'b', [
          { partition: a.partition, offset: 0, leaseCounter: a.leaseCounter },
        ]),
        LeaseLostError,
      );
      await assert.rejects(
        log.commitAsMember('pull', 'members', 'b', [{ partition: a.partition, offset: 0 }]),
        LeaseLostError,
      );
    }
    await watchOffsets();

    // Within one lease, an offset cannot be committed backwards either.
    const a = members[0] as Member;
    const own = a.assignments[0] as Assignment;
    await assert.rejects(
      log.commitAsMember('pull', 'members', 'a', [
        { partition: own.partition, offset: 0, leaseCounter: own.leaseCounter },
      ]),
      LeaseLostError,
    );
    await watchOffsets();
  });

  test('a member joining takes its share from the others; leaving frees partitions at once', async () => {
    await log.createTopic({ name: 'rebalance', partitions: 4 });
    const first = await log.joinGroup('rb', 'rebalance', { memberId: 'one', sessionTimeoutMs: 10_000 });
    assert.equal(first.assignments.length, 4);
    assert.equal(first.heartbeatIntervalMs, 3333);
    let second = await log.joinGroup('rb', 'rebalance', { memberId: 'two', sessionTimeoutMs: 10_000 });
    for (let i = 0; i < 4 && second.assignments.length < 2; i++) {
      second = await log.heartbeat('rb', 'rebalance', 'two', 10_000);
    }
    assert.equal(second.assignments.length, 2);
    const one = await log.heartbeat('rb', 'rebalance', 'one', 10_000);
    assert.equal(one.assignments.length, 2);
    await log.leaveGroup('rb', 'rebalance', 'two');
    const alone = await log.heartbeat('rb', 'rebalance', 'one', 10_000);
    assert.equal(alone.assignments.length, 4);
    await assert.rejects(log.heartbeat('rb', 'rebalance', 'two', 10_000), UnknownMemberError);
    assert.ok((await log.listGroups()).includes('rb'));
  });

  test('bad membership input is rejected', async () => {
    await log.createTopic({ name: 'm-args', partitions: 1 });
    await assert.rejects(log.joinGroup('g', 'm-args', { memberId: 'bad id' }), InvalidArgumentError);
    await assert.rejects(log.joinGroup('g', 'm-args', { sessionTimeoutMs: 10 }), /sessionTimeoutMs/);
    await assert.rejects(log.commitAsMember('g', 'm-args', 'nobody', []), /offsets/);
    await assert.rejects(
      log.commitAsMember('g', 'm-args', 'nobody', [{ partition: 0, offset: 1 }]),
      LeaseLostError,
    );
  });
});
