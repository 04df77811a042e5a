import { CorruptSegmentError } from '../core/errors.ts';
import type { PartitionHead, PartitionRef } from '../core/ports.ts';
import type { CommittedOffset, TopicRecord } from '../core/types.ts';
import type { EngineContext } from './context.ts';
import { mapLimit } from './context.ts';
import { entriesFrom } from './fetch.ts';

/** How far a group is behind on one partition. */
export interface PartitionLag {
  readonly partition: number;
  /** The partition's high watermark (log end offset) when it was read. */
  readonly highWatermark: number;
  /** Records behind: high watermark − committed offset, never below 0 (holes of a compacted log count). */
  readonly lagRecords: number;
  /**
   * Age in seconds (ms precision) of the oldest record not yet consumed, by the time it was appended
   * (Kafka's LogAppendTime, never the producer's timestamp); 0 when caught up.
   */
  readonly lagSeconds: number;
}

/**
 * When the first record at or after `offset` was appended, from the index alone (no S3 read): the
 * append time of the first entry from `offset` that holds records. Entries of no bytes (runs key
 * compaction emptied) are skipped; undefined when only holes are left below the high watermark.
 */
async function firstAppendTime(
  ctx: EngineContext,
  ref: PartitionRef,
  offset: number,
  head: PartitionHead,
): Promise<number | undefined> {
  for await (const entry of entriesFrom(ctx, ref, offset, head)) {
    if (entry.byteLength > 0) return entry.appendTime;
  }
  return undefined;
}

/**
 * A group's lag on one partition: records behind (high watermark − committed offset) and the age of
 * the oldest record not yet consumed, by append time. That record is the one at the committed
 * offset, or the first after it (a compacted log has holes), or the log start's when the committed
 * offset fell below the log start (retention, DeleteRecords).
 *
 * Cheap, and never an S3 read: one consistent head read (none when `head` is given, e.g. from
 * `ctx.index.readHeads`), and, only when the group is behind and the offset lies below the head's
 * tail, one Query of the index page holding it (more only past runs that compaction emptied).
 * The age is per batch: every record of a batch has its batch's append time, and a batch that
 * compaction rewrote has the latest append time of the batches it merged.
 *
 * @param now the clock to measure the age against (ms since the epoch)
 * @param head the partition's head if the caller has just read it
 *
 * @example
 * // In a sweep that publishes ConsumerLagSeconds every minute:
 * const topic = await ctx.topic('orders');
 * const committed = await ctx.groups.fetch('billing', topic.name, topic.id);
 * for (const c of committed) {
 *   const { lagRecords, lagSeconds } = await partitionLag(ctx, topic, c.partition, c.offset, Date.now());
 *   metrics.addMetric('ConsumerLagSeconds', MetricUnit.Seconds, lagSeconds);
 * }
 */
export async function partitionLag(
  ctx: EngineContext,
  topic: TopicRecord,
  partition: number,
  committedOffset: number,
  now: number = ctx.now(),
  head?: PartitionHead,
): Promise<PartitionLag> {
  const ref = ctx.partitionRef(topic, partition);
  let h = head ?? (await ctx.index.readHead(ref));
  for (let attempt = 0; ; attempt++) {
    if (h === undefined) return { partition, highWatermark: 0, lagRecords: 0, lagSeconds: 0 };
    const lagRecords = Math.max(0, h.highWatermark - committedOffset);
    if (lagRecords === 0) return { partition, highWatermark: h.highWatermark, lagRecords, lagSeconds: 0 };
    try {
      const from = Math.max(committedOffset, h.logStartOffset);
      const appendTime = await firstAppendTime(ctx, ref, from, h);
      const lagSeconds = appendTime === undefined ? 0 : Math.max(0, now - appendTime) / 1000;
      return { partition, highWatermark: h.highWatermark, lagRecords, lagSeconds };
    } catch (error) {
      // Retention or compaction changed the pages since the head was read: read it again.
      if (!(error instanceof CorruptSegmentError) || attempt >= 2) throw error;
      h = await ctx.index.readHead(ref);
    }
  }
}

/**
 * {@link partitionLag} of every partition a group committed an offset for (other partitions are not
 * listed), with one batched read of the topic's heads and at most 8 index reads in flight.
 *
 * @example
 * const topic = await ctx.topic('orders');
 * const lags = await groupLag(ctx, topic, await ctx.groups.fetch('billing', topic.name, topic.id));
 */
export async function groupLag(
  ctx: EngineContext,
  topic: TopicRecord,
  committed: readonly CommittedOffset[],
  now: number = ctx.now(),
): Promise<(CommittedOffset & PartitionLag)[]> {
  const heads = await ctx.index.readHeads(topic.id, topic.partitions);
  const mine = committed
    .filter((c) => c.partition < topic.partitions)
    .sort((a, b) => a.partition - b.partition);
  return await mapLimit(mine, ctx.fetchConcurrency, async (c) => ({
    ...c,
    ...(await partitionLag(
      ctx,
      topic,
      c.partition,
      c.offset,
      now,
      heads.find((h) => h.partition === c.partition),
    )),
  }));
}
