import { GroupErrorCode } from './errors.ts';
import type { JoinGroupResponse } from './messages.ts';
import { fromBase64, type GroupConfig, type GroupMember, type GroupState } from './state.ts';

/*
 * The time-driven part of the state machine, applied by whoever touches the group (there is no
 * timer: several stateless servers share the state, and each request first brings it up to `now`):
 *
 * - pending member ids expire after the session timeout of the join that asked for them;
 * - a member expires when its last heartbeat is older than its session timeout, except while it is
 *   rejoining a rebalance in progress (it waits in JoinGroup, as Kafka keeps awaiting members alive),
 *   and, in CompletingRebalance, not before its rebalance timeout (it may be waiting in SyncGroup);
 *   losing a member in Stable or CompletingRebalance starts a rebalance;
 * - a rebalance's join barrier closes once every member has rejoined and no member id handed out with
 *   MEMBER_ID_REQUIRED is still pending (not before the initial delay of a new group), or at its
 *   deadline, dropping who has not rejoined.
 */

/**
 * Starts a rebalance: every member must rejoin within the largest rebalance timeout.
 *
 * @example prepareRebalance(stable, now, config).phase // 'PreparingRebalance'
 */
export function prepareRebalance(state: GroupState, now: number, config: GroupConfig): GroupState {
  const timeout = Math.max(0, ...state.members.map((m) => m.rebalanceTimeoutMs));
  const delay = state.phase === 'Empty' ? Math.min(config.initialRebalanceDelayMs, timeout) : 0;
  return {
    ...state,
    phase: 'PreparingRebalance',
    members: state.members.map((m) => ({ ...m, awaitingJoin: false })),
    joinDeadline: now + timeout,
    joinNotBefore: now + delay,
  };
}

/**
 * Kafka's choice of protocol (ClassicGroup.selectProtocol): among the protocols every member
 * supports, each member votes for the first of its own list; the most votes win (ties: the
 * leader's preference). Undefined when no protocol is common to all.
 *
 * @example selectProtocol(members, 'consumer-a-1') // 'cooperative-sticky'
 */
export function selectProtocol(members: readonly GroupMember[], leader: string | null): string | undefined {
  const first = members[0];
  if (first === undefined) return undefined;
  const candidates = first.protocols
    .map((p) => p.name)
    .filter((name) => members.every((m) => m.protocols.some((p) => p.name === name)));
  if (candidates.length === 0) return undefined;
  const votes = new Map<string, number>();
  for (const m of members) {
    const vote = m.protocols.find((p) => candidates.includes(p.name))?.name;
    if (vote !== undefined) votes.set(vote, (votes.get(vote) ?? 0) + 1);
  }
  const most = Math.max(...votes.values());
  const tied = candidates.filter((name) => votes.get(name) === most);
  const preference = members.find((m) => m.memberId === leader)?.protocols.map((p) => p.name) ?? [];
  return preference.find((name) => tied.includes(name)) ?? tied[0];
}

/** Whether a member is still alive at `now` (see the rules above). */
function alive(state: GroupState, member: GroupMember, now: number): boolean {
  if (state.phase === 'PreparingRebalance' && member.awaitingJoin) return true;
  const grace =
    state.phase === 'CompletingRebalance'
      ? Math.max(member.sessionTimeoutMs, member.rebalanceTimeoutMs)
      : member.sessionTimeoutMs;
  return now - member.heartbeatAt <= grace;
}

/**
 * Removes members (leave or expiry): the leader passes to the first remaining member, and a group
 * that was Stable or CompletingRebalance starts a rebalance.
 *
 * @example removeMembers(state, new Set(['m-2']), now, config).phase // 'PreparingRebalance'
 */
export function removeMembers(
  state: GroupState,
  gone: ReadonlySet<string>,
  now: number,
  config: GroupConfig,
): GroupState {
  if (!state.members.some((m) => gone.has(m.memberId))) return state;
  const members = state.members.filter((m) => !gone.has(m.memberId));
  const leader =
    state.leader !== null && gone.has(state.leader) ? (members[0]?.memberId ?? null) : state.leader;
  const next = { ...state, members, leader };
  return state.phase === 'Stable' || state.phase === 'CompletingRebalance'
    ? prepareRebalance(next, now, config)
    : next;
}

/** Closes the join barrier: the next generation of those who rejoined. */
function completeJoin(state: GroupState, now: number): GroupState {
  const members = state.members
    .filter((m) => m.awaitingJoin)
    .map((m) => ({
      ...m,
      awaitingJoin: false,
      joinedGeneration: state.generation + 1,
      heartbeatAt: now,
      assignment: '',
    }));
  const generation = state.generation + 1;
  if (members.length === 0) {
    return { ...state, phase: 'Empty', generation, members, leader: null, protocolName: null };
  }
  const leader = members.some((m) => m.memberId === state.leader)
    ? state.leader
    : (members[0]?.memberId ?? null);
  return {
    ...state,
    phase: 'CompletingRebalance',
    generation,
    members,
    leader,
    // Joins are refused unless they share a protocol with every member, so there is one.
    protocolName: selectProtocol(members, leader) ?? null,
  };
}

/**
 * Brings the state up to `now`: drops expired pending ids and members, and closes a join barrier
 * that is due. Pure; the caller stores the result if it differs.
 *
 * @example const current = advance(fromStored(group, stored), clock.now(), config);
 */
export function advance(state: GroupState, now: number, config: GroupConfig): GroupState {
  let next = state;
  if (next.pending.some((p) => p.expiresAt <= now)) {
    next = { ...next, pending: next.pending.filter((p) => p.expiresAt > now) };
  }
  const expired = new Set(next.members.filter((m) => !alive(next, m, now)).map((m) => m.memberId));
  next = removeMembers(next, expired, now, config);
  // Kafka's hasAllMembersJoined: every member rejoined and no handed-out id (MEMBER_ID_REQUIRED) is
  // still on its way; those expire after their join's session timeout, and the deadline closes anyway.
  if (
    next.phase === 'PreparingRebalance' &&
    now >= next.joinNotBefore &&
    ((next.members.every((m) => m.awaitingJoin) && next.pending.length === 0) || now >= next.joinDeadline)
  ) {
    next = completeJoin(next, now);
  }
  return next;
}

/**
 * The JoinGroup response of a member of the current generation: the leader gets every member's
 * metadata for the chosen protocol, followers an empty list.
 *
 * @example joinResponse(state, 'consumer-1-…').generationId // state.generation
 */
export function joinResponse(state: GroupState, memberId: string): JoinGroupResponse {
  const isLeader = memberId === state.leader;
  const members = isLeader
    ? state.members
        .filter((m) => m.joinedGeneration === state.generation)
        .map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          metadata: fromBase64(m.protocols.find((p) => p.name === state.protocolName)?.metadata ?? ''),
        }))
    : [];
  return {
    throttleTimeMs: 0,
    errorCode: GroupErrorCode.NONE,
    generationId: state.generation,
    protocolType: state.protocolType,
    protocolName: state.protocolName,
    leader: state.leader ?? '',
    skipAssignment: false,
    memberId,
    members,
  };
}

/**
 * A JoinGroup response carrying only an error (and, for MEMBER_ID_REQUIRED, the id to join with).
 *
 * @example joinError(GroupErrorCode.UNKNOWN_MEMBER_ID).generationId // -1
 */
export function joinError(errorCode: number, memberId = ''): JoinGroupResponse {
  return {
    throttleTimeMs: 0,
    errorCode,
    generationId: -1,
    protocolType: null,
    protocolName: null,
    leader: '',
    skipAssignment: false,
    memberId,
    members: [],
  };
}
