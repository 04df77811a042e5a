import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KafkaCommitFence, KafkaGroupStore, StoredKafkaGroup } from '../../lib/core/ports.ts';
import {
  GroupErrorCode as E,
  type GroupClock,
  type GroupEngine,
  KafkaGroupCoordinator,
} from '../../lib/kafka/groups/index.ts';

/** The store's contract in memory: conditional puts on the version; fenced commits checked as DynamoDB does. */
class MemoryStore implements KafkaGroupStore {
  readonly items = new Map<string, StoredKafkaGroup>();
  readonly committed: { fence: KafkaCommitFence; offset: number }[] = [];
  async get(group: string) {
    return this.items.get(group);
  }
  async put(next: StoredKafkaGroup, expected: number | undefined) {
    if (this.items.get(next.group)?.version !== expected) return false;
    this.items.set(next.group, next);
    return true;
  }
  async list() {
    return [...this.items.values()];
  }
  async commitFenced(
    fence: KafkaCommitFence,
    _t: string,
    _id: string,
    offsets: readonly { offset: number }[],
  ) {
    const item = this.items.get(fence.group);
    const ok =
      fence.generation < 0
        ? item === undefined || item.memberIds.length === 0
        : item !== undefined &&
          item.generation === fence.generation &&
          item.memberIds.includes(fence.memberId) &&
          item.state !== 'CompletingRebalance';
    if (ok) for (const o of offsets) this.committed.push({ fence, offset: o.offset });
    return ok;
  }
}

/** Time that passes only when somebody sleeps. */
function fakeClock(): GroupClock & { slept: number } {
  let now = 1_000_000;
  const clock = {
    slept: 0,
    now: () => now,
    sleep: async (ms: number) => {
      now += ms;
      clock.slept += ms;
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
  return clock;
}

const engine = {
  describeTopic: async () => ({ id: 't1', partitions: 2 }),
  fetchOffsets: async () => [],
  listTopics: async () => [],
  listGroups: async () => [],
} as unknown as GroupEngine;

const join = (memberId: string) => ({
  groupId: 'g',
  sessionTimeoutMs: 10_000,
  rebalanceTimeoutMs: 20_000,
  memberId,
  groupInstanceId: null,
  protocolType: 'consumer',
  protocols: [{ name: 'range', metadata: new Uint8Array([1]) }],
});

/** A coordinator over a memory store holding group 'g' Stable at generation 1 with one member, m1. */
async function stableOfOne() {
  const clock = fakeClock();
  const store = new MemoryStore();
  const groups = new KafkaGroupCoordinator({
    store,
    engine,
    clock,
    config: { initialRebalanceDelayMs: 0 },
    newMemberId: () => 'm1',
  });
  await groups.joinGroup(join(''), 9, { clientId: 'c', clientHost: '' });
  const j = await groups.joinGroup(join('m1'), 9, { clientId: 'c', clientHost: '' });
  await groups.syncGroup(
    {
      groupId: 'g',
      generationId: j.generationId,
      memberId: 'm1',
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: [{ memberId: 'm1', assignment: new Uint8Array([1]) }],
    },
    5,
  );
  return { clock, store, groups };
}

describe('Kafka group coordinator over a store', () => {
  test('a JoinGroup waits for the initial rebalance delay on the injected clock, polling the stored state, then answers generation 1', async () => {
    const clock = fakeClock();
    const store = new MemoryStore();
    let n = 0;
    const groups = new KafkaGroupCoordinator({ store, engine, clock, newMemberId: () => `m${++n}` });
    const client = { clientId: 'c', clientHost: '/h' };
    const first = await groups.joinGroup(join(''), 9, client);
    assert.deepEqual([first.errorCode, first.memberId], [E.MEMBER_ID_REQUIRED, 'm1']);
    const joined = await groups.joinGroup(join('m1'), 9, client);
    assert.deepEqual([joined.errorCode, joined.generationId, joined.leader], [E.NONE, 1, 'm1']);
    assert.ok(clock.slept >= 3_000 && clock.slept < 3_500, `slept ${clock.slept} ms`);
    assert.equal(store.items.get('g')?.state, 'CompletingRebalance');
  });

  test('a commit refused by the stored fence is checked again and answered with the code for what changed', async () => {
    const { store, groups } = await stableOfOne();
    const request = (generation: number) => ({
      groupId: 'g',
      generationIdOrMemberEpoch: generation,
      memberId: 'm1',
      groupInstanceId: null,
      topics: [
        {
          name: 'orders',
          partitions: [
            { partitionIndex: 0, committedOffset: 5n, committedMetadata: null },
            { partitionIndex: 9, committedOffset: 5n, committedMetadata: null },
          ],
        },
      ],
    });
    const ok = await groups.offsetCommit(request(1), 9);
    assert.deepEqual(
      ok.topics[0]?.partitions.map((p) => p.errorCode),
      [E.NONE, E.UNKNOWN_TOPIC_OR_PARTITION],
    );
    const old = await groups.offsetCommit(request(0), 9);
    assert.equal(old.topics[0]?.partitions[0]?.errorCode, E.ILLEGAL_GENERATION);
    assert.equal(store.committed.length, 1);
  });

  test('FindCoordinator names this server for every group key and refuses transaction keys', () => {
    const groups = new KafkaGroupCoordinator({ store: new MemoryStore(), engine, clock: fakeClock() });
    const broker = { nodeId: 0, host: '127.0.0.1', port: 9092 };
    const v3 = groups.findCoordinator({ key: 'g', keyType: 0, coordinatorKeys: [] }, 3, broker);
    assert.deepEqual([v3.errorCode, v3.host, v3.port], [E.NONE, '127.0.0.1', 9092]);
    const v4 = groups.findCoordinator({ key: '', keyType: 0, coordinatorKeys: ['a', 'b'] }, 4, broker);
    assert.deepEqual(
      v4.coordinators.map((c) => c.key),
      ['a', 'b'],
    );
    assert.equal(
      groups.findCoordinator({ key: 'tx', keyType: 1, coordinatorKeys: [] }, 3, broker).errorCode,
      E.INVALID_REQUEST,
    );
  });

  test('ListGroups reports a group as of now, as DescribeGroups does (members past their session: Empty), without writing', async () => {
    const { clock, store, groups } = await stableOfOne();
    const listed = async () => (await groups.listGroups({ statesFilter: [], typesFilter: [] }, 5)).groups;
    assert.deepEqual(
      (await listed()).map((g) => [g.groupId, g.groupState]),
      [['g', 'Stable']],
    );
    // The member's session (10 s) passes with no heartbeat: the stored item still says Stable.
    await clock.sleep(11_000);
    const version = store.items.get('g')?.version;
    assert.deepEqual(
      (await listed()).map((g) => [g.groupId, g.groupState]),
      [['g', 'Empty']],
    );
    assert.equal(store.items.get('g')?.version, version, 'ListGroups wrote nothing');
    assert.deepEqual((await groups.listGroups({ statesFilter: ['Stable'], typesFilter: [] }, 5)).groups, []);
    const described = await groups.describeGroups({ groups: ['g'], includeAuthorizedOperations: false }, 5);
    assert.equal(described.groups[0]?.groupState, 'Empty');
  });
});
