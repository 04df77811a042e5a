import type { IndexEntry, PendingEntry } from '../../core/index-entry.ts';
import { withOffsets } from '../../core/index-entry.ts';
import type { PartitionHead } from '../../core/ports.ts';
import type { ProducerState } from '../../core/producer-state.ts';
import { type Item, L, list, M, map, N, num, optNum, S, str } from './attributes.ts';

/**
 * Item shapes of the `log` table.
 *
 * Head (one per partition), pk = '<topicId>#<partition>', sk = -1:
 *   next  N   log end offset = high watermark (never decreases, never deleted by retention)
 *   start N   log start offset
 *   lb    N   offset of the first entry in `tail`
 *   tail  L   entries not yet moved to pages: [{ i: objectId, o, l: byte offset/length, n: records,
 *             t0, t1: min/max timestamp }], in offset order; invariant next = lb + Σ n
 *   prod  M   producerId → { e: epoch, s: first sequence of last batch, ns: the next expected sequence,
 *             t: time of that batch (ms; idle producers are pruned when pages are written) }
 *   prodo M   producerId → base offset of that last batch (set from `next` in the same update)
 *   ids   SS  object ids of the tail's entries: an append of an object already in the tail is a retry
 *   ps    N   page size of this partition (fixed at creation, so every flusher writes identical pages)
 *
 * Page, pk as the head, sk = offset of its first entry:
 *   end N, t1 N (max timestamp), ents L: entries as in `tail` plus b: base offset
 */
export const HEAD_SK = -1;

export function partitionKey(topicId: string, partition: number): string {
  return `${topicId}#${partition}`;
}

export function headKey(topicId: string, partition: number): Item {
  return { pk: S(partitionKey(topicId, partition)), sk: N(HEAD_SK) };
}

export function encodeEntry(entry: PendingEntry): Item {
  return {
    i: S(entry.objectId),
    o: N(entry.byteOffset),
    l: N(entry.byteLength),
    n: N(entry.recordCount),
    t0: N(entry.minTimestamp),
    t1: N(entry.maxTimestamp),
  };
}

function decodePending(item: Item): PendingEntry {
  return {
    objectId: str(item, 'i'),
    byteOffset: num(item, 'o'),
    byteLength: num(item, 'l'),
    recordCount: num(item, 'n'),
    minTimestamp: num(item, 't0'),
    maxTimestamp: num(item, 't1'),
  };
}

export function decodeHead(partition: number, item: Item): PartitionHead {
  const tailBase = num(item, 'lb');
  return {
    partition,
    logStartOffset: num(item, 'start'),
    highWatermark: num(item, 'next'),
    tailBase,
    tail: withOffsets(tailBase, list(item, 'tail').map(decodePending)),
  };
}

export const DEFAULT_PAGE_SIZE = 8;

/** The page size the partition was created with. */
export function headPageSize(item: Item): number {
  return optNum(item, 'ps') ?? DEFAULT_PAGE_SIZE;
}

/** Object ids of the entries in the tail (the `ids` string set). */
export function tailObjectIds(item: Item): ReadonlySet<string> {
  return new Set(item.ids?.SS ?? []);
}

/** Producer ids with their last append time, for pruning idle ones. */
export function producerTimes(item: Item): Map<string, number> {
  const times = new Map<string, number>();
  for (const [id, value] of Object.entries(map(item, 'prod'))) times.set(id, optNum(value.M, 't') ?? 0);
  return times;
}

export function newHeadItem(topicId: string, partition: number, pageSize = DEFAULT_PAGE_SIZE): Item {
  return {
    ...headKey(topicId, partition),
    ps: N(pageSize),
    next: N(0),
    start: N(0),
    lb: N(0),
    tail: L([]),
    prod: M({}),
    prodo: M({}),
  };
}

export function producerState(item: Item, producerId: string): ProducerState | undefined {
  const state = map(item, 'prod')[producerId]?.M;
  const base = optNum(map(item, 'prodo'), producerId);
  if (state === undefined || base === undefined) return undefined;
  const lastSequence = num(state, 's');
  return {
    epoch: num(state, 'e'),
    lastSequence,
    lastCount: num(state, 'ns') - lastSequence,
    lastBaseOffset: base,
  };
}

export function encodePage(topicId: string, partition: number, entries: readonly IndexEntry[]): Item {
  const first = entries[0];
  const last = entries.at(-1);
  if (first === undefined || last === undefined) throw new Error('a page needs at least one entry');
  return {
    pk: S(partitionKey(topicId, partition)),
    sk: N(first.baseOffset),
    end: N(last.baseOffset + last.recordCount),
    t1: N(Math.max(...entries.map((entry) => entry.maxTimestamp))),
    ents: L(entries.map((entry) => M({ ...encodeEntry(entry), b: N(entry.baseOffset) }))),
  };
}

export function decodePage(item: Item): IndexEntry[] {
  return list(item, 'ents').map((entry) => ({ ...decodePending(entry), baseOffset: num(entry, 'b') }));
}
