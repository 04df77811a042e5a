import type { IndexEntry } from '../core/index-entry.ts';
import type { IndexPage, PartitionHead, PartitionRef, SizeCount } from '../core/ports.ts';
import { offsetDelta } from '../core/segment/index.ts';
import type { TopicRecord } from '../core/types.ts';
import { DEFAULT_TOPIC_CONFIG, isCompacted } from '../core/validation.ts';
import type { EngineContext } from './context.ts';
import { mapLimit } from './context.ts';
import { readBatch } from './fetch.ts';
import { type CleanResult, cleanPartition } from './key-compaction.ts';
import { RunWriter } from './run-writer.ts';
import { COMPACTION_SETTLE_MS, MAX_RUN_PAGES, sumBytes, swap } from './swap.ts';

/** Pages read per query. */
const PAGES_PER_READ = 50;

/** A batch is small when under this share of the target; only small batches are rewritten. */
const SMALL_SHARE = 4;
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
  /** Where the first run whose swap failed starts: the next pass begins there. */
  let failedAt: number | undefined;
  const flush = async () => {
    const entries = run.flatMap((page) => page.entries);
    const merged =
      entries.length >= 2 ? await rewrite(ctx, topic, ref, head.sizes, run, entries, target) : undefined;
    if (merged === undefined && entries.length >= 2) failedAt ??= run[0]?.first;
    if (merged !== undefined) {
      runs++;
      batchesMerged += entries.length;
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
      if (failedAt !== undefined) break scan;
      if (small) {
        run.push(page);
        runBytes += bytes;
      }
      cursor = page.end;
    }
  }
  await flush();
  // A run whose swap failed (another sweep changed a page, or took its objects) is tried again.
  return { through: failedAt ?? cursor, runs, batchesMerged };
}

/** Rewrites the run's records into new objects, then swaps the pages; the new entries. */
async function rewrite(
  ctx: EngineContext,
  topic: TopicRecord,
  ref: PartitionRef,
  seen: SizeCount,
  run: readonly IndexPage[],
  entries: readonly IndexEntry[],
  target: number,
): Promise<IndexEntry[] | undefined> {
  const first = run[0];
  const last = run.at(-1);
  if (first === undefined || last === undefined) return undefined;
  const batches = await mapLimit(entries, ctx.fetchConcurrency, (entry) => readBatch(ctx, topic, ref, entry));
  const writer = new RunWriter(ctx, topic, ref, first.first, target);
  for (const [i, batch] of batches.entries()) {
    const entry = entries[i] as IndexEntry;
    writer.visit(entry);
    for (const [j, record] of batch.records.entries())
      await writer.add(entry.baseOffset + offsetDelta(batch, j), record);
  }
  const merged = await writer.finish(last.end);
  const sizes = { seen, delta: sumBytes(merged) - sumBytes(entries) };
  return (await swap(ctx, ref, run, merged, writer.pending, sizes)) ? merged : undefined;
}

/**
 * Compacts every partition of the topic from where the last pass stopped: by key on a compacted
 * topic (key-compaction.ts), else small batches into larger objects. Pages out the tails of idle
 * partitions first so both reach what a partition wrote last. The cursors live with orphan
 * collection's state, which runs right after and takes the replaced produced objects.
 */
export async function compactTopic(
  ctx: EngineContext,
  topic: TopicRecord,
  graceMs: number,
  deadline: number,
  /** Heads just read by the same pass (undefined where unknown): saves reading them again. */
  heads: readonly (PartitionHead | undefined)[] = [],
): Promise<{ runs: number; batchesMerged: number; recordsRemoved: number }> {
  const keyed = isCompacted(topic.config);
  const nothing = { runs: 0, batchesMerged: 0, recordsRemoved: 0 };
  if (!keyed && topic.config.targetObjectBytes === -1) return nothing;
  const passStart = ctx.now();
  const seen = await ctx.index.readGcState(topic.id);
  const partitions = Array.from({ length: topic.partitions }, (_, p) => p);
  const results = await mapLimit(partitions, 4, async (partition) => {
    const ref: PartitionRef = { topic: topic.name, topicId: topic.id, partition };
    let head = heads[partition] ?? (await ctx.index.readHead(ref));
    if (head === undefined) return undefined;
    const idle =
      head.tail.length > 0 && head.tail.every((e) => e.appendTime < passStart - COMPACTION_SETTLE_MS);
    if (idle && (await ctx.index.pageIdleTail(ref, passStart - COMPACTION_SETTLE_MS))) {
      head = await ctx.index.readHead(ref);
      if (head === undefined) return undefined;
    }
    if (keyed) {
      const since = seen?.tombstones?.[partition];
      const cleaned = seen?.cleaned?.[partition] ?? 0;
      return await cleanPartition(ctx, topic, ref, head, cleaned, since === -1 ? undefined : since, deadline);
    }
    return await compactPartition(ctx, topic, ref, head, seen?.compacted?.[partition] ?? 0, deadline);
  });
  if (results.some((r) => r === undefined)) return nothing;
  const base = seen ?? {
    through: topic.createdAt - graceMs,
    cursors: Array.from({ length: topic.partitions }, () => 0),
  };
  // Lost to another sweep: it will have moved the cursors itself; pages are rechecked harmlessly.
  if (keyed) {
    const done = results as CleanResult[];
    const cleaned = done.map((r) => r.cleaned);
    const cleanedUntil = Math.min(...done.map((r) => r.firstDirtyAppendTime ?? passStart));
    const tombstones = done.map((r) => r.oldestTombstone ?? -1);
    const same = (a: readonly number[], b: readonly number[] | undefined) => a.every((v, p) => v === b?.[p]);
    if (
      cleanedUntil !== seen?.cleanedUntil ||
      !same(cleaned, seen?.cleaned) ||
      !same(tombstones, seen?.tombstones)
    ) {
      await ctx.index.writeGcState(topic.id, seen, { ...base, cleaned, cleanedUntil, tombstones });
    }
    return {
      runs: done.filter((r) => r.rewritten).length,
      batchesMerged: 0,
      recordsRemoved: done.reduce((n, r) => n + r.recordsRemoved, 0),
    };
  }
  const done = results as CompactResult[];
  const next = done.map((r) => r.through);
  if (next.some((c, p) => c !== seen?.compacted?.[p])) {
    await ctx.index.writeGcState(topic.id, seen, { ...base, compacted: next });
  }
  return {
    runs: done.reduce((n, r) => n + r.runs, 0),
    batchesMerged: done.reduce((n, r) => n + r.batchesMerged, 0),
    recordsRemoved: 0,
  };
}
