import type { IndexEntry } from '../core/index-entry.ts';
import { entryEnd } from '../core/index-entry.ts';
import { newObjectId, segmentKey } from '../core/object-keys.ts';
import type { IndexPage, PartitionHead, PartitionRef } from '../core/ports.ts';
import { decodeBatch, encodeSegment, type LogRecord } from '../core/segment/index.ts';
import type { TopicRecord } from '../core/types.ts';
import { DEFAULT_TOPIC_CONFIG } from '../core/validation.ts';
import type { EngineContext } from './context.ts';
import { mapLimit } from './context.ts';

/** Pages read per query, and the most pages one swap replaces (a transaction holds 100 items). */
const PAGES_PER_READ = 50;
const MAX_RUN_PAGES = 90;
/** A batch is small when under this share of the target; only small batches are rewritten. */
const SMALL_SHARE = 4;
/**
 * Pages are rewritten only once all their batches are this old: far past the commit limit, and past
 * any flusher still writing them (a flusher that read the head before a swap and wrote a replaced
 * page after it would bring an old page back beside the new one).
 */
export const COMPACTION_SETTLE_MS = 5 * 60 * 1000;

export interface CompactResult {
  /** The offset below which every page has been looked at (the next pass starts there). */
  readonly through: number;
  readonly runs: number;
  readonly batchesMerged: number;
}

/**
 * Small-object compaction of one partition (docs/design.md §9): runs of consecutive index pages
 * whose batches are all small and were appended more than COMPACTION_SETTLE_MS ago are rewritten into
 * one batch of one new single-partition object of about the topic's `targetObjectBytes`, and the
 * pages are swapped for one page holding its entry in one conditional transaction. Offsets, record
 * order, timestamps and the append time (the largest of the run) are unchanged; a reader meets the
 * old pages or the new one, and the old objects stay until orphan collection finds them unreferenced.
 *
 * @example
 * const { through } = await compactPartition(ctx, topic, ref, head, cursor, Date.now() + 60_000);
 */
export async function compactPartition(
  ctx: EngineContext,
  topic: TopicRecord,
  ref: PartitionRef,
  head: PartitionHead,
  from: number,
  deadline: number,
): Promise<CompactResult> {
  const target = topic.config.targetObjectBytes ?? (DEFAULT_TOPIC_CONFIG.targetObjectBytes as number);
  const settled = ctx.now() - COMPACTION_SETTLE_MS;
  let cursor = Math.max(from, head.logStartOffset);
  let runs = 0;
  let batchesMerged = 0;
  let run: IndexPage[] = [];
  let runBytes = 0;
  const flush = async () => {
    const entries = run.flatMap((page) => page.entries);
    const merged = entries.length >= 2 ? await rewrite(ctx, topic, ref, run, entries) : undefined;
    if (merged !== undefined) {
      runs++;
      batchesMerged += entries.length;
      const delta = merged.byteLength - entries.reduce((n, e) => n + e.byteLength, 0);
      await ctx.index.adjustSizes(ref, head.sizes, delta);
    }
    run = [];
    runBytes = 0;
  };
  scan: while (cursor < head.tailBase && ctx.now() < deadline) {
    const pages = await ctx.index.pagesFrom(ref, cursor, PAGES_PER_READ);
    if (pages.length === 0) break;
    for (const page of pages) {
      if (page.end <= cursor) continue;
      if (page.first >= head.tailBase) break scan;
      // Young pages wait for a later pass (their producers may still be resolving retries), and so
      // do pages retention has not counted yet (their new size must replace the counted one).
      if (page.entries.some((e) => e.appendTime >= settled) || page.end > head.sizes.through) break scan;
      const small =
        page.first >= head.logStartOffset && page.entries.every((e) => e.byteLength * SMALL_SHARE < target);
      const bytes = page.entries.reduce((n, e) => n + e.byteLength, 0);
      if (!small || run.length === MAX_RUN_PAGES || runBytes + bytes > target) await flush();
      if (small) {
        run.push(page);
        runBytes += bytes;
      }
      cursor = page.end;
    }
  }
  await flush();
  return { through: cursor, runs, batchesMerged };
}

/** Writes the run's records as one batch of a new object, then swaps the pages; the new entry. */
async function rewrite(
  ctx: EngineContext,
  topic: TopicRecord,
  ref: PartitionRef,
  run: readonly IndexPage[],
  entries: readonly IndexEntry[],
): Promise<IndexEntry | undefined> {
  const batches = await mapLimit(entries, ctx.fetchConcurrency, async (entry) => {
    const bytes = await ctx.objects.getRange(
      segmentKey(topic.name, topic.id, entry.objectId),
      entry.byteOffset,
      entry.byteLength,
    );
    return decodeBatch(bytes, { partition: ref.partition, recordCount: entry.recordCount }).records;
  });
  const records: LogRecord[] = batches.flat();
  const segment = encodeSegment([
    { partition: ref.partition, records, compression: topic.config.compression },
  ]);
  const location = segment.batches[0];
  const first = entries[0];
  const last = entries.at(-1);
  if (location === undefined || first === undefined || last === undefined) return undefined;
  const objectId = newObjectId(ctx.now(), 'compactor');
  await ctx.objects.put(segmentKey(topic.name, topic.id, objectId), segment.bytes);
  const merged: IndexEntry = {
    baseOffset: first.baseOffset,
    recordCount: entryEnd(last) - first.baseOffset,
    objectId,
    byteOffset: location.byteOffset,
    byteLength: location.byteLength,
    maxTimestamp: Math.max(...entries.map((e) => e.maxTimestamp)),
    appendTime: Math.max(...entries.map((e) => e.appendTime)),
  };
  if (merged.recordCount !== records.length) {
    throw new Error(
      `compaction of ${ref.topic}/${ref.partition} read ${records.length} records for ${merged.recordCount} offsets`,
    );
  }
  // A page changed meanwhile (another compactor): the new object is left to the retention rule.
  return (await ctx.index.replacePages(ref, run, [merged])) ? merged : undefined;
}

/**
 * Compacts every partition of the topic from where the last pass stopped (the cursors live with
 * orphan collection's state, which runs right after and takes the replaced objects).
 */
export async function compactTopic(
  ctx: EngineContext,
  topic: TopicRecord,
  graceMs: number,
  deadline: number,
): Promise<{ runs: number; batchesMerged: number }> {
  if (topic.config.targetObjectBytes === -1) return { runs: 0, batchesMerged: 0 };
  const seen = await ctx.index.readGcState(topic.id);
  const cursors = Array.from({ length: topic.partitions }, (_, p) => seen?.compacted?.[p] ?? 0);
  const results = await mapLimit(cursors, 4, async (from, partition) => {
    const ref: PartitionRef = { topic: topic.name, topicId: topic.id, partition };
    const head = await ctx.index.readHead(ref);
    if (head === undefined) return undefined;
    return await compactPartition(ctx, topic, ref, head, from, deadline);
  });
  if (results.some((r) => r === undefined)) return { runs: 0, batchesMerged: 0 };
  const done = results as CompactResult[];
  const next = done.map((r) => r.through);
  if (next.some((c, p) => c !== cursors[p])) {
    const base = seen ?? {
      through: topic.createdAt - graceMs,
      cursors: Array.from({ length: topic.partitions }, () => 0),
    };
    // Lost to another sweep: it will have moved the cursors itself; pages are rechecked harmlessly.
    await ctx.index.writeGcState(topic.id, seen, { ...base, compacted: next });
  }
  return {
    runs: done.reduce((n, r) => n + r.runs, 0),
    batchesMerged: done.reduce((n, r) => n + r.batchesMerged, 0),
  };
}
