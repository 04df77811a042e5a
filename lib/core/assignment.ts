/**
 * Lease-based partition assignment, in the spirit of the Kinesis Client Library: every partition of
 * a (group, topic) has a lease with an owner, a counter that grows on every change of owner (the
 * fencing token), and an expiry. Members renew their leases on each heartbeat; a lease not renewed
 * within the session timeout is free to take. Each member aims for a fair share and takes free
 * leases first, then steals one lease at a time from the most loaded member.
 */
export interface Lease {
  readonly partition: number;
  /** Member id, or null when free. */
  readonly owner: string | null;
  readonly counter: number;
  /** ms since the epoch; the lease is free after this. */
  readonly expiresAt: number;
}

export interface MemberInfo {
  readonly memberId: string;
  readonly expiresAt: number;
}

export interface AssignmentPlan {
  /** Leases `me` holds and should renew. */
  readonly renew: readonly Lease[];
  /** Leases `me` holds beyond its fair share and should give up. */
  readonly release: readonly Lease[];
  /** Free or expired leases `me` should take. */
  readonly take: readonly Lease[];
  /** At most one lease to steal from the most loaded live member. */
  readonly steal: readonly Lease[];
}

export function isLive(lease: Lease, now: number): boolean {
  return lease.owner !== null && lease.expiresAt > now;
}

/**
 * What member `me` should do with the leases, given the live members (`me` included).
 *
 * @example
 * planAssignment(leases, members, 'm-1', Date.now()) // { renew: [...], take: [...], ... }
 */
export function planAssignment(
  leases: readonly Lease[],
  members: readonly MemberInfo[],
  me: string,
  now: number,
): AssignmentPlan {
  const live = new Set(members.filter((m) => m.expiresAt > now).map((m) => m.memberId));
  live.add(me);
  const memberCount = live.size;
  const total = leases.length;
  // Members sorted by id get the remainder first, so shares are deterministic and sum to `total`.
  const ordered = [...live].sort();
  const base = Math.floor(total / memberCount);
  const extra = total % memberCount;
  const targetOf = (member: string) => base + (ordered.indexOf(member) < extra ? 1 : 0);
  const target = targetOf(me);
  const held = (owner: string) =>
    leases.filter((l) => l.owner === owner && isLive(l, now)).sort((a, b) => a.partition - b.partition);
  const mine = held(me);
  if (mine.length > target) {
    return { renew: mine.slice(0, target), release: mine.slice(target), take: [], steal: [] };
  }
  // A live lease is free only when its owner is a member whose session ended. A live lease of an owner
  // that is no member at all (a dispatcher delivering to a consumer function) is held.
  const expiredMembers = new Set(members.filter((m) => m.expiresAt <= now).map((m) => m.memberId));
  const free = leases
    .filter((l) => !isLive(l, now) || (expiredMembers.has(l.owner as string) && l.owner !== me))
    .sort((a, b) => a.partition - b.partition);
  const take = free.slice(0, target - mine.length);
  const steal: Lease[] = [];
  if (mine.length + take.length < target) {
    // Every lease is held: some live member holds more than its share. Steal one from the most loaded.
    let victim: Lease[] = [];
    let victimOwner = '';
    for (const owner of ordered) {
      if (owner === me) continue;
      const theirs = held(owner);
      if (
        theirs.length - targetOf(owner) >
        victim.length - (victimOwner === '' ? 0 : targetOf(victimOwner))
      ) {
        victim = theirs;
        victimOwner = owner;
      }
    }
    const last = victim.at(-1);
    if (last !== undefined && victim.length > targetOf(victimOwner)) steal.push(last);
  }
  return { renew: mine, release: [], take, steal };
}
