import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type Lease, type MemberInfo, planAssignment } from '../../lib/core/assignment.ts';

const NOW = 1_000_000;
const lease = (partition: number, owner: string | null, live = true): Lease => ({
  partition,
  owner,
  counter: 1,
  expiresAt: live ? NOW + 5000 : NOW - 1,
});
const member = (memberId: string, live = true): MemberInfo => ({
  memberId,
  expiresAt: live ? NOW + 5000 : NOW - 1,
});

/** Runs every member's plan in turn until nothing changes, like members heartbeating. */
function converge(partitions: number, members: string[], start: Lease[]): Lease[] {
  let leases = start;
  for (let round = 0; round < 50; round++) {
    let changed = false;
    for (const me of members) {
      const plan = planAssignment(
        leases,
        members.map((m) => member(m)),
        me,
        NOW,
      );
      const next = new Map(leases.map((l) => [l.partition, l]));
      for (const l of [...plan.take, ...plan.steal]) {
        next.set(l.partition, { ...l, owner: me, counter: l.counter + 1, expiresAt: NOW + 5000 });
        changed = true;
      }
      for (const l of plan.release) {
        next.set(l.partition, { ...l, owner: null, counter: l.counter + 1, expiresAt: 0 });
        changed = true;
      }
      leases = [...next.values()];
    }
    if (!changed) return leases;
  }
  throw new Error(`no convergence for ${partitions} partitions, ${members.length} members`);
}

describe('lease assignment', () => {
  test('a lone member takes every partition', () => {
    const plan = planAssignment([lease(0, null), lease(1, null), lease(2, null)], [member('a')], 'a', NOW);
    assert.deepEqual(
      plan.take.map((l) => l.partition),
      [0, 1, 2],
    );
  });

  test("a dead member's leases are taken, live ones are left alone", () => {
    const leases = [lease(0, 'a'), lease(1, 'b', false), lease(2, 'b', false), lease(3, 'a')];
    const plan = planAssignment(leases, [member('a'), member('b', false), member('c')], 'c', NOW);
    assert.deepEqual(
      plan.take.map((l) => l.partition),
      [1, 2],
    );
    assert.deepEqual(plan.steal, []);
  });

  test('a joining member steals one lease at a time from the most loaded member', () => {
    const leases = [0, 1, 2, 3].map((p) => lease(p, 'a'));
    const plan = planAssignment(leases, [member('a'), member('b')], 'b', NOW);
    assert.deepEqual(plan.take, []);
    assert.deepEqual(
      plan.steal.map((l) => l.partition),
      [3],
    );
  });

  test('a member above its share releases the extra leases', () => {
    const leases = [0, 1, 2, 3].map((p) => lease(p, 'a'));
    const plan = planAssignment(leases, [member('a'), member('b'), member('c'), member('d')], 'a', NOW);
    assert.equal(plan.renew.length, 1);
    assert.equal(plan.release.length, 3);
  });

  test('any number of members and partitions converges to a fair assignment where every partition is owned once', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 9 }), (partitions, count) => {
        const members = Array.from({ length: count }, (_, i) => `m${i}`);
        const leases = converge(
          partitions,
          members,
          Array.from({ length: partitions }, (_, p) => lease(p, null)),
        );
        const owners = new Map<string, number>();
        for (const l of leases) {
          assert.ok(l.owner !== null, `partition ${l.partition} is owned`);
          owners.set(l.owner, (owners.get(l.owner) ?? 0) + 1);
        }
        const counts = members.map((m) => owners.get(m) ?? 0);
        assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `fair: ${counts}`);
      }),
      { numRuns: 200 },
    );
  });
});
