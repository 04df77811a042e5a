import { randomBytes } from 'node:crypto';
import { type Lease, planAssignment } from '../core/assignment.ts';
import {
  InvalidArgumentError,
  LeaseLostError,
  OffsetResetError,
  ThrottledError,
  UnknownMemberError,
} from '../core/errors.ts';
import type { LeaseState } from '../core/ports.ts';
import type { TopicRecord } from '../core/types.ts';
import { validateGroupName, validateNonNegativeInt, validatePositiveInt } from '../core/validation.ts';
import type { EngineContext } from './context.ts';

/** Kafka's default session timeout is 45 s; Streambed's members lose partitions within 10 s by default. */
export const DEFAULT_SESSION_TIMEOUT_MS = 10_000;
export const MIN_SESSION_TIMEOUT_MS = 1_000;
export const MAX_SESSION_TIMEOUT_MS = 300_000;
const MEMBER_ID = /^[a-zA-Z0-9._:-]{1,128}$/;

export interface Assignment {
  readonly partition: number;
  /**
   * The fencing token to send with commits for this partition. A partition that comes back with a new
   * counter is a new assignment (a rebalance, or a reset of the group's offsets took it meanwhile):
   * read its committed offset again before consuming.
   */
  readonly leaseCounter: number;
}

export interface MembershipState {
  readonly memberId: string;
  readonly sessionTimeoutMs: number;
  /** Heartbeat at least this often (a third of the session timeout) to keep the partitions. */
  readonly heartbeatIntervalMs: number;
  readonly assignments: readonly Assignment[];
}

export interface JoinOptions {
  readonly memberId?: string;
  /** @default 10_000 */
  readonly sessionTimeoutMs?: number;
}

function validateMemberId(memberId: unknown): string {
  if (typeof memberId !== 'string' || !MEMBER_ID.test(memberId)) {
    throw new InvalidArgumentError(
      `memberId must be 1-128 characters of [a-zA-Z0-9._:-], got ${String(memberId)}`,
    );
  }
  return memberId;
}

/**
 * One round of the lease protocol for `memberId`: renew what it holds, give up what exceeds its fair
 * share, take free or expired leases, and steal one lease from the most loaded member when needed.
 * Returns the partitions the member holds afterwards.
 */
async function rebalance(
  ctx: EngineContext,
  group: string,
  topic: string,
  partitions: number,
  memberId: string,
  sessionTimeoutMs: number,
): Promise<Assignment[]> {
  let leases = await ctx.leases.list(group, topic);
  const missing = Array.from({ length: partitions }, (_, p) => p).filter(
    (p) => !leases.some((l) => l.partition === p),
  );
  if (missing.length > 0) {
    await ctx.leases.create(group, topic, missing);
    leases = await ctx.leases.list(group, topic);
  }
  leases = leases.filter((l) => l.partition < partitions);
  const members = await ctx.leases.members(group, topic);
  const now = ctx.now();
  const plan = planAssignment(leases, members, memberId, now);
  const expiresAt = now + sessionTimeoutMs;
  const held: LeaseState[] = [];
  const results = await Promise.all([
    ...plan.renew.map((l) => ctx.leases.renew(group, topic, l, memberId, expiresAt)),
    ...plan.take.map((l) => ctx.leases.take(group, topic, l, memberId, expiresAt)),
    ...plan.steal.map((l) => ctx.leases.take(group, topic, l, memberId, expiresAt)),
  ]);
  for (const lease of results) if (lease !== undefined) held.push(lease);
  await Promise.all(plan.release.map((l: Lease) => ctx.leases.release(group, topic, l, memberId)));
  return held
    .map((l) => ({ partition: l.partition, leaseCounter: l.counter }))
    .sort((a, b) => a.partition - b.partition);
}

/**
 * A pull consumer joins a group for a topic and gets partitions to read.
 *
 * @example
 * const { memberId, assignments, heartbeatIntervalMs } = await log.joinGroup('billing', 'orders');
 */
export async function joinGroup(
  ctx: EngineContext,
  group: string,
  topicName: string,
  options: JoinOptions = {},
): Promise<MembershipState> {
  validateGroupName(group);
  const topic = await ctx.topic(topicName);
  const memberId =
    options.memberId === undefined
      ? `m-${randomBytes(8).toString('hex')}`
      : validateMemberId(options.memberId);
  const sessionTimeoutMs = validatePositiveInt(
    options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS,
    'sessionTimeoutMs',
    MAX_SESSION_TIMEOUT_MS,
  );
  if (sessionTimeoutMs < MIN_SESSION_TIMEOUT_MS) {
    throw new InvalidArgumentError(
      `sessionTimeoutMs must be at least ${MIN_SESSION_TIMEOUT_MS}, got ${sessionTimeoutMs}`,
    );
  }
  await ctx.groups.register(group);
  await ctx.leases.heartbeat(group, topic.name, memberId, ctx.now() + sessionTimeoutMs);
  const assignments = await rebalance(ctx, group, topic.name, topic.partitions, memberId, sessionTimeoutMs);
  return { memberId, sessionTimeoutMs, heartbeatIntervalMs: Math.floor(sessionTimeoutMs / 3), assignments };
}

/** Keeps the member alive and returns its current partitions (they change as members come and go). */
export async function heartbeat(
  ctx: EngineContext,
  group: string,
  topicName: string,
  memberId: string,
  sessionTimeoutMs = DEFAULT_SESSION_TIMEOUT_MS,
): Promise<MembershipState> {
  validateGroupName(group);
  validateMemberId(memberId);
  validatePositiveInt(sessionTimeoutMs, 'sessionTimeoutMs', MAX_SESSION_TIMEOUT_MS);
  const topic = await ctx.topic(topicName);
  if (!(await ctx.leases.renewMember(group, topic.name, memberId, ctx.now() + sessionTimeoutMs))) {
    throw new UnknownMemberError(
      `member '${memberId}' is not in group '${group}' for '${topic.name}'; join again`,
    );
  }
  const assignments = await rebalance(ctx, group, topic.name, topic.partitions, memberId, sessionTimeoutMs);
  return { memberId, sessionTimeoutMs, heartbeatIntervalMs: Math.floor(sessionTimeoutMs / 3), assignments };
}

/** Leaves the group: the member's partitions are free at once. */
export async function leaveGroup(
  ctx: EngineContext,
  group: string,
  topicName: string,
  memberId: string,
): Promise<void> {
  validateGroupName(group);
  validateMemberId(memberId);
  const topic = await ctx.topic(topicName);
  const leases = await ctx.leases.list(group, topic.name);
  await Promise.all(
    leases.filter((l) => l.owner === memberId).map((l) => ctx.leases.release(group, topic.name, l, memberId)),
  );
  await ctx.leases.removeMember(group, topic.name, memberId);
}

export interface MemberCommit {
  readonly partition: number;
  readonly offset: number;
  readonly metadata?: string;
  /** The lease counter from the assignment; when absent, the current lease must be the member's. */
  readonly leaseCounter?: number;
}

/**
 * Commits offsets as a member: rejected with LeaseLostError for any partition whose lease the member
 * no longer holds (at the given counter), so a member that lost a partition cannot commit for it; with
 * OffsetResetError (naming the new offsets) when a reset of the group's offsets took the partition:
 * the member heartbeats to get it again and consumes from the committed offset.
 *
 * @example
 * await log.commitAsMember('billing', 'orders', memberId, [{ partition: 0, offset: 42, leaseCounter }]);
 */
export async function commitAsMember(
  ctx: EngineContext,
  group: string,
  topicName: string,
  memberId: string,
  offsets: readonly MemberCommit[],
): Promise<void> {
  validateGroupName(group);
  validateMemberId(memberId);
  const topic = await ctx.topic(topicName);
  if (!Array.isArray(offsets) || offsets.length === 0)
    throw new InvalidArgumentError('offsets must be a non-empty array');
  try {
    const needLookup = offsets.some((o) => o.leaseCounter === undefined);
    const leases = needLookup ? await ctx.leases.list(group, topic.name) : [];
    await ctx.leases.commitLeased({
      group,
      topic: topic.name,
      topicId: topic.id,
      owner: memberId,
      offsets: resolveCommits(ctx, topic, memberId, offsets, leases),
    });
  } catch (error) {
    if (error instanceof LeaseLostError) await refuseIfReset(ctx, group, topic, memberId, offsets);
    throw error;
  }
}

/** Validates a member's commits and gives each its lease counter (the member's current lease's when absent). */
function resolveCommits(
  ctx: EngineContext,
  topic: TopicRecord,
  memberId: string,
  offsets: readonly MemberCommit[],
  leases: readonly LeaseState[],
) {
  const seen = new Set<number>();
  return offsets.map((o, i) => {
    ctx.partitionRef(topic, o.partition);
    if (seen.has(o.partition))
      throw new InvalidArgumentError(`offsets[${i}].partition ${o.partition} appears twice`);
    seen.add(o.partition);
    validateNonNegativeInt(o.offset, `offsets[${i}].offset`);
    let leaseCounter = o.leaseCounter;
    if (leaseCounter === undefined) {
      const lease = leases.find((l) => l.partition === o.partition);
      if (lease === undefined || lease.owner !== memberId) {
        throw new LeaseLostError(`'${memberId}' does not hold partition ${o.partition} of '${topic.name}'`);
      }
      leaseCounter = lease.counter;
    }
    validateNonNegativeInt(leaseCounter, `offsets[${i}].leaseCounter`);
    return {
      partition: o.partition,
      offset: o.offset,
      leaseCounter,
      ...(o.metadata === undefined ? {} : { metadata: o.metadata }),
    };
  });
}

/**
 * Owner of the leases a reset of the group's offsets holds while it runs, and keeps (expired) after:
 * a '#' no member id has, then a random suffix.
 */
export const RESET_OWNER_PREFIX = '#reset:';
/** How long a reset may hold members' leases if it dies before handing them back. */
const RESET_HOLD_MS = 30_000;

/**
 * Throws OffsetResetError, naming the new offsets, when one of these partitions' leases was taken by
 * a reset of the group's offsets (and nobody has taken it since): the member's position is stale.
 */
async function refuseIfReset(
  ctx: EngineContext,
  group: string,
  topic: TopicRecord,
  memberId: string,
  offsets: readonly MemberCommit[],
): Promise<void> {
  const leases = await ctx.leases.list(group, topic.name);
  const asked = new Set(offsets.map((o) => o.partition));
  const reset = leases.filter((l) => asked.has(l.partition) && l.owner?.startsWith(RESET_OWNER_PREFIX));
  if (reset.length === 0) return;
  const committed = await ctx.groups.fetch(group, topic.name, topic.id);
  const now = reset
    .map((l) => ({
      partition: l.partition,
      offset: committed.find((c) => c.partition === l.partition)?.offset ?? 0,
    }))
    .sort((a, b) => a.partition - b.partition);
  throw new OffsetResetError(
    `the offsets of group '${group}' on '${topic.name}' were reset (${now
      .map((o) => `partition ${o.partition} to ${o.offset}`)
      .join(
        ', ',
      )}) after '${memberId}' read them: heartbeat to get the partitions again, and consume from the committed offsets`,
    now,
  );
}

/**
 * For the moment of a reset: takes the leases of `partitions` that pull members own (live or
 * expired; dispatchers' leases are left alone, they notice a reset by themselves), so no member commits
 * a position it read before the reset. Their commits under the old lease are refused
 * (OffsetResetError), and at their next heartbeat the members get the partitions again under a new
 * lease counter. Returns the leases taken and the owner that holds them, for {@link handBackLeases}.
 *
 * @example
 * const held = await takeLeasesFromMembers(ctx, 'billing', topic, [0, 1]);
 * try { await ctx.groups.reset(...); } finally { await handBackLeases(ctx, 'billing', topic, held); }
 */
export async function takeLeasesFromMembers(
  ctx: EngineContext,
  group: string,
  topic: TopicRecord,
  partitions: readonly number[],
): Promise<{ readonly owner: string; readonly leases: LeaseState[] }> {
  const owner = `${RESET_OWNER_PREFIX}${randomBytes(6).toString('hex')}`;
  const wanted = new Set(partitions);
  const held: LeaseState[] = [];
  for (let attempt = 0; ; attempt++) {
    const [leases, members] = await Promise.all([
      ctx.leases.list(group, topic.name),
      ctx.leases.members(group, topic.name),
    ]);
    const ids = new Set(members.map((m) => m.memberId));
    const owned = leases.filter((l) => wanted.has(l.partition) && l.owner !== null && ids.has(l.owner));
    if (owned.length === 0) return { owner, leases: held };
    if (attempt >= 5) {
      await handBackLeases(ctx, group, topic, { owner, leases: held });
      throw new ThrottledError(`the leases of group '${group}' on '${topic.name}' kept changing; retry`);
    }
    const expiresAt = ctx.now() + RESET_HOLD_MS;
    const taken = await Promise.all(
      owned.map((l) => ctx.leases.take(group, topic.name, l, owner, expiresAt)),
    );
    for (const lease of taken) if (lease !== undefined) held.push(lease);
  }
}

/**
 * Ends a reset's hold: its leases expire now (free for the members' next heartbeat) but keep the
 * reset as their owner, so a member's stale commit learns why it is refused.
 */
export async function handBackLeases(
  ctx: EngineContext,
  group: string,
  topic: TopicRecord,
  held: { readonly owner: string; readonly leases: readonly LeaseState[] },
): Promise<void> {
  const now = ctx.now();
  await Promise.all(held.leases.map((l) => ctx.leases.renew(group, topic.name, l, held.owner, now)));
}
