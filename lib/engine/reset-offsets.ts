import { GroupActiveError, InvalidArgumentError, UnknownTopicError } from '../core/errors.ts';
import type { PartitionHead } from '../core/ports.ts';
import type {
  CommittedOffset,
  ResetOffsetsRequest,
  ResetOffsetsResult,
  ResetPartition,
  ResetTarget,
  TopicRecord,
} from '../core/types.ts';
import { validateGroupName, validateNonNegativeInt } from '../core/validation.ts';
import type { EngineContext } from './context.ts';
import { mapLimit } from './context.ts';
import { listOffsets } from './fetch.ts';
import { handBackLeases, takeLeasesFromMembers } from './membership.ts';

const TARGET_RULE = `to must be 'earliest', 'latest', { timestamp } or { offset }`;

/** Checks a reset target as a library caller may pass anything; the message names the field. */
export function validateResetTarget(to: unknown): ResetTarget {
  if (to === 'earliest' || to === 'latest') return to;
  if (to === null || typeof to !== 'object' || Array.isArray(to)) {
    throw new InvalidArgumentError(`${TARGET_RULE}, got ${JSON.stringify(to) ?? String(to)}`);
  }
  const keys = Object.keys(to);
  if (keys.length !== 1 || (keys[0] !== 'timestamp' && keys[0] !== 'offset')) {
    throw new InvalidArgumentError(
      `${TARGET_RULE} (exactly one of timestamp and offset), got ${JSON.stringify(to)}`,
    );
  }
  if ('timestamp' in to) return { timestamp: validateNonNegativeInt(to.timestamp, 'to.timestamp') };
  return { offset: validateNonNegativeInt((to as { offset: unknown }).offset, 'to.offset') };
}

function validatePartitions(ctx: EngineContext, topic: TopicRecord, partitions: unknown): number[] {
  if (partitions === undefined) return Array.from({ length: topic.partitions }, (_, p) => p);
  if (!Array.isArray(partitions) || partitions.length === 0) {
    throw new InvalidArgumentError('partitions must be a non-empty array of partition numbers');
  }
  const seen = new Set<number>();
  for (const [i, partition] of partitions.entries()) {
    validateNonNegativeInt(partition, `partitions[${i}]`);
    if (seen.has(partition)) throw new InvalidArgumentError(`partitions[${i}] ${partition} appears twice`);
    ctx.partitionRef(topic, partition);
    seen.add(partition);
  }
  return [...seen].sort((a, b) => a - b);
}

function validateFlag(value: unknown, field: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new InvalidArgumentError(`${field} must be a boolean`);
  return value;
}

/**
 * Refuses (GroupActiveError) while the group has pull members of the topic whose session has not
 * expired, or an enabled consumer-function subscription to it.
 */
async function checkInactive(ctx: EngineContext, group: string, topic: TopicRecord): Promise<void> {
  const [members, subscription] = await Promise.all([
    ctx.leases.members(group, topic.name),
    ctx.groups.subscription(group),
  ]);
  const now = ctx.now();
  const active = members
    .filter((m) => m.expiresAt > now)
    .map((m) => m.memberId)
    .sort();
  const running = subscription?.enabled === true && subscription.topic === topic.name;
  if (active.length > 0 || running) {
    throw new GroupActiveError(group, topic.name, active, running ? subscription.target : undefined);
  }
}

/** The offset `to` means on a partition, within [log start, high watermark] as Kafka clamps it. */
async function targetOffset(
  ctx: EngineContext,
  topic: TopicRecord,
  head: PartitionHead,
  to: ResetTarget,
): Promise<number> {
  const clamp = (offset: number) => Math.min(Math.max(offset, head.logStartOffset), head.highWatermark);
  if (to === 'earliest') return head.logStartOffset;
  if (to === 'latest') return head.highWatermark;
  if ('offset' in to) return clamp(to.offset);
  // As kafka-consumer-groups --to-datetime: no record that recent means the log end.
  const found = await listOffsets(ctx, topic.name, head.partition, { timestamp: to.timestamp });
  return clamp(found ?? head.highWatermark);
}

/**
 * Kafka's `kafka-consumer-groups --reset-offsets --execute`: moves a group's committed offsets on a
 * topic (every partition, or `partitions`) to the earliest or latest offset, the first offset at a
 * timestamp (by record timestamp; the high watermark when no record is that recent), or an offset,
 * clamped to [log start, high watermark]. A group that never committed is created, as in Kafka.
 *
 * Refused with GroupActiveError while the group has active pull members of the topic or an enabled
 * consumer function on it, unless `force`; `dryRun` computes the same answer (refusal included) and
 * changes nothing. The reset is a plain commit, which running consumers pick up: a dispatcher's next
 * commit is refused and it goes on from the new offset; pull members lose the partitions for the
 * moment of the reset (their commits under the old lease are refused with OffsetResetError) and get
 * them back, under a new lease counter, at their next heartbeat.
 *
 * @example
 * const { offsets } = await log.resetOffsets({ group: 'billing', topic: 'orders', to: { timestamp: Date.parse('2026-11-28T00:00Z') } });
 * // [{ partition: 0, previousOffset: 1200, offset: 850 }, ...]
 */
export async function resetOffsets(
  ctx: EngineContext,
  request: ResetOffsetsRequest,
): Promise<ResetOffsetsResult> {
  if (request === null || typeof request !== 'object')
    throw new InvalidArgumentError('the reset must be an object');
  const group = validateGroupName(request.group);
  const to = validateResetTarget(request.to);
  const force = validateFlag(request.force, 'force');
  const dryRun = validateFlag(request.dryRun, 'dryRun');
  const topic = await ctx.topic(request.topic);
  const partitions = validatePartitions(ctx, topic, request.partitions);
  if (!force) await checkInactive(ctx, group, topic);
  const [heads, committed] = await Promise.all([
    ctx.index.readHeads(topic.id, topic.partitions),
    ctx.groups.fetch(group, topic.name, topic.id),
  ]);
  const offsets = await mapLimit(partitions, ctx.fetchConcurrency, async (partition) =>
    resetPartition(ctx, topic, partition, heads, committed, to),
  );
  if (!dryRun) {
    const held = await takeLeasesFromMembers(ctx, group, topic, partitions);
    try {
      await ctx.groups.reset(group, topic.name, topic.id, offsets);
    } finally {
      await handBackLeases(ctx, group, topic, held);
    }
  }
  return { group, topic: topic.name, dryRun, offsets };
}

async function resetPartition(
  ctx: EngineContext,
  topic: TopicRecord,
  partition: number,
  heads: readonly PartitionHead[],
  committed: readonly CommittedOffset[],
  to: ResetTarget,
): Promise<ResetPartition> {
  const head = heads.find((h) => h.partition === partition);
  if (head === undefined) throw new UnknownTopicError(topic.name);
  return {
    partition,
    previousOffset: committed.find((c) => c.partition === partition)?.offset ?? null,
    offset: await targetOffset(ctx, topic, head, to),
  };
}
