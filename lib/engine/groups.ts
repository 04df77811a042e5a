import { InvalidArgumentError, UnknownGroupError } from '../core/errors.ts';
import type { CommitOffsetsRequest, CommittedOffset } from '../core/types.ts';
import { validateGroupName, validateNonNegativeInt } from '../core/validation.ts';
import type { EngineContext } from './context.ts';
import { groupLag, type PartitionLag } from './lag.ts';

const MAX_METADATA = 4096;

/**
 * Commits a group's offsets for one topic (all partitions at once, or none). The offset is the
 * next record to consume, as in Kafka. `generation` fences stale members.
 */
export async function commitOffsets(ctx: EngineContext, request: CommitOffsetsRequest): Promise<void> {
  if (request === null || typeof request !== 'object')
    throw new InvalidArgumentError('the commit must be an object');
  validateGroupName(request.group);
  const topic = await ctx.topic(request.topic);
  if (!Array.isArray(request.offsets) || request.offsets.length === 0) {
    throw new InvalidArgumentError('offsets must be a non-empty array');
  }
  const seen = new Set<number>();
  request.offsets.forEach((commit, i) => {
    if (commit === null || typeof commit !== 'object')
      throw new InvalidArgumentError(`offsets[${i}] must be an object`);
    ctx.partitionRef(topic, commit.partition);
    if (seen.has(commit.partition)) {
      throw new InvalidArgumentError(`offsets[${i}].partition ${commit.partition} appears twice`);
    }
    seen.add(commit.partition);
    validateNonNegativeInt(commit.offset, `offsets[${i}].offset`);
    if (
      commit.metadata !== undefined &&
      (typeof commit.metadata !== 'string' || commit.metadata.length > MAX_METADATA)
    ) {
      throw new InvalidArgumentError(
        `offsets[${i}].metadata must be a string of at most ${MAX_METADATA} characters`,
      );
    }
  });
  if (request.generation !== undefined)
    validateNonNegativeInt(request.generation, 'generation', 2_147_483_647);
  await ctx.groups.commit({ ...request, topicId: topic.id });
}

export async function fetchOffsets(
  ctx: EngineContext,
  group: string,
  topic: string,
): Promise<CommittedOffset[]> {
  validateGroupName(group);
  const record = await ctx.topic(topic);
  const offsets = await ctx.groups.fetch(group, record.name, record.id);
  return offsets.sort((a, b) => a.partition - b.partition);
}

/**
 * A group's committed offset of one partition with the partition's high watermark and the group's
 * lag: `lagRecords` (and its older name `lag`) and `lagSeconds` (see {@link partitionLag}).
 */
export interface GroupPartitionLag extends CommittedOffset, PartitionLag {
  /** The same as `lagRecords`. */
  readonly lag: number;
}

/**
 * Committed offsets of a group for a topic, each with the partition's high watermark and the group's
 * lag in records and in seconds. UnknownGroupError when the group never committed anything.
 *
 * @example
 * const [p0] = await log.describeGroupOffsets('billing', 'orders');
 * // { partition: 0, offset: 40, highWatermark: 50, lagRecords: 10, lagSeconds: 12.5, lag: 10, ... }
 */
export async function describeGroupOffsets(
  ctx: EngineContext,
  group: string,
  topicName: string,
): Promise<GroupPartitionLag[]> {
  validateGroupName(group);
  const topic = await ctx.topic(topicName);
  const [committed, exists] = await Promise.all([
    ctx.groups.fetch(group, topic.name, topic.id),
    ctx.groups.exists(group),
  ]);
  if (!exists) throw new UnknownGroupError(group);
  const lags = await groupLag(ctx, topic, committed, ctx.now());
  return lags.map((offset) => ({ ...offset, lag: offset.lagRecords }));
}

export async function listGroups(ctx: EngineContext): Promise<string[]> {
  return (await ctx.groups.list()).sort();
}
