import { InvalidArgumentError } from '../core/errors.ts';
import { objectIdFloor, objectIdOf, objectTime, topicPrefix } from '../core/object-keys.ts';
import type { PartitionHead, PartitionRef } from '../core/ports.ts';
import { MIN_GC_GRACE_MS, planRetention } from '../core/retention.ts';
import type { TopicRecord } from '../core/types.ts';
import { retentionApplies } from '../core/validation.ts';
import { collectOrphans } from './collect.ts';
import { compactTopic } from './compaction.ts';
import type { EngineContext } from './context.ts';
import { mapLimit } from './context.ts';
import { entriesFrom } from './fetch.ts';
import { deleteRetired } from './retired.ts';

/**
 * How long past the point the index proves an object unreferenced it is still kept
 * (docs/design.md §9): it must exceed the commit limit plus the longest a request can be in flight
 * plus twice the clock skew between producers and sweeper. On AWS SigV4 bounds both of the latter
 * (15 minutes each), so the default is an hour; one machine (`npm start`) needs only the limit.
 */
export const DEFAULT_GC_GRACE_MS = 60 * 60 * 1000;

export interface SweepTopicOptions {
  /** At least MIN_GC_GRACE_MS (2 minutes). @default DEFAULT_GC_GRACE_MS */
  readonly graceMs?: number;
  /** No new orphan-collection window after this time (ms). @default 4 minutes from now */
  readonly deadline?: number;
}

export interface TopicSweep {
  readonly topic: string;
  /** Partitions whose log start moved. */
  readonly partitionsAdvanced: number;
  /** Records that left the log (sum of log start moves). */
  readonly recordsRetired: number;
  readonly pagesDropped: number;
  readonly objectsDeleted: number;
  /** Objects whose creation time is below this were deleted (undefined: no collection this time). */
  readonly collectedBelow: number | undefined;
  /** Small batches rewritten into larger objects by this pass. */
  readonly batchesCompacted: number;
  /** Records key compaction removed in this pass (superseded, tombstones past deleteRetentionMs). */
  readonly recordsCompactedAway: number;
}

/**
 * One retention and collection pass over a topic: every partition's log start moves past what its
 * policy lets go (lib/core/retention.ts), whole index pages below it are deleted, then segment
 * objects are deleted by time. An object is referenced only by entries committed within the commit
 * limit of its creation, and entries are committed in offset order, so once every partition's first
 * live batch was appended after `T + grace`, no live entry (and no commit still in flight) can point
 * to an object created before `T`. Object ids start with their creation time, so those are the first
 * keys of the topic's listing. This also takes objects no entry ever pointed to (a produce that
 * died between the PUT and the commit, a call whose batches were all duplicates).
 *
 * @example
 * await sweepTopic(ctx, await ctx.topic('orders', true), { graceMs: 3_600_000 });
 */
export async function sweepTopic(
  ctx: EngineContext,
  topic: TopicRecord,
  options: SweepTopicOptions = {},
): Promise<TopicSweep> {
  const graceMs = options.graceMs ?? DEFAULT_GC_GRACE_MS;
  if (!Number.isSafeInteger(graceMs) || graceMs < MIN_GC_GRACE_MS) {
    // Below it, an object whose batch is the first live one of a partition, or is still being
    // committed, could go.
    throw new InvalidArgumentError(`graceMs must be an integer ≥ ${MIN_GC_GRACE_MS}, got ${graceMs}`);
  }
  const now = ctx.now();
  // A topic that is only compacted keeps records whatever their age and size (Kafka ignores
  // retention.ms and retention.bytes under cleanup.policy=compact); sizes are still counted.
  const policy = retentionApplies(topic.config)
    ? topic.config
    : { ...topic.config, retentionMs: -1, retentionBytes: -1 };
  const partitions = Array.from({ length: topic.partitions }, (_, partition) => partition);
  const heads: (PartitionHead | undefined)[] = [];
  const results = await mapLimit(partitions, 8, async (partition) => {
    const ref: PartitionRef = { topic: topic.name, topicId: topic.id, partition };
    const head = await ctx.index.readHead(ref);
    if (head === undefined) return undefined; // deleted meanwhile
    const plan = await planRetention(head, (offset) => entriesFrom(ctx, ref, offset, head), policy, now);
    let moved = false;
    if (plan.changed) moved = await ctx.index.advanceStart(ref, head, plan.start, plan.sizes);
    if (plan.changed && !moved) return undefined; // raced: no collection on a stale plan
    const start = moved ? plan.start : head.logStartOffset;
    // Compaction works from this head unless the step changed it (then it reads it again).
    heads[partition] = plan.changed ? undefined : head;
    // Also takes pages a sweep that died after its move left behind.
    const pagesDropped = moved ? await ctx.index.dropPagesBelow(ref, start) : 0;
    return {
      retired: start - head.logStartOffset,
      pagesDropped,
      // No live record: anything committed from now on is newer than `now`.
      firstLive: plan.firstLiveAppendTime ?? now,
    };
  });
  let collectedBelow: number | undefined;
  let objectsDeleted = 0;
  if (results.every((r) => r !== undefined)) {
    const firstLive = Math.min(now, ...results.map((r) => (r as { firstLive: number }).firstLive));
    collectedBelow = firstLive - graceMs;
    const gc = await ctx.index.readGcState(topic.id);
    // Skip the listing while the bound has not reached the oldest object the last one could have
    // missed: an idle topic is listed about once per grace, not once per pass.
    if (gc?.listedFrom === undefined || collectedBelow > gc.listedFrom) {
      const listing = await deleteObjectsBelow(ctx, topic, collectedBelow);
      objectsDeleted = listing.deleted;
      // Objects created after the listing began are newer than now − grace (commit limit, skew).
      const listedFrom = Math.min(listing.firstKept ?? Number.POSITIVE_INFINITY, now - graceMs);
      const base = gc ?? {
        through: topic.createdAt - graceMs,
        cursors: Array.from({ length: topic.partitions }, () => 0),
      };
      await ctx.index.writeGcState(topic.id, gc, { ...base, listedFrom });
    }
  }
  const deadline = options.deadline ?? now + 240_000;
  // Small batches into large objects, or by key; the objects they leave are collected next.
  const compaction = await compactTopic(ctx, topic, graceMs, deadline, heads);
  // Compactor objects that swaps stopped referencing, once past the grace.
  objectsDeleted += await deleteRetired(ctx, topic, graceMs, deadline);
  // Objects never referenced (or no longer), on topics the retention rule does not reach.
  objectsDeleted += await collectOrphans(ctx, topic, { graceMs, deadline });
  const done = results.filter((r) => r !== undefined);
  return {
    topic: topic.name,
    partitionsAdvanced: done.filter((r) => r.retired > 0).length,
    recordsRetired: done.reduce((n, r) => n + r.retired, 0),
    pagesDropped: done.reduce((n, r) => n + r.pagesDropped, 0),
    objectsDeleted,
    collectedBelow,
    batchesCompacted: compaction.batchesMerged,
    recordsCompactedAway: compaction.recordsRemoved,
  };
}

/**
 * Deletes the topic's segment objects created before `time` (the first keys of its listing); also
 * says when the first object kept was created.
 */
async function deleteObjectsBelow(
  ctx: EngineContext,
  topic: TopicRecord,
  time: number,
): Promise<{ deleted: number; firstKept: number | undefined }> {
  const prefix = topicPrefix(topic.name, topic.id);
  const floor = objectIdFloor(time);
  const keys: string[] = [];
  let deleted = 0;
  let firstKept: number | undefined;
  for await (const object of ctx.objects.list(prefix)) {
    const id = objectIdOf(prefix, object.key);
    if (id === undefined) continue; // not a segment: not ours to delete
    if (id >= floor) {
      firstKept = objectTime(id);
      break;
    }
    keys.push(object.key);
    if (keys.length === 1000) {
      await ctx.objects.deleteMany(keys.splice(0));
      deleted += 1000;
    }
  }
  await ctx.objects.deleteMany(keys);
  return { deleted: deleted + keys.length, firstKept };
}
