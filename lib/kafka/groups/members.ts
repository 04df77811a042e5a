import { GroupErrorCode, GroupTooLargeError } from './errors.ts';
import type {
  DescribedGroup,
  HeartbeatRequest,
  LeaveGroupRequest,
  SyncGroupRequest,
  SyncGroupResponse,
} from './messages.ts';
import { removeMembers } from './rebalance.ts';
import { fromBase64, type GroupConfig, type GroupState, stateBytes, toBase64 } from './state.ts';

/** A decision: the next state and a response now, or (SyncGroup of a follower) a wait. */
export type SyncDecision =
  | { readonly state: GroupState; readonly kind: 'respond'; readonly response: SyncGroupResponse }
  | { readonly state: GroupState; readonly kind: 'wait' };

/**
 * A SyncGroup response with the member's assignment, or only an error.
 *
 * @example syncResponse(state, GroupErrorCode.REBALANCE_IN_PROGRESS).assignment.length // 0
 */
export function syncResponse(state: GroupState, errorCode: number, assignment = ''): SyncGroupResponse {
  return {
    throttleTimeMs: 0,
    errorCode,
    protocolType: state.protocolType,
    protocolName: state.protocolName,
    assignment: fromBase64(assignment),
  };
}

/**
 * Kafka's validateCurrentMember: a static instance now held by another member id is fenced; the member
 * must be in the group, at its generation.
 */
function memberError(
  state: GroupState,
  memberId: string,
  generation: number,
  groupInstanceId: string | null = null,
): number | undefined {
  if (groupInstanceId !== null) {
    const holder = state.members.find((m) => m.groupInstanceId === groupInstanceId);
    if (holder !== undefined && holder.memberId !== memberId) return GroupErrorCode.FENCED_INSTANCE_ID;
  }
  if (!state.members.some((m) => m.memberId === memberId)) return GroupErrorCode.UNKNOWN_MEMBER_ID;
  if (generation !== state.generation) return GroupErrorCode.ILLEGAL_GENERATION;
  return undefined;
}

/** The state with the member's heartbeat at `now`. */
function touch(state: GroupState, memberId: string, now: number): GroupState {
  return {
    ...state,
    members: state.members.map((m) => (m.memberId === memberId ? { ...m, heartbeatAt: now } : m)),
  };
}

/**
 * Decides a SyncGroup: the leader's assignments are stored (the group becomes Stable) and it gets its
 * own; a follower gets its own once they are stored (until then: wait, and poll {@link awaitSync}).
 * REBALANCE_IN_PROGRESS while the group prepares a rebalance, UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION
 * for a member or generation the group does not have. `state` must be advanced to `now`.
 *
 * @example const d = sync(state, { groupId, generationId: 3, memberId, assignments }, now, config);
 */
export function sync(
  state: GroupState,
  request: SyncGroupRequest,
  now: number,
  config: GroupConfig,
): SyncDecision {
  const respond = (code: number, assignment = ''): SyncDecision => ({
    state,
    kind: 'respond',
    response: syncResponse(state, code, assignment),
  });
  const invalid = memberError(state, request.memberId, request.generationId, request.groupInstanceId);
  if (invalid !== undefined) return respond(invalid);
  if (
    (request.protocolType !== null && request.protocolType !== state.protocolType) ||
    (request.protocolName !== null && request.protocolName !== state.protocolName)
  ) {
    return respond(GroupErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  }
  if (state.phase === 'PreparingRebalance') return respond(GroupErrorCode.REBALANCE_IN_PROGRESS);
  const touched = touch(state, request.memberId, now);
  if (state.phase === 'Stable') {
    const own = state.members.find((m) => m.memberId === request.memberId)?.assignment ?? '';
    return { state: touched, kind: 'respond', response: syncResponse(state, GroupErrorCode.NONE, own) };
  }
  if (request.memberId !== state.leader) return { state: touched, kind: 'wait' };
  const given = new Map(request.assignments.map((a) => [a.memberId, toBase64(a.assignment)]));
  const stable: GroupState = {
    ...touched,
    phase: 'Stable',
    members: touched.members.map((m) => ({ ...m, assignment: given.get(m.memberId) ?? '' })),
  };
  const bytes = stateBytes(stable);
  if (bytes > config.maxStateBytes) {
    throw new GroupTooLargeError(
      `group '${state.group}': the assignments of generation ${state.generation} make its state ${bytes} bytes, more than the ${config.maxStateBytes} a group's DynamoDB item holds`,
      GroupErrorCode.UNKNOWN_SERVER_ERROR,
    );
  }
  return {
    state: stable,
    kind: 'respond',
    response: syncResponse(stable, GroupErrorCode.NONE, given.get(request.memberId) ?? ''),
  };
}

/**
 * Polls a follower's SyncGroup: its assignment once the leader's are stored at `generation`;
 * REBALANCE_IN_PROGRESS when a rebalance started meanwhile; UNKNOWN_MEMBER_ID when it was dropped;
 * undefined while the group still waits for the leader.
 *
 * @example const response = awaitSync(advance(state, now, config), memberId, 3);
 */
export function awaitSync(
  state: GroupState,
  memberId: string,
  generation: number,
): SyncGroupResponse | undefined {
  const member = state.members.find((m) => m.memberId === memberId);
  if (member === undefined) return syncResponse(state, GroupErrorCode.UNKNOWN_MEMBER_ID);
  if (state.generation !== generation || state.phase === 'PreparingRebalance') {
    return syncResponse(state, GroupErrorCode.REBALANCE_IN_PROGRESS);
  }
  if (state.phase === 'Stable') return syncResponse(state, GroupErrorCode.NONE, member.assignment);
  return undefined;
}

/**
 * How much a heartbeat may lag before it is stored again: a heartbeat is written only when the stored
 * one is older than this fraction of the session timeout (clients send one every third of it), so a
 * group of N members costs about N writes per session timeout, not 3N. The member still expires
 * within the session timeout of its last heartbeat, counted from the one stored (≤ 1/5 earlier).
 */
export const HEARTBEAT_WRITE_FRACTION = 0.2;

/**
 * Decides a Heartbeat (Kafka ≥ 2.4): NONE in Stable and CompletingRebalance, REBALANCE_IN_PROGRESS
 * while a rebalance prepares (the member must rejoin), UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION as
 * Kafka's validateCurrentMember. The member's heartbeat is kept in every case where it is known.
 *
 * @example heartbeat(state, { groupId, generationId: 3, memberId, groupInstanceId: null }, now).errorCode // 0
 */
export function heartbeat(
  state: GroupState,
  request: HeartbeatRequest,
  now: number,
): { readonly state: GroupState; readonly errorCode: number } {
  const invalid = memberError(state, request.memberId, request.generationId, request.groupInstanceId);
  if (invalid !== undefined) return { state, errorCode: invalid };
  const member = state.members.find((m) => m.memberId === request.memberId);
  const stale =
    member !== undefined && now - member.heartbeatAt >= member.sessionTimeoutMs * HEARTBEAT_WRITE_FRACTION;
  const next = stale ? touch(state, request.memberId, now) : state;
  const errorCode =
    state.phase === 'PreparingRebalance' ? GroupErrorCode.REBALANCE_IN_PROGRESS : GroupErrorCode.NONE;
  return { state: next, errorCode };
}

/**
 * Decides a LeaveGroup of one member (v0-2) or several (v3+): known members and pending ids leave
 * (a rebalance starts, or completes when they were the last), unknown ones get UNKNOWN_MEMBER_ID.
 *
 * @example leave(state, { groupId, memberId: '', members: [{ memberId: 'm-2', groupInstanceId: null }] }, 3, now, config)
 */
export function leave(
  state: GroupState,
  request: LeaveGroupRequest,
  version: number,
  now: number,
  config: GroupConfig,
): {
  readonly state: GroupState;
  readonly errorCode: number;
  readonly members: readonly { memberId: string; groupInstanceId: string | null; errorCode: number }[];
} {
  const leaving = version >= 3 ? request.members : [{ memberId: request.memberId, groupInstanceId: null }];
  const known = (id: string) =>
    state.members.some((m) => m.memberId === id) || state.pending.some((p) => p.memberId === id);
  // A static member leaves by its instance id (its member id may be '': an operator removing it); a
  // member id that is not the one holding the instance is fenced.
  const resolved = leaving.map((m): { id: string; errorCode: number } => {
    if (m.groupInstanceId === null) {
      return {
        id: m.memberId,
        errorCode: known(m.memberId) ? GroupErrorCode.NONE : GroupErrorCode.UNKNOWN_MEMBER_ID,
      };
    }
    const holder = state.members.find((x) => x.groupInstanceId === m.groupInstanceId);
    if (holder === undefined) return { id: m.memberId, errorCode: GroupErrorCode.UNKNOWN_MEMBER_ID };
    if (m.memberId !== '' && m.memberId !== holder.memberId) {
      return { id: m.memberId, errorCode: GroupErrorCode.FENCED_INSTANCE_ID };
    }
    return { id: holder.memberId, errorCode: GroupErrorCode.NONE };
  });
  const members = leaving.map((m, i) => ({
    memberId: m.memberId,
    groupInstanceId: m.groupInstanceId,
    errorCode: (resolved[i] as { errorCode: number }).errorCode,
  }));
  const gone = new Set(resolved.filter((r) => r.errorCode === GroupErrorCode.NONE).map((r) => r.id));
  const next = removeMembers(
    { ...state, pending: state.pending.filter((p) => !gone.has(p.memberId)) },
    gone,
    now,
    config,
  );
  const errorCode = version >= 3 ? GroupErrorCode.NONE : (members[0]?.errorCode ?? GroupErrorCode.NONE);
  return { state: next, errorCode, members };
}

/**
 * Why an OffsetCommit of this generation and member is refused (Kafka's validateOffsetCommit), or
 * NONE: generation -1 only while the group has no members; otherwise the member must be in the
 * group at its generation, and not while the group completes a rebalance. `exists`: the group has an
 * item (a generation commit to a group that never existed is ILLEGAL_GENERATION, as Kafka).
 *
 * @example commitRefusal(state, true, 3, 'consumer-1-…') // GroupErrorCode.NONE
 */
export function commitRefusal(
  state: GroupState,
  exists: boolean,
  generation: number,
  memberId: string,
): number {
  if (generation < 0 && state.members.length === 0) return GroupErrorCode.NONE;
  if (!exists) return GroupErrorCode.ILLEGAL_GENERATION;
  const invalid = memberError(state, memberId, generation);
  if (invalid !== undefined) return invalid;
  if (state.phase === 'CompletingRebalance') return GroupErrorCode.REBALANCE_IN_PROGRESS;
  return GroupErrorCode.NONE;
}

/**
 * DescribeGroups' view of one group: members' metadata (of the chosen protocol) and assignments only
 * when Stable, as Kafka; an unknown group is 'Dead' with no members.
 *
 * @example describe(state, true).groupState // 'Stable'
 */
export function describe(state: GroupState, exists: boolean): DescribedGroup {
  const stable = state.phase === 'Stable';
  return {
    errorCode: GroupErrorCode.NONE,
    groupId: state.group,
    groupState: exists ? state.phase : 'Dead',
    protocolType: state.protocolType ?? '',
    protocolData: state.protocolName ?? '',
    members: state.members.map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      memberMetadata: stable
        ? fromBase64(m.protocols.find((p) => p.name === state.protocolName)?.metadata ?? '')
        : new Uint8Array(),
      memberAssignment: stable ? fromBase64(m.assignment) : new Uint8Array(),
    })),
    authorizedOperations: -2147483648,
  };
}
