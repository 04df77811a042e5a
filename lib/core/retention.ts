import type { IndexEntry } from './index-entry.ts';
import { entryEnd } from './index-entry.ts';
import type { PartitionHead, SizeCount } from './ports.ts';

/**
 * No append is sent later than this after its segment object's creation time (the appender refuses,
 * CommitTooLate). The garbage collector's bound rests on it: an object is kept at least this long
 * past the first live batch of every partition (docs/design.md §9).
 */
export const COMMIT_LIMIT_MS = 60_000;

/**
 * The least time an object is kept past the point the index shows it unreferenced: the commit limit
 * plus as long again for a request in flight. Enough on one machine (one clock); on AWS the default
 * grace is an hour, for SigV4's 15 minutes of skew and of request age (docs/design.md §9).
 */
export const MIN_GC_GRACE_MS = 2 * COMMIT_LIMIT_MS;

/** A topic's retention settings; -1 keeps forever (Kafka's retention.ms and retention.bytes). */
export interface RetentionPolicy {
  readonly retentionMs: number;
  readonly retentionBytes: number;
}

export interface RetentionPlan {
  /** The new log start offset (≥ the head's, ≤ its high watermark). */
  readonly start: number;
  readonly sizes: SizeCount;
  /** When the batch holding the new log start was appended; undefined when no record is left. */
  readonly firstLiveAppendTime: number | undefined;
  /** Whether the head needs writing (the start moved or the byte count changed). */
  readonly changed: boolean;
}

/**
 * At most this many entries are counted, and this many dropped, by one step: a partition with a
 * large backlog (a first sweep, a long outage) is caught up over several passes, each bounded.
 */
export const MAX_ENTRIES_PER_STEP = 50_000;

/** Entries from the one holding `offset` to the high watermark, ascending and gapless. */
export type EntriesFrom = (offset: number) => AsyncIterable<IndexEntry>;

/**
 * Plans one retention step of a partition, Kafka's way: whole batches leave the front of the log
 * while they were all appended more than `retentionMs` ago, or while the partition without them
 * would still hold at least `retentionBytes`. The log start never moves back and never passes the
 * high watermark. The byte count is kept incrementally in the head (`sizes`), so a step reads only
 * the entries appended since the last one, plus the ones it drops, plus one.
 *
 * @example
 * const plan = await planRetention(head, (o) => entriesFrom(ref, o), { retentionMs: 60_000, retentionBytes: -1 }, Date.now());
 * if (plan.changed) await index.advanceStart(ref, head, plan.start, plan.sizes);
 */
export async function planRetention(
  head: PartitionHead,
  entriesFrom: EntriesFrom,
  policy: RetentionPolicy,
  now: number,
): Promise<RetentionPlan> {
  const start = head.logStartOffset;
  const next = head.highWatermark;
  let { from, through, bytes } = head.sizes;
  // An entry is counted when it ends above `from` and starts below `through`.
  const counted = (e: IndexEntry) => entryEnd(e) > from && e.baseOffset < through;
  // 1. Uncount what DeleteRecords moved below the log start since the last count.
  if (start > from) {
    if (from < through) {
      for await (const e of entriesFrom(from)) {
        if (e.baseOffset >= Math.min(start, through)) break;
        if (entryEnd(e) <= start && counted(e)) bytes -= e.byteLength;
      }
    }
    from = start;
  }
  // 2. Count what was appended since: entries that start at or above `through` and end above `from`.
  // Bytes not counted yet are not there for the bytes rule: a partial count drops less, never more.
  if (through < next) {
    let seen = 0;
    let reached = through;
    for await (const e of entriesFrom(Math.max(through, from))) {
      if (seen++ >= MAX_ENTRIES_PER_STEP) break;
      if (e.baseOffset >= through && entryEnd(e) > from) bytes += e.byteLength;
      reached = entryEnd(e);
    }
    through = Math.max(through, reached);
  }
  // 3. Drop whole batches from the front.
  let newStart = start;
  let firstLiveAppendTime: number | undefined;
  if (start < next) {
    const cutoff = policy.retentionMs < 0 ? Number.NEGATIVE_INFINITY : now - policy.retentionMs;
    let dropped = 0;
    for await (const e of entriesFrom(start)) {
      if (dropped++ >= MAX_ENTRIES_PER_STEP) {
        firstLiveAppendTime = e.appendTime; // the rest waits for the next pass
        break;
      }
      const counted = e.baseOffset < through;
      const expired = e.appendTime < cutoff;
      const oversize = counted && policy.retentionBytes >= 0 && bytes - e.byteLength >= policy.retentionBytes;
      if (!expired && !oversize) {
        firstLiveAppendTime = e.appendTime;
        break;
      }
      if (counted) bytes -= e.byteLength;
      newStart = entryEnd(e);
    }
    from = newStart;
  }
  const sizes = { from, through, bytes };
  const changed =
    newStart !== start ||
    sizes.from !== head.sizes.from ||
    sizes.through !== head.sizes.through ||
    sizes.bytes !== head.sizes.bytes;
  return { start: newStart, sizes, firstLiveAppendTime, changed };
}
