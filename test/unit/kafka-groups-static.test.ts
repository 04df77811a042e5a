import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GroupErrorCode as E } from '../../lib/kafka/groups/errors.ts';
import { awaitJoin, type JoinDecision, join } from '../../lib/kafka/groups/join.ts';
import { awaitSync, heartbeat, leave, sync } from '../../lib/kafka/groups/members.ts';
import type { JoinGroupRequest, JoinGroupResponse } from '../../lib/kafka/groups/messages.ts';
import { advance } from '../../lib/kafka/groups/rebalance.ts';
import {
  DEFAULT_GROUP_CONFIG,
  emptyGroup,
  type GroupConfig,
  type GroupState,
} from '../../lib/kafka/groups/state.ts';

// Static membership (KIP-345): a member with a group.instance.id that restarts within its session
// timeout takes its place back, assignment and generation included, without a rebalance.

const config: GroupConfig = { ...DEFAULT_GROUP_CONFIG, initialRebalanceDelayMs: 3_000 };
const client = { clientId: 'app', clientHost: '/10.0.0.7' };
const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

function request(memberId: string, instance: string | null, metadata = 'v1'): JoinGroupRequest {
  return {
    groupId: 'billing',
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 30_000,
    memberId,
    groupInstanceId: instance,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: bytes(metadata) }],
  };
}

function decide(
  state: GroupState,
  req: JoinGroupRequest,
  now: number,
  newId: string,
  version = 9,
): JoinDecision {
  return join(advance(state, now, config), req, version, client, now, config, newId);
}

function response(d: JoinDecision): JoinGroupResponse {
  assert.equal(d.kind, 'respond');
  return (d as { response: JoinGroupResponse }).response;
}

/** Static members a, b, c (instances ia, ib, ic) at generation 1, Stable, each assigned its name. */
function stableStatic(): GroupState {
  let s = emptyGroup('billing');
  for (const [i, m] of ['a', 'b', 'c'].entries()) {
    const d = decide(s, request('', `i${m}`), i, m);
    assert.equal(d.kind, 'wait', 'a static member joins with its id at once, no MEMBER_ID_REQUIRED');
    s = d.state;
  }
  s = advance(s, 3_000, config);
  assert.equal(s.generation, 1);
  const leader = s.leader as string;
  const assignments = ['a', 'b', 'c'].map((m) => ({ memberId: m, assignment: bytes(`parts-${m}`) }));
  const d = sync(
    s,
    {
      groupId: 'billing',
      generationId: 1,
      memberId: leader,
      groupInstanceId: `i${leader}`,
      protocolType: 'consumer',
      protocolName: 'range',
      assignments,
    },
    3_001,
    config,
  );
  assert.equal(d.state.phase, 'Stable');
  return d.state;
}

describe('Kafka static membership (group.instance.id)', () => {
  test('a static member restarting with no member id takes its place back: a new id, the same generation and assignment, no rebalance', () => {
    const s = stableStatic();
    const d = decide(s, request('', 'ib'), 4_000, 'b2');
    const r = response(d);
    assert.deepEqual([r.errorCode, r.memberId, r.generationId], [E.NONE, 'b2', 1]);
    assert.equal(d.state.phase, 'Stable');
    assert.deepEqual(
      d.state.members.map((m) => m.memberId),
      ['a', 'b2', 'c'],
    );
    // Its SyncGroup at the generation gets the assignment it had.
    const synced = awaitSync(d.state, 'b2', 1);
    assert.equal(text(synced?.assignment ?? new Uint8Array()), 'parts-b');
    // The old id is fenced: its heartbeat names the instance another member now holds.
    const old = heartbeat(
      d.state,
      { groupId: 'billing', generationId: 1, memberId: 'b', groupInstanceId: 'ib' },
      4_001,
    );
    assert.equal(old.errorCode, E.FENCED_INSTANCE_ID);
    const fresh = heartbeat(
      d.state,
      { groupId: 'billing', generationId: 1, memberId: 'b2', groupInstanceId: 'ib' },
      4_001,
    );
    assert.equal(fresh.errorCode, E.NONE);
  });

  test('the leader restarting keeps the lead and, at v9, is told to skip the assignment (it stands)', () => {
    const s = stableStatic();
    const leader = s.leader as string;
    const r = response(decide(s, request('', `i${leader}`), 4_000, 'new-leader'));
    assert.deepEqual(
      [r.errorCode, r.leader, r.memberId, r.skipAssignment],
      [E.NONE, 'new-leader', 'new-leader', true],
    );
    assert.equal(r.members.length, 3);
    const old = response(decide(s, request('', `i${leader}`), 4_000, 'older', 8));
    assert.equal(old.skipAssignment, false);
  });

  test('a restart with other metadata for the same protocol (a fresh subscription: generation -1, nothing owned) is no rebalance; during a rebalance it rejoins it', () => {
    const s = stableStatic();
    const d = decide(s, request('', 'ib', 'fresh-subscription'), 4_000, 'b2');
    assert.equal(response(d).generationId, 1);
    assert.equal(d.state.phase, 'Stable');
    // Completing a rebalance, the replacement joins it (Kafka prepares another).
    const completing: GroupState = { ...s, phase: 'CompletingRebalance' };
    const during = decide(completing, request('', 'ib'), 4_000, 'b3');
    assert.equal(during.kind, 'wait');
    assert.equal(during.state.phase, 'PreparingRebalance');
    assert.equal(awaitJoin(during.state, 'b3', 1), undefined);
  });

  test('a join, sync or heartbeat with a member id that is not the one holding its instance is FENCED_INSTANCE_ID', () => {
    const s = stableStatic();
    assert.equal(response(decide(s, request('a', 'ib'), 4_000, 'x')).errorCode, E.FENCED_INSTANCE_ID);
    const d = sync(
      s,
      {
        groupId: 'billing',
        generationId: 1,
        memberId: 'a',
        groupInstanceId: 'ib',
        protocolType: null,
        protocolName: null,
        assignments: [],
      },
      4_000,
      config,
    );
    assert.equal(d.kind === 'respond' ? d.response.errorCode : -2, E.FENCED_INSTANCE_ID);
  });

  test('LeaveGroup by instance id (member id empty: an operator removing it) removes its holder; a wrong member id is fenced', () => {
    const s = stableStatic();
    const removed = leave(
      s,
      { groupId: 'billing', memberId: '', members: [{ memberId: '', groupInstanceId: 'ic' }] },
      3,
      4_000,
      config,
    );
    assert.deepEqual(
      removed.members.map((m) => m.errorCode),
      [E.NONE],
    );
    assert.deepEqual(
      removed.state.members.map((m) => m.memberId),
      ['a', 'b'],
    );
    const fenced = leave(
      s,
      { groupId: 'billing', memberId: '', members: [{ memberId: 'a', groupInstanceId: 'ic' }] },
      3,
      4_000,
      config,
    );
    assert.deepEqual(
      fenced.members.map((m) => m.errorCode),
      [E.FENCED_INSTANCE_ID],
    );
    assert.equal(fenced.state.members.length, 3);
    const unknown = leave(
      s,
      { groupId: 'billing', memberId: '', members: [{ memberId: '', groupInstanceId: 'iz' }] },
      3,
      4_000,
      config,
    );
    assert.deepEqual(
      unknown.members.map((m) => m.errorCode),
      [E.UNKNOWN_MEMBER_ID],
    );
  });

  test('a static member whose session passes is removed (a rebalance starts), and then joins as new', () => {
    const s = stableStatic();
    const later = advance(s, 20_000, config);
    assert.equal(later.members.length, 0);
    const d = decide(later, request('', 'ib'), 20_001, 'b3');
    assert.equal(d.kind, 'wait');
  });
});
