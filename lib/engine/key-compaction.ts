import type { IndexEntry } from '../core/index-entry.ts';
import { compactionSettings, dirtyEnough, keepRecord, keyId } from '../core/key-compaction.ts';
import type { IndexPage, PartitionHead, PartitionRef } from '../core/ports.ts';
import { type DecodedBatch, offsetDelta } from '../core/segment/index.ts';
import type { TopicRecord } from '../core/types.ts';
import { DEFAULT_TOPIC_CONFIG } from '../core/validation.ts';
import type { EngineContext } from './context.ts';
import { mapLimit } from './context.ts';
import { readBatch } from './fetch.ts';
import { RunWriter } from './run-writer.ts';
import { COMPACTION_SETTLE_MS, MAX_RUN_PAGES, sumBytes, swap } from './swap.ts';

const PAGES_PER_READ = 50;
/** The most distinct keys one pass holds in memory (~100 B each); the dirty part is cut short past it. */
export const MAX_KEYS_PER_PASS = 1_000_000;
/** The most dirty pages one pass takes (32 entries each). */
const MAX_DIRTY_PAGES = 3_000;

export interface CleanResult {
  /** The partition's cleaned offset after the pass. */
  readonly cleaned: number;
  /**
   * When the first entry at or above `cleaned` was appended (undefined: there is none, so every
   * entry appended before the pass began is cleaned).
   */
  readonly firstDirtyAppendTime: number | undefined;
  /** Whether the log was rewritten. */
  readonly rewritten: boolean;
  /** When the oldest tombstone below `cleaned` was appended (undefined: none). */
  readonly oldestTombstone: number | undefined;
  readonly recordsRemoved: number;
}

/**
 * Key compaction of one partition (docs/design.md §9, Kafka's log cleaner). The dirty part runs
 * from the cleaned offset over the pages whose every batch is older than the settle time and
 * `minCompactionLagMs`; when its bytes reach `minCleanableDirtyRatio` of the partition's, its keys
 * are read into a map (key → latest offset), and every page from the log start through it is
 * rewritten in runs (lib/engine/run-writer.ts), keeping only each key's latest record and
 * tombstones younger than `deleteRetentionMs`, and swapped in (compaction.ts). Offsets never
 * change; the latest record of every key is never dropped, so after any prefix of the swaps the
 * log still holds every key's latest value. The cleaned offset moves only when every run swapped.
 * A pass is also due when a tombstone below the cleaned offset (`tombstoneSince`, the oldest one
 * the last pass kept) has outlived deleteRetentionMs, so tombstones go without new writes.
 *
 * @example
 * const { cleaned } = await cleanPartition(ctx, topic, ref, head, 0, Date.now() + 60_000);
 */
export async function cleanPartition(
  ctx: EngineContext,
  topic: TopicRecord,
  ref: PartitionRef,
  head: PartitionHead,
  cleanedFrom: number,
  tombstoneSince: number | undefined,
  deadline: number,
): Promise<CleanResult> {
  const now = ctx.now();
  const settings = compactionSettings(topic.config);
  const eligibleBefore = now - Math.max(COMPACTION_SETTLE_MS, settings.minCompactionLagMs);
  const start = head.logStartOffset;
  const from = Math.max(cleanedFrom, start);
  const unchanged = (firstDirtyAppendTime: number | undefined) => ({
    cleaned: from,
    firstDirtyAppendTime,
    rewritten: false,
    recordsRemoved: 0,
    oldestTombstone: tombstoneSince,
  });
  const tombstonesBefore = now - settings.deleteRetentionMs;
  const clean = from > start ? await pagesBetween(ctx, ref, start, from) : [];
  const scan = await dirtyPages(ctx, ref, head, from, eligibleBefore);
  const firstDirty = scan.pages[0]?.entries[0]?.appendTime ?? scan.stopAppendTime;
  const tombstonesDue = tombstoneSince !== undefined && tombstoneSince < tombstonesBefore;
  const dirtyDue = dirtyEnough(
    entriesBytes(clean),
    entriesBytes(scan.pages),
    settings.minCleanableDirtyRatio,
  );
  if (!tombstonesDue && !dirtyDue) {
    return unchanged(firstDirty);
  }
  // The dirty part's keys: key → its latest offset.
  // Half the time left reads keys, the rest rewrites; a dirty part cut short is cleaned next time.
  const latest = new Map<string, number>();
  const keysBy = now + (deadline - now) / 2;
  let dirty = scan.pages;
  for (const [i, page] of scan.pages.entries()) {
    if (latest.size >= MAX_KEYS_PER_PASS || ctx.now() > keysBy) {
      dirty = scan.pages.slice(0, i);
      break;
    }
    for (const { entry, batch } of await readPage(ctx, topic, ref, page)) {
      for (const [j, record] of batch.records.entries()) {
        if (record.key !== null) latest.set(keyId(record.key), entry.baseOffset + offsetDelta(batch, j));
      }
    }
  }
  const dirtyEnd = dirty.at(-1)?.end ?? from;
  const stopAppendTime =
    dirty.length === scan.pages.length
      ? scan.stopAppendTime
      : scan.pages[dirty.length]?.entries[0]?.appendTime;
  const target = topic.config.targetObjectBytes ?? (DEFAULT_TOPIC_CONFIG.targetObjectBytes as number);
  const pages = [...clean, ...dirty];
  /** Records dropped by the runs that swapped. */
  let removed = 0;
  let oldestTombstone: number | undefined;
  /**
   * Stopped after the runs before `i` swapped (deadline, or another sweep changed a page): what was
   * rewritten holds every key once at most (its records are the map's latest or keys the map lacks),
   * so the cleaned offset may move to its end when that is past the old one.
   */
  const stopped = (i: number): CleanResult => {
    const next = pages[i];
    const reached = next?.first ?? dirtyEnd;
    if (i === 0 || reached <= from) {
      const since = [tombstoneSince, oldestTombstone].filter((t) => t !== undefined);
      return {
        ...unchanged(firstDirty),
        rewritten: i > 0,
        recordsRemoved: removed,
        oldestTombstone: since.length === 0 ? undefined : Math.min(...(since as number[])),
      };
    }
    const firstDirtyAppendTime = next?.entries[0]?.appendTime ?? stopAppendTime;
    return {
      cleaned: reached,
      firstDirtyAppendTime,
      rewritten: true,
      recordsRemoved: removed,
      oldestTombstone,
    };
  };
  for (let i = 0; i < pages.length; i += MAX_RUN_PAGES) {
    if (ctx.now() > deadline) return stopped(i);
    const run = pages.slice(i, i + MAX_RUN_PAGES);
    const first = run[0] as IndexPage;
    let dropped = 0;
    const writer = new RunWriter(ctx, topic, ref, first.first, target > 0 ? target : 8 * 1024 * 1024);
    for (const page of run) {
      for (const { entry, batch } of await readPage(ctx, topic, ref, page)) {
        writer.visit(entry);
        for (const [j, record] of batch.records.entries()) {
          const offset = entry.baseOffset + offsetDelta(batch, j);
          if (offset >= start && keepRecord(record, offset, latest, entry.appendTime, tombstonesBefore)) {
            await writer.add(offset, record);
            if (record.value === null)
              oldestTombstone = Math.min(oldestTombstone ?? entry.appendTime, entry.appendTime);
          } else {
            dropped++;
          }
        }
      }
    }
    const merged = await writer.finish((run.at(-1) as IndexPage).end);
    // Lost to another sweep: what swapped so far is a valid compacted log; the next pass goes on.
    const sizes = { seen: head.sizes, delta: sumBytes(merged) - entriesBytes(run) };
    if (!(await swap(ctx, ref, run, merged, writer.pending, sizes))) return stopped(i);
    removed += dropped;
  }
  return {
    cleaned: dirtyEnd,
    firstDirtyAppendTime: stopAppendTime,
    rewritten: true,
    recordsRemoved: removed,
    oldestTombstone,
  };
}

function entriesBytes(pages: readonly IndexPage[]): number {
  return pages.reduce((n, page) => n + sumBytes(page.entries), 0);
}

/** The entries of a page with their batches (read in parallel). */
async function readPage(
  ctx: EngineContext,
  topic: TopicRecord,
  ref: PartitionRef,
  page: IndexPage,
): Promise<{ entry: IndexEntry; batch: DecodedBatch }[]> {
  const batches = await mapLimit(page.entries, ctx.fetchConcurrency, (entry) =>
    readBatch(ctx, topic, ref, entry),
  );
  return batches.map((batch, i) => ({ entry: page.entries[i] as IndexEntry, batch }));
}

/** The pages that hold offsets of [from, to), ascending. */
async function pagesBetween(ctx: EngineContext, ref: PartitionRef, from: number, to: number) {
  const out: IndexPage[] = [];
  let cursor = from;
  while (cursor < to) {
    const pages = await ctx.index.pagesFrom(ref, cursor, PAGES_PER_READ);
    const fresh = pages.filter((page) => page.end > cursor && page.first < to);
    if (fresh.length === 0) break;
    out.push(...fresh);
    cursor = (fresh.at(-1) as IndexPage).end;
  }
  return out;
}

/**
 * The dirty pages from `from`: consecutive pages below the tail whose batches were all appended
 * before `eligibleBefore` and which retention has counted; and when the first entry after them was
 * appended (undefined when there is none).
 */
async function dirtyPages(
  ctx: EngineContext,
  ref: PartitionRef,
  head: PartitionHead,
  from: number,
  eligibleBefore: number,
): Promise<{ pages: IndexPage[]; stopAppendTime: number | undefined }> {
  const out: IndexPage[] = [];
  let cursor = from;
  while (out.length < MAX_DIRTY_PAGES) {
    const pages = cursor < head.tailBase ? await ctx.index.pagesFrom(ref, cursor, PAGES_PER_READ) : [];
    const fresh = pages.filter((page) => page.end > cursor);
    if (fresh.length === 0) break;
    for (const page of fresh) {
      const eligible =
        page.first < head.tailBase &&
        page.end <= head.sizes.through &&
        page.entries.every((e) => e.appendTime < eligibleBefore);
      if (!eligible || out.length >= MAX_DIRTY_PAGES) {
        return { pages: out, stopAppendTime: page.entries[0]?.appendTime };
      }
      out.push(page);
      cursor = page.end;
    }
  }
  if (cursor >= head.tailBase) {
    return {
      pages: out,
      stopAppendTime: head.tail.find((e) => e.baseOffset + e.recordCount > cursor)?.appendTime,
    };
  }
  // Stopped at the page cap: the next page's first entry (0, the safe answer, if it cannot be found).
  const more = await ctx.index.pagesFrom(ref, cursor, 1);
  return { pages: out, stopAppendTime: more.find((p) => p.end > cursor)?.entries[0]?.appendTime ?? 0 };
}
