import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DynamoKafkaGroupStore } from '../../lib/adapters/dynamodb/kafka-groups.ts';
import type { Streambed } from '../../lib/engine/streambed.ts';
import { type GroupClock, KafkaGroupCoordinator } from '../../lib/kafka/groups/coordinator.ts';
import { GroupErrorCode as E } from '../../lib/kafka/groups/errors.ts';
import type {
  JoinGroupRequest,
  JoinGroupResponse,
  OffsetCommitRequest,
} from '../../lib/kafka/groups/messages.ts';
import { type TestStack, testStack } from '../support/stack.ts';

const clock: GroupClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};
const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

function joinRequest(groupId: string, memberId: string, name: string): JoinGroupRequest {
  return {
    groupId,
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 10_000,
    memberId,
    groupInstanceId: null,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: bytes(`meta-${name}`) }],
  };
}

/** Kafka ≥ 2.2's two-step join: MEMBER_ID_REQUIRED, then the join with the id. */
async function joinTwoStep(
  coordinator: KafkaGroupCoordinator,
  groupId: string,
  name: string,
): Promise<JoinGroupResponse> {
  const client = { clientId: name, clientHost: '/127.0.0.1' };
  const first = await coordinator.joinGroup(joinRequest(groupId, '', name), 9, client);
  assert.equal(first.errorCode, E.MEMBER_ID_REQUIRED);
  return coordinator.joinGroup(joinRequest(groupId, first.memberId, name), 9, client);
}

const commit = (
  groupId: string,
  generation: number,
  memberId: string,
  offset: number,
): OffsetCommitRequest => ({
  groupId,
  generationIdOrMemberEpoch: generation,
  memberId,
  groupInstanceId: null,
  topics: [
    {
      name: 'orders',
      partitions: [{ partitionIndex: 0, committedOffset: BigInt(offset), committedMetadata: 'k' }],
    },
  ],
});

describe('Kafka group coordination on DynamoDB across stateless servers', () => {
  let stack: TestStack;
  let log: Streambed;
  let servers: KafkaGroupCoordinator[];
  before(async () => {
    stack = await testStack();
    log = stack.engine();
    await log.createTopic({ name: 'orders', partitions: 3 });
    // Two coordinators, each with its own store instance: as two server processes on the same tables.
    servers = [0, 1].map(
      () =>
        new KafkaGroupCoordinator({
          store: new DynamoKafkaGroupStore({ client: stack.dynamodb, table: stack.tables.meta }),
          engine: log,
          clock,
          config: { initialRebalanceDelayMs: 500 },
          pollIntervalMs: 20,
        }),
    );
  });
  after(() => stack.close());

  /** Three members joining at once through alternating servers, then syncing; returns the joins. */
  async function formGroup(groupId: string): Promise<JoinGroupResponse[]> {
    const [a, b] = servers as [KafkaGroupCoordinator, KafkaGroupCoordinator];
    const joins = await Promise.all([
      joinTwoStep(a, groupId, 'm1'),
      joinTwoStep(b, groupId, 'm2'),
      joinTwoStep(a, groupId, 'm3'),
    ]);
    const leader = joins.find((j) => j.memberId === j.leader);
    assert.ok(leader, 'one member is told it leads');
    const syncs = await Promise.all(
      joins.map((j, i) =>
        (i % 2 === 0 ? b : a).syncGroup(
          {
            groupId,
            generationId: j.generationId,
            memberId: j.memberId,
            groupInstanceId: null,
            protocolType: 'consumer',
            protocolName: 'range',
            assignments:
              j === leader
                ? joins.map((m) => ({ memberId: m.memberId, assignment: bytes(`to-${m.memberId}`) }))
                : [],
          },
          5,
        ),
      ),
    );
    syncs.forEach((s, i) => {
      assert.equal(s.errorCode, E.NONE);
      assert.equal(text(s.assignment), `to-${joins[i]?.memberId}`);
    });
    return joins;
  }

  test('three members racing joins and syncs through two servers agree on one generation, one leader, and get the leader’s assignments', async () => {
    const joins = await formGroup('racers');
    assert.equal(new Set(joins.map((j) => j.generationId)).size, 1);
    assert.equal(new Set(joins.map((j) => j.leader)).size, 1);
    assert.equal(
      joins.every((j) => j.errorCode === E.NONE),
      true,
    );
    const leader = joins.find((j) => j.memberId === j.leader);
    assert.deepEqual(leader?.members.map((m) => m.memberId).sort(), joins.map((j) => j.memberId).sort());
    const [described] =
      (await servers[1]?.describeGroups({ groups: ['racers'], includeAuthorizedOperations: false }, 5))
        ?.groups ?? [];
    assert.equal(described?.groupState, 'Stable');
    assert.equal(described?.members.length, 3);
    const listed = await servers[0]?.listGroups({ statesFilter: ['Stable'], typesFilter: [] }, 5);
    assert.deepEqual(
      listed?.groups.map((g) => g.groupId),
      ['racers'],
    );
  });

  test('a commit of the current generation lands in the offsets Streambed.fetchOffsets reads; one from the previous generation is refused and changes nothing', async () => {
    const [a, b] = servers as [KafkaGroupCoordinator, KafkaGroupCoordinator];
    const joins = await formGroup('fenced');
    const [m1, m2, m3] = joins as [JoinGroupResponse, JoinGroupResponse, JoinGroupResponse];
    const generation = m1.generationId;
    const ok = await a.offsetCommit(commit('fenced', generation, m1.memberId, 42), 9);
    assert.equal(ok.topics[0]?.partitions[0]?.errorCode, E.NONE);
    const [seen] = await log.fetchOffsets('fenced', 'orders');
    assert.deepEqual(
      [seen?.partition, seen?.offset, seen?.metadata, seen?.generation],
      [0, 42, 'k', generation],
    );

    // m3 leaves; m1 and m2 rejoin on different servers: the next generation.
    const left = await b.leaveGroup(
      { groupId: 'fenced', memberId: '', members: [{ memberId: m3.memberId, groupInstanceId: null }] },
      5,
    );
    assert.equal(left.members[0]?.errorCode, E.NONE);
    const hb = await a.heartbeat(
      { groupId: 'fenced', generationId: generation, memberId: m2.memberId, groupInstanceId: null },
      4,
    );
    assert.equal(hb.errorCode, E.REBALANCE_IN_PROGRESS);
    const client = { clientId: 'x', clientHost: '/127.0.0.1' };
    const rejoined = await Promise.all([
      a.joinGroup(joinRequest('fenced', m1.memberId, 'm1'), 9, client),
      b.joinGroup(joinRequest('fenced', m2.memberId, 'm2'), 9, client),
    ]);
    assert.deepEqual(
      rejoined.map((j) => j.generationId),
      [generation + 1, generation + 1],
    );

    const stale = await b.offsetCommit(commit('fenced', generation, m2.memberId, 99), 9);
    assert.equal(stale.topics[0]?.partitions[0]?.errorCode, E.ILLEGAL_GENERATION);
    const gone = await b.offsetCommit(commit('fenced', generation + 1, m3.memberId, 99), 9);
    assert.equal(gone.topics[0]?.partitions[0]?.errorCode, E.UNKNOWN_MEMBER_ID);
    const completing = await b.offsetCommit(commit('fenced', generation + 1, m2.memberId, 99), 9);
    assert.equal(completing.topics[0]?.partitions[0]?.errorCode, E.REBALANCE_IN_PROGRESS);
    const [after] = await log.fetchOffsets('fenced', 'orders');
    assert.equal(after?.offset, 42, 'no refused commit changed the offset');
  });

  test('a commit decided on a generation the group left fails its transaction even when it reaches storage, and writes nothing', async () => {
    const store = new DynamoKafkaGroupStore({ client: stack.dynamodb, table: stack.tables.meta });
    const joins = await formGroup('raced');
    const [m1] = joins as [JoinGroupResponse];
    // The group moves on (a member leaves) between the coordinator's check and the write.
    await servers[0]?.leaveGroup(
      {
        groupId: 'raced',
        memberId: '',
        members: [{ memberId: joins[2]?.memberId ?? '', groupInstanceId: null }],
      },
      5,
    );
    const applied = await store.commitFenced(
      { group: 'raced', generation: m1.generationId, memberId: m1.memberId },
      'orders',
      (await log.describeTopic('orders')).id,
      [{ partition: 1, offset: 7, metadata: '' }],
    );
    assert.equal(
      applied,
      true,
      'a rebalance that only started (PreparingRebalance) still takes commits of the generation, as Kafka',
    );
    const rejoined = await Promise.all(
      joins.slice(0, 2).map((j, i) =>
        servers[i]?.joinGroup(joinRequest('raced', j.memberId, `m${i}`), 9, {
          clientId: 'x',
          clientHost: '',
        }),
      ),
    );
    assert.equal(rejoined[0]?.generationId, m1.generationId + 1);
    const refused = await store.commitFenced(
      { group: 'raced', generation: m1.generationId, memberId: m1.memberId },
      'orders',
      (await log.describeTopic('orders')).id,
      [{ partition: 1, offset: 8, metadata: '' }],
    );
    assert.equal(refused, false);
    const offsets = await log.fetchOffsets('raced', 'orders');
    assert.deepEqual(
      offsets.map((o) => [o.partition, o.offset]),
      [[1, 7]],
    );
  });

  test('a simple commit (generation -1) to a group without members lands, OffsetFetch reads it and HTTP-door commits alike', async () => {
    const [a] = servers as [KafkaGroupCoordinator];
    const simple = await a.offsetCommit(commit('tools', -1, '', 11), 9);
    assert.equal(simple.topics[0]?.partitions[0]?.errorCode, E.NONE);
    assert.equal((await log.fetchOffsets('tools', 'orders'))[0]?.offset, 11);
    await log.commitOffsets({ group: 'tools', topic: 'orders', offsets: [{ partition: 2, offset: 5 }] });
    const fetched = await a.offsetFetch(
      {
        groupId: 'tools',
        topics: [{ name: 'orders', partitionIndexes: [0, 1, 2] }],
        groups: [],
        requireStable: false,
      },
      7,
    );
    assert.deepEqual(
      fetched.topics[0]?.partitions.map((p) => [p.partitionIndex, p.committedOffset]),
      [
        [0, 11n],
        [1, -1n],
        [2, 5n],
      ],
    );
    const all = await a.offsetFetch(
      { groupId: '', topics: null, groups: [{ groupId: 'tools', topics: null }], requireStable: false },
      8,
    );
    assert.deepEqual(
      all.groups[0]?.topics.map((t) => t.name),
      ['orders'],
    );
    const unknown = await a.offsetCommit(
      {
        ...commit('tools', -1, '', 1),
        topics: [
          { name: 'nope', partitions: [{ partitionIndex: 0, committedOffset: 1n, committedMetadata: null }] },
        ],
      },
      9,
    );
    assert.equal(unknown.topics[0]?.partitions[0]?.errorCode, E.UNKNOWN_TOPIC_OR_PARTITION);
  });
});
