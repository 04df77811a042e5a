import { InvalidArgumentError } from '../../core/errors.ts';
import { validateGroupName } from '../../core/validation.ts';
import { GroupErrorCode, GroupTooLargeError } from './errors.ts';
import type { JoinGroupRequest, JoinGroupResponse } from './messages.ts';
import { advance, joinError, joinResponse, prepareRebalance, selectProtocol } from './rebalance.ts';
import { type GroupConfig, type GroupMember, type GroupState, stateBytes, toBase64 } from './state.ts';

/** Who sent a request (the request header's client id, the connection's peer). */
export interface ClientInfo {
  readonly clientId: string;
  readonly clientHost: string;
}

/**
 * What a transition decided: the next state, and either a response now or a wait (the caller stores
 * the state, then polls with {@link awaitJoin} until the response is ready).
 */
export type JoinDecision =
  | { readonly state: GroupState; readonly kind: 'respond'; readonly response: JoinGroupResponse }
  | {
      readonly state: GroupState;
      readonly kind: 'wait';
      readonly memberId: string;
      /** The generation the join must see completed beyond. */
      readonly after: number;
    };

/** Whether a group name is one Streambed stores offsets under (the same names as its other doors). */
export function validGroupId(group: string): boolean {
  try {
    validateGroupName(group);
    return true;
  } catch (error) {
    if (error instanceof InvalidArgumentError) return false;
    throw error;
  }
}

function sameProtocols(member: GroupMember, request: JoinGroupRequest): boolean {
  return (
    member.protocols.length === request.protocols.length &&
    member.protocols.every(
      (p, i) =>
        p.name === request.protocols[i]?.name &&
        p.metadata === toBase64(request.protocols[i]?.metadata ?? new Uint8Array()),
    )
  );
}

/** The refusal code of a join whose fields do not fit the group, or undefined. */
function refusal(state: GroupState, request: JoinGroupRequest, config: GroupConfig): number | undefined {
  if (!validGroupId(request.groupId)) return GroupErrorCode.INVALID_GROUP_ID;
  if (
    request.sessionTimeoutMs < config.minSessionTimeoutMs ||
    request.sessionTimeoutMs > config.maxSessionTimeoutMs
  ) {
    return GroupErrorCode.INVALID_SESSION_TIMEOUT;
  }
  if (request.protocolType === '' || request.protocols.length === 0) {
    return GroupErrorCode.INCONSISTENT_GROUP_PROTOCOL;
  }
  const others = state.members.filter((m) => m.memberId !== request.memberId);
  if (others.length === 0) return undefined;
  // Kafka's supportsProtocols: the joiner must share a protocol that every member supports.
  const shared = request.protocols.some((p) =>
    others.every((m) => m.protocols.some((q) => q.name === p.name)),
  );
  if (request.protocolType !== state.protocolType || !shared) {
    return GroupErrorCode.INCONSISTENT_GROUP_PROTOCOL;
  }
  return undefined;
}

/** The member as this join describes it. */
function memberOf(
  request: JoinGroupRequest,
  memberId: string,
  client: ClientInfo,
  now: number,
  previous: GroupMember | undefined,
): GroupMember {
  return {
    memberId,
    groupInstanceId: request.groupInstanceId,
    clientId: client.clientId,
    clientHost: client.clientHost,
    sessionTimeoutMs: request.sessionTimeoutMs,
    // v0 has no rebalance timeout (-1): Kafka uses the session timeout.
    rebalanceTimeoutMs:
      request.rebalanceTimeoutMs < 0 ? request.sessionTimeoutMs : request.rebalanceTimeoutMs,
    heartbeatAt: now,
    protocols: request.protocols.map((p) => ({ name: p.name, metadata: toBase64(p.metadata) })),
    assignment: previous?.assignment ?? '',
    awaitingJoin: previous?.awaitingJoin ?? false,
    joinedGeneration: previous?.joinedGeneration ?? -1,
  };
}

/** Refuses a state that would not fit its item (thrown: the server answers GROUP_MAX_SIZE_REACHED). */
function checkSize(state: GroupState, config: GroupConfig): void {
  if (state.members.length > config.maxMembers) {
    throw new GroupTooLargeError(
      `group '${state.group}' already has ${config.maxMembers} members, the most one group may have`,
      GroupErrorCode.GROUP_MAX_SIZE_REACHED,
    );
  }
  const bytes = stateBytes(state);
  if (bytes > config.maxStateBytes) {
    throw new GroupTooLargeError(
      `group '${state.group}': ${state.members.length} members with their protocol metadata take ${bytes} bytes, more than the ${config.maxStateBytes} a group's DynamoDB item holds`,
      GroupErrorCode.GROUP_MAX_SIZE_REACHED,
    );
  }
}

/** The member (re)joins the rebalance in progress, starting one if there is none. */
function rejoin(state: GroupState, member: GroupMember, now: number, config: GroupConfig): GroupState {
  const exists = state.members.some((m) => m.memberId === member.memberId);
  const members = exists
    ? state.members.map((m) => (m.memberId === member.memberId ? member : m))
    : [...state.members, member];
  let next: GroupState = {
    ...state,
    members,
    leader: state.leader ?? member.memberId,
    protocolType: state.protocolType ?? null,
  };
  if (next.phase !== 'PreparingRebalance') next = prepareRebalance(next, now, config);
  next = {
    ...next,
    members: next.members.map((m) => (m.memberId === member.memberId ? { ...m, awaitingJoin: true } : m)),
  };
  checkSize(next, config);
  return advance(next, now, config);
}

/**
 * A static member (KIP-345: a `group.instance.id`) joining with no member id while the group holds its
 * instance: the old member id is replaced by a new one, keeping the assignment and generation (the old
 * id is fenced: it is no longer a member). In a Stable group whose protocol choice it does not change
 * that is all — the member gets the current generation back, no rebalance (the leader, v9+, with
 * `skipAssignment`: the assignment stands). Otherwise (the chosen protocol would change, or a rebalance
 * is completing) it rejoins a rebalance.
 */
function replaceStatic(
  state: GroupState,
  holder: GroupMember,
  request: JoinGroupRequest,
  version: number,
  client: ClientInfo,
  now: number,
  config: GroupConfig,
  newMemberId: string,
): JoinDecision {
  const member = memberOf(request, newMemberId, client, now, holder);
  const replaced: GroupState = {
    ...state,
    members: state.members.map((m) => (m.memberId === holder.memberId ? member : m)),
    leader: state.leader === holder.memberId ? newMemberId : state.leader,
  };
  // Kafka's static rejoin: no rebalance unless the group's protocol choice changes. Metadata alone may
  // differ (a restarted Java consumer's subscription carries generation -1 and no owned partitions).
  if (state.phase === 'Stable' && selectProtocol(replaced.members, replaced.leader) === state.protocolName) {
    const response = joinResponse(replaced, newMemberId);
    const isLeader = replaced.leader === newMemberId;
    return {
      state: replaced,
      kind: 'respond',
      response: { ...response, skipAssignment: isLeader && version >= 9 },
    };
  }
  return {
    state: rejoin(replaced, member, now, config),
    kind: 'wait',
    memberId: newMemberId,
    after: state.generation,
  };
}

/**
 * Decides a JoinGroup (Kafka ≥ 2.2 behaviour): an empty member id gets MEMBER_ID_REQUIRED with a new
 * id (v4+; older versions join with it at once) — a static member (`groupInstanceId`) gets its id at
 * once, and takes over its instance's place if the group holds it ({@link replaceStatic}); a member id
 * that is not the one its instance holds is FENCED_INSTANCE_ID. A new member, or the leader or a
 * member whose protocols changed, (re)starts a rebalance and waits for the barrier; a known member
 * rejoining with the same protocols while the group is Stable or CompletingRebalance gets the current
 * generation. `state` must already be {@link advance}d to `now`; `newMemberId` is the id to hand out.
 *
 * @example
 * const d = join(state, request, 9, { clientId: 'app', clientHost: '/10.0.0.7' }, now, config, 'app-4f…');
 * if (d.kind === 'respond') return d.response; // else store d.state and poll awaitJoin
 */
export function join(
  state: GroupState,
  request: JoinGroupRequest,
  version: number,
  client: ClientInfo,
  now: number,
  config: GroupConfig,
  newMemberId: string,
): JoinDecision {
  const respond = (code: number, memberId = request.memberId): JoinDecision => ({
    state,
    kind: 'respond',
    response: joinError(code, memberId),
  });
  const refused = refusal(state, request, config);
  if (refused !== undefined) return respond(refused);
  let memberId = request.memberId;
  let pending = state.pending;
  const instance = request.groupInstanceId;
  const holder = instance === null ? undefined : state.members.find((m) => m.groupInstanceId === instance);
  if (holder !== undefined && memberId !== '' && memberId !== holder.memberId) {
    return respond(GroupErrorCode.FENCED_INSTANCE_ID);
  }
  if (memberId === '' && holder !== undefined) {
    return replaceStatic(state, holder, request, version, client, now, config, newMemberId);
  }
  if (memberId === '') {
    if (version >= 4 && instance === null) {
      const asked: GroupState = {
        ...state,
        pending: [...state.pending, { memberId: newMemberId, expiresAt: now + request.sessionTimeoutMs }],
      };
      return {
        state: asked,
        kind: 'respond',
        response: joinError(GroupErrorCode.MEMBER_ID_REQUIRED, newMemberId),
      };
    }
    memberId = newMemberId;
  } else if (pending.some((p) => p.memberId === memberId)) {
    pending = pending.filter((p) => p.memberId !== memberId);
  } else if (!state.members.some((m) => m.memberId === memberId)) {
    return respond(GroupErrorCode.UNKNOWN_MEMBER_ID);
  }
  const previous = state.members.find((m) => m.memberId === memberId);
  const member = memberOf(request, memberId, client, now, previous);
  const base: GroupState = { ...state, pending, protocolType: state.protocolType ?? request.protocolType };
  if (previous !== undefined && (state.phase === 'Stable' || state.phase === 'CompletingRebalance')) {
    const unchanged = sameProtocols(previous, request);
    const leaderInStable = state.phase === 'Stable' && memberId === state.leader;
    if (unchanged && !leaderInStable) {
      const kept = { ...base, members: state.members.map((m) => (m.memberId === memberId ? member : m)) };
      return { state: kept, kind: 'respond', response: joinResponse(kept, memberId) };
    }
  }
  const next = rejoin(base, member, now, config);
  return { state: next, kind: 'wait', memberId, after: state.generation };
}

/**
 * Polls a join that is waiting: its response once a generation after `after` completed with the
 * member in it; UNKNOWN_MEMBER_ID when the member was dropped; undefined while the barrier is open.
 * `state` must already be {@link advance}d to `now`.
 *
 * @example const response = awaitJoin(advance(state, now, config), memberId, wait.after);
 */
export function awaitJoin(state: GroupState, memberId: string, after: number): JoinGroupResponse | undefined {
  const member = state.members.find((m) => m.memberId === memberId);
  if (member === undefined) return joinError(GroupErrorCode.UNKNOWN_MEMBER_ID, memberId);
  if (state.generation <= after) return undefined;
  if (member.joinedGeneration === state.generation) return joinResponse(state, memberId);
  return joinError(GroupErrorCode.REBALANCE_IN_PROGRESS, memberId);
}
