import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GroupErrorCode as E, GroupTooLargeError } from '../../lib/kafka/groups/errors.ts';
import { awaitJoin, type JoinDecision, join } from '../../lib/kafka/groups/join.ts';
import { awaitSync, commitRefusal, heartbeat, leave, sync } from '../../lib/kafka/groups/members.ts';
import type { JoinGroupRequest, JoinGroupResponse } from '../../lib/kafka/groups/messages.ts';
import { advance, selectProtocol } from '../../lib/kafka/groups/rebalance.ts';
import {
  DEFAULT_GROUP_CONFIG,
  emptyGroup,
  fromStored,
  type GroupConfig,
  type GroupState,
  toStored,
} from '../../lib/kafka/groups/state.ts';

const config: GroupConfig = { ...DEFAULT_GROUP_CONFIG, initialRebalanceDelayMs: 3_000 };
const client = { clientId: 'app', clientHost: '/10.0.0.7' };
const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

function request(memberId: string, overrides: Partial<JoinGroupRequest> = {}): JoinGroupRequest {
  return {
    groupId: 'billing',
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 30_000,
    memberId,
    groupInstanceId: null,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: bytes(`meta-${memberId}`) }],
    ...overrides,
  };
}

/** A join decided on `state` advanced to `now` (as the coordinator does). */
function joined(
  state: GroupState,
  memberId: string,
  now: number,
  overrides: Partial<JoinGroupRequest> = {},
  version = 9,
): JoinDecision {
  return join(
    advance(state, now, config),
    request(memberId, overrides),
    version,
    client,
    now,
    config,
    'fresh-id',
  );
}

function waiting(decision: JoinDecision): Extract<JoinDecision, { kind: 'wait' }> {
  assert.equal(decision.kind, 'wait', JSON.stringify(decision.kind === 'respond' ? decision.response : {}));
  return decision as Extract<JoinDecision, { kind: 'wait' }>;
}

/** Joins a member id that was handed out (pending) or is known; returns the new state. */
function joinAs(state: GroupState, memberId: string, now: number): GroupState {
  const pending = { ...state, pending: [...state.pending, { memberId, expiresAt: now + 10_000 }] };
  const known = state.members.some((m) => m.memberId === memberId);
  return waiting(joined(known ? state : pending, memberId, now)).state;
}

/** A Stable group of three (a leader, b, c) at generation 1, t = 3_000. */
function stableThree(): GroupState {
  let s = emptyGroup('billing');
  s = joinAs(s, 'a', 0);
  s = joinAs(s, 'b', 10);
  s = joinAs(s, 'c', 20);
  s = advance(s, 3_000, config);
  const d = sync(
    s,
    {
      groupId: 'billing',
      generationId: 1,
      memberId: 'a',
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: ['a', 'b', 'c'].map((m) => ({ memberId: m, assignment: bytes(`to-${m}`) })),
    },
    3_000,
    config,
  );
  assert.equal(d.kind, 'respond');
  return d.state;
}

const syncReq = (memberId: string, generationId: number) => ({
  groupId: 'billing',
  generationId,
  memberId,
  groupInstanceId: null,
  protocolType: null,
  protocolName: null,
  assignments: [],
});
const hb = (memberId: string, generationId: number) => ({
  groupId: 'billing',
  generationId,
  memberId,
  groupInstanceId: null,
});

describe('Kafka group state machine: JoinGroup', () => {
  test('a first join with an empty member id at v4+ gets MEMBER_ID_REQUIRED and the id to join with, kept pending', () => {
    const d = joined(emptyGroup('billing'), '', 0);
    assert.equal(d.kind, 'respond');
    const response = (d as { response: JoinGroupResponse }).response;
    assert.equal(response.errorCode, E.MEMBER_ID_REQUIRED);
    assert.equal(response.memberId, 'fresh-id');
    assert.deepEqual(
      d.state.pending.map((p) => p.memberId),
      ['fresh-id'],
    );
    assert.equal(waiting(joined(d.state, 'fresh-id', 5)).memberId, 'fresh-id');
  });

  test('before v4 an empty member id joins at once with a new id', () => {
    const d = waiting(joined(emptyGroup('billing'), '', 0, {}, 3));
    assert.equal(d.memberId, 'fresh-id');
    assert.equal(d.state.members.length, 1);
  });

  test('a pending id expires after the session timeout of the join that asked for it', () => {
    const d = joined(emptyGroup('billing'), '', 0);
    const later = joined(d.state, 'fresh-id', 10_001);
    assert.equal(later.kind, 'respond');
    assert.equal((later as { response: JoinGroupResponse }).response.errorCode, E.UNKNOWN_MEMBER_ID);
  });

  test('the barrier waits for a member id handed out with MEMBER_ID_REQUIRED (as Kafka), so a member arriving mid-rebalance joins this generation, not the next', () => {
    // 'a' joins a new group (the barrier cannot close before the 3 s initial delay).
    const withA = joinAs(emptyGroup('billing'), 'a', 0);
    // A newcomer asks for an id meanwhile: it is pending.
    const asked = joined(withA, '', 100);
    assert.equal(asked.kind, 'respond');
    // Past the delay every member has rejoined, but the handed-out id is on its way: still open.
    assert.equal(advance(asked.state, 3_000, config).phase, 'PreparingRebalance');
    // The newcomer joins with its id: the barrier closes with both in generation 1.
    const both = advance(waiting(joined(asked.state, 'fresh-id', 3_100)).state, 3_100, config);
    assert.equal(both.phase, 'CompletingRebalance');
    assert.equal(both.generation, 1);
    assert.deepEqual(both.members.map((m) => m.memberId).sort(), ['a', 'fresh-id']);
    // A handed-out id that never comes back expires after its join's session timeout (10 s): then it closes.
    assert.equal(advance(asked.state, 10_099, config).phase, 'PreparingRebalance');
    const closed = advance(asked.state, 10_100, config);
    assert.equal(closed.phase, 'CompletingRebalance');
    assert.deepEqual(
      closed.members.map((m) => m.memberId),
      ['a'],
    );
  });

  test('three members: the barrier waits for the initial delay, then generation 1 with the first joiner as leader, who alone gets all metadata', () => {
    let s = emptyGroup('billing');
    s = joinAs(s, 'a', 0);
    s = joinAs(s, 'b', 10);
    s = joinAs(s, 'c', 20);
    assert.equal(advance(s, 2_999, config).phase, 'PreparingRebalance');
    assert.equal(awaitJoin(advance(s, 2_999, config), 'a', 0), undefined);
    s = advance(s, 3_000, config);
    assert.equal(s.phase, 'CompletingRebalance');
    assert.equal(s.generation, 1);
    assert.equal(s.protocolName, 'range');
    const forA = awaitJoin(s, 'a', 0);
    assert.equal(forA?.leader, 'a');
    assert.deepEqual(
      forA?.members.map((m) => [m.memberId, text(m.metadata)]),
      [
        ['a', 'meta-a'],
        ['b', 'meta-b'],
        ['c', 'meta-c'],
      ],
    );
    const forB = awaitJoin(s, 'b', 0);
    assert.equal(forB?.generationId, 1);
    assert.equal(forB?.leader, 'a');
    assert.deepEqual(forB?.members, []);
  });

  test('a member joining with a protocol type or protocols the group does not share gets INCONSISTENT_GROUP_PROTOCOL', () => {
    const s = stableThree();
    const other = joined({ ...s, pending: [{ memberId: 'd', expiresAt: 99_999 }] }, 'd', 3_100, {
      protocolType: 'connect',
    });
    assert.equal(
      (other as { response: JoinGroupResponse }).response.errorCode,
      E.INCONSISTENT_GROUP_PROTOCOL,
    );
    const noCommon = joined({ ...s, pending: [{ memberId: 'd', expiresAt: 99_999 }] }, 'd', 3_100, {
      protocols: [{ name: 'sticky', metadata: bytes('x') }],
    });
    assert.equal(
      (noCommon as { response: JoinGroupResponse }).response.errorCode,
      E.INCONSISTENT_GROUP_PROTOCOL,
    );
    const none = joined(emptyGroup('billing'), '', 0, { protocols: [] });
    assert.equal((none as { response: JoinGroupResponse }).response.errorCode, E.INCONSISTENT_GROUP_PROTOCOL);
  });

  test('a session timeout outside the broker range gets INVALID_SESSION_TIMEOUT; a group id Streambed cannot store gets INVALID_GROUP_ID', () => {
    const short = joined(emptyGroup('billing'), '', 0, { sessionTimeoutMs: 5_999 });
    assert.equal((short as { response: JoinGroupResponse }).response.errorCode, E.INVALID_SESSION_TIMEOUT);
    const bad = join(emptyGroup('a b'), request('', { groupId: 'a b' }), 9, client, 0, config, 'x');
    assert.equal((bad as { response: JoinGroupResponse }).response.errorCode, E.INVALID_GROUP_ID);
  });

  test('a join with a member id the group never handed out gets UNKNOWN_MEMBER_ID', () => {
    const d = joined(stableThree(), 'stranger', 3_100);
    assert.equal((d as { response: JoinGroupResponse }).response.errorCode, E.UNKNOWN_MEMBER_ID);
  });

  test('a follower rejoining a Stable group with the same protocols gets the current generation without a rebalance; the leader rejoining starts one', () => {
    const s = stableThree();
    const follower = joined(s, 'b', 3_100);
    assert.equal(follower.kind, 'respond');
    assert.equal((follower as { response: JoinGroupResponse }).response.generationId, 1);
    assert.equal(follower.state.phase, 'Stable');
    const leader = waiting(joined(s, 'a', 3_100));
    assert.equal(leader.state.phase, 'PreparingRebalance');
  });

  test('the protocol is chosen by votes among those every member supports, ties by the leader', () => {
    const m = (memberId: string, names: string[]) => ({
      memberId,
      groupInstanceId: null,
      clientId: '',
      clientHost: '',
      sessionTimeoutMs: 1,
      rebalanceTimeoutMs: 1,
      heartbeatAt: 0,
      protocols: names.map((name) => ({ name, metadata: '' })),
      assignment: '',
      awaitingJoin: true,
      joinedGeneration: -1,
    });
    assert.equal(
      selectProtocol([m('a', ['range', 'sticky']), m('b', ['sticky', 'range']), m('c', ['sticky'])], 'a'),
      'sticky',
    );
    assert.equal(selectProtocol([m('a', ['range', 'sticky']), m('b', ['sticky', 'range'])], 'a'), 'range');
    assert.equal(selectProtocol([m('a', ['range']), m('b', ['sticky'])], 'a'), undefined);
  });

  test('a join that would pass the member limit or the item size is refused with GROUP_MAX_SIZE_REACHED, thrown with a message', () => {
    const s = stableThree();
    const small = { ...config, maxMembers: 3 };
    assert.throws(
      () =>
        join(
          { ...s, pending: [{ memberId: 'd', expiresAt: 99_999 }] },
          request('d'),
          9,
          client,
          3_100,
          small,
          'x',
        ),
      (e: unknown) =>
        e instanceof GroupTooLargeError &&
        e.kafkaErrorCode === E.GROUP_MAX_SIZE_REACHED &&
        /3 members/.test(e.message),
    );
    assert.throws(
      () =>
        join(
          emptyGroup('billing'),
          request('', { protocols: [{ name: 'range', metadata: new Uint8Array(400_000) }] }),
          3,
          client,
          0,
          config,
          'x',
        ),
      (e: unknown) =>
        e instanceof GroupTooLargeError &&
        e.kafkaErrorCode === E.GROUP_MAX_SIZE_REACHED &&
        /DynamoDB/.test(e.message),
    );
  });

  test('the stored form round-trips the state', () => {
    const s = stableThree();
    assert.deepEqual(fromStored('billing', toStored(s, 4)), s);
    assert.equal(toStored(s, 4).version, 5);
    assert.deepEqual(toStored(s, 4).memberIds, ['a', 'b', 'c']);
  });
});

describe('Kafka group state machine: SyncGroup, Heartbeat, LeaveGroup, expiry', () => {
  test('a follower that syncs before the leader waits; the leader stores the assignments and the group is Stable; each gets its own', () => {
    let s = emptyGroup('billing');
    for (const [m, t] of [
      ['a', 0],
      ['b', 10],
      ['c', 20],
    ] as const)
      s = joinAs(s, m, t);
    s = advance(s, 3_000, config);
    const early = sync(s, syncReq('b', 1), 3_001, config);
    assert.equal(early.kind, 'wait');
    assert.equal(awaitSync(early.state, 'b', 1), undefined);
    const lead = sync(
      early.state,
      {
        ...syncReq('a', 1),
        assignments: [
          { memberId: 'a', assignment: bytes('p0') },
          { memberId: 'b', assignment: bytes('p1') },
          { memberId: 'c', assignment: bytes('p2') },
        ],
      },
      3_002,
      config,
    );
    assert.equal(lead.kind, 'respond');
    assert.equal(text((lead as { response: { assignment: Uint8Array } }).response.assignment), 'p0');
    assert.equal(lead.state.phase, 'Stable');
    assert.equal(text(awaitSync(lead.state, 'b', 1)?.assignment ?? new Uint8Array()), 'p1');
    const late = sync(lead.state, syncReq('c', 1), 3_003, config);
    assert.equal(text((late as { response: { assignment: Uint8Array } }).response.assignment), 'p2');
  });

  test('SyncGroup: UNKNOWN_MEMBER_ID for a stranger, ILLEGAL_GENERATION for another generation, REBALANCE_IN_PROGRESS while preparing', () => {
    const s = stableThree();
    const code = (d: ReturnType<typeof sync>) =>
      (d as { response: { errorCode: number } }).response.errorCode;
    assert.equal(code(sync(s, syncReq('x', 1), 3_100, config)), E.UNKNOWN_MEMBER_ID);
    assert.equal(code(sync(s, syncReq('b', 0), 3_100, config)), E.ILLEGAL_GENERATION);
    const preparing = waiting(joined(s, 'a', 3_100)).state;
    assert.equal(code(sync(preparing, syncReq('b', 1), 3_200, config)), E.REBALANCE_IN_PROGRESS);
    assert.equal(awaitSync(preparing, 'b', 1)?.errorCode, E.REBALANCE_IN_PROGRESS);
  });

  test('assignments that would outgrow the item are refused with UNKNOWN_SERVER_ERROR, thrown with a message', () => {
    let s = emptyGroup('billing');
    s = advance(joinAs(s, 'a', 0), 3_000, config);
    assert.throws(
      () =>
        sync(
          s,
          { ...syncReq('a', 1), assignments: [{ memberId: 'a', assignment: new Uint8Array(300_000) }] },
          3_001,
          config,
        ),
      (e: unknown) => e instanceof GroupTooLargeError && e.kafkaErrorCode === E.UNKNOWN_SERVER_ERROR,
    );
  });

  test('Heartbeat: NONE when Stable, ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID as Kafka, REBALANCE_IN_PROGRESS once a rebalance started', () => {
    const s = stableThree();
    assert.equal(heartbeat(s, hb('b', 1), 3_100).errorCode, E.NONE);
    assert.equal(heartbeat(s, hb('b', 2), 3_100).errorCode, E.ILLEGAL_GENERATION);
    assert.equal(heartbeat(s, hb('x', 1), 3_100).errorCode, E.UNKNOWN_MEMBER_ID);
    const preparing = waiting(joined(s, 'a', 3_100)).state;
    assert.equal(heartbeat(preparing, hb('b', 1), 3_200).errorCode, E.REBALANCE_IN_PROGRESS);
  });

  test('a member leaves → the others rebalance to generation 2; it returns → generation 3 with all three', () => {
    let s = stableThree();
    const left = leave(
      s,
      { groupId: 'billing', memberId: '', members: [{ memberId: 'c', groupInstanceId: null }] },
      5,
      4_000,
      config,
    );
    assert.deepEqual(left.members, [{ memberId: 'c', groupInstanceId: null, errorCode: E.NONE }]);
    s = left.state;
    assert.equal(s.phase, 'PreparingRebalance');
    assert.equal(heartbeat(s, hb('a', 1), 4_100).errorCode, E.REBALANCE_IN_PROGRESS);
    const a = waiting(joined(s, 'a', 4_200));
    s = a.state;
    assert.equal(awaitJoin(s, 'a', a.after), undefined, 'b has not rejoined yet');
    s = waiting(joined(s, 'b', 4_300)).state;
    assert.equal(s.generation, 2, 'the barrier closes as soon as every member rejoined');
    assert.deepEqual(
      awaitJoin(s, 'a', 1)?.members.map((m) => m.memberId),
      ['a', 'b'],
    );
    s = sync(s, { ...syncReq('a', 2), assignments: [] }, 4_400, config).state;
    s = joinAs(s, 'c', 5_000);
    assert.equal(s.phase, 'PreparingRebalance');
    s = waiting(joined(s, 'a', 5_100)).state;
    s = waiting(joined(s, 'b', 5_200)).state;
    assert.equal(s.generation, 3);
    assert.equal(s.leader, 'a');
    assert.deepEqual(
      awaitJoin(s, 'a', 2)?.members.map((m) => m.memberId),
      ['a', 'b', 'c'],
    );
  });

  test('LeaveGroup: unknown members get UNKNOWN_MEMBER_ID (v3+ per member, v0-2 at the top); the leader leaving passes leadership on; the last leaving empties the group', () => {
    const s = stableThree();
    const v3 = leave(
      s,
      { groupId: 'billing', memberId: '', members: [{ memberId: 'x', groupInstanceId: null }] },
      3,
      4_000,
      config,
    );
    assert.equal(v3.errorCode, E.NONE);
    assert.equal(v3.members[0]?.errorCode, E.UNKNOWN_MEMBER_ID);
    assert.equal(
      leave(s, { groupId: 'billing', memberId: 'x', members: [] }, 1, 4_000, config).errorCode,
      E.UNKNOWN_MEMBER_ID,
    );
    const leader = leave(s, { groupId: 'billing', memberId: 'a', members: [] }, 1, 4_000, config).state;
    assert.equal(leader.leader, 'b');
    const all = leave(
      s,
      {
        groupId: 'billing',
        memberId: '',
        members: ['a', 'b', 'c'].map((memberId) => ({ memberId, groupInstanceId: null })),
      },
      5,
      4_000,
      config,
    ).state;
    const empty = advance(all, 4_000, config);
    assert.equal(empty.phase, 'Empty');
    assert.equal(empty.generation, 2);
  });

  test('a member whose last heartbeat is older than its session timeout is removed by whoever advances the group, and a rebalance starts', () => {
    let s = stableThree();
    s = heartbeat(s, hb('a', 1), 10_000).state;
    s = heartbeat(s, hb('b', 1), 10_000).state;
    assert.equal(advance(s, 13_000, config).members.length, 3, 'c heartbeated at 3_000: alive up to 13_000');
    s = advance(s, 13_001, config);
    assert.deepEqual(
      s.members.map((m) => m.memberId),
      ['a', 'b'],
    );
    assert.equal(s.phase, 'PreparingRebalance');
  });

  test('members that do not rejoin by the rebalance deadline are dropped when the barrier closes', () => {
    let s = stableThree();
    s = waiting(joined(s, 'a', 4_000)).state;
    s = heartbeat(s, hb('b', 1), 12_000).state;
    s = heartbeat(s, hb('c', 1), 12_000).state;
    s = heartbeat(s, hb('b', 1), 20_000).state;
    s = heartbeat(s, hb('c', 1), 20_000).state;
    s = heartbeat(s, hb('b', 1), 28_000).state;
    s = heartbeat(s, hb('c', 1), 28_000).state;
    assert.equal(advance(s, 33_999, config).phase, 'PreparingRebalance');
    s = advance(s, 34_000, config);
    assert.equal(s.generation, 2);
    assert.deepEqual(
      s.members.map((m) => m.memberId),
      ['a'],
    );
  });
});

describe('Kafka group state machine: OffsetCommit fencing', () => {
  test('a commit of the current generation by a member is allowed; another generation is ILLEGAL_GENERATION; a stranger UNKNOWN_MEMBER_ID', () => {
    const s = stableThree();
    assert.equal(commitRefusal(s, true, 1, 'b'), E.NONE);
    assert.equal(commitRefusal(s, true, 0, 'b'), E.ILLEGAL_GENERATION);
    assert.equal(commitRefusal(s, true, 1, 'x'), E.UNKNOWN_MEMBER_ID);
  });

  test('generation -1 is a simple commit, allowed only while the group has no members', () => {
    assert.equal(commitRefusal(emptyGroup('billing'), false, -1, ''), E.NONE);
    assert.equal(commitRefusal(stableThree(), true, -1, ''), E.UNKNOWN_MEMBER_ID);
  });

  test('a commit while the group completes a rebalance is REBALANCE_IN_PROGRESS; to a group that never existed ILLEGAL_GENERATION', () => {
    let s = emptyGroup('billing');
    s = advance(joinAs(s, 'a', 0), 3_000, config);
    assert.equal(s.phase, 'CompletingRebalance');
    assert.equal(commitRefusal(s, true, 1, 'a'), E.REBALANCE_IN_PROGRESS);
    assert.equal(commitRefusal(emptyGroup('billing'), false, 3, 'a'), E.ILLEGAL_GENERATION);
  });

  test('while a rebalance prepares, a member commits at its generation (Kafka accepts it, as the commit of a rebalance callback); once the barrier closed, the old generation is ILLEGAL_GENERATION and the new one REBALANCE_IN_PROGRESS until the leader syncs', () => {
    let s = leave(stableThree(), { groupId: 'billing', memberId: 'c', members: [] }, 0, 4_000, config).state;
    assert.equal(s.phase, 'PreparingRebalance');
    assert.equal(commitRefusal(s, true, 1, 'a'), E.NONE);
    assert.equal(commitRefusal(s, true, 1, 'c'), E.UNKNOWN_MEMBER_ID);
    s = joinAs(s, 'b', 4_100);
    assert.equal(commitRefusal(s, true, 1, 'a'), E.NONE);
    s = advance(joinAs(s, 'a', 4_200), 4_200, config);
    assert.equal(s.phase, 'CompletingRebalance');
    assert.equal(commitRefusal(s, true, 1, 'a'), E.ILLEGAL_GENERATION);
    assert.equal(commitRefusal(s, true, 2, 'a'), E.REBALANCE_IN_PROGRESS);
    const d = sync(s, { ...syncReq('a', 2), assignments: [] }, 4_300, config);
    assert.equal(d.state.phase, 'Stable');
    assert.equal(commitRefusal(d.state, true, 2, 'b'), E.NONE);
  });
});
