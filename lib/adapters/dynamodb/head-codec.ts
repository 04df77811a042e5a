import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { decodeIndexEntry, encodeIndexEntry } from '../../core/index-codec.ts';
import type { IndexEntry, PendingEntry } from '../../core/index-entry.ts';
import { withOffsets } from '../../core/index-entry.ts';
import type { PartitionHead } from '../../core/ports.ts';
import { type Item, L, N, num, optNum, S } from './attributes.ts';

/**
 * Item shapes of the `log` table, index format v2 (every item carries `v`). docs/design.md §2.
 *
 * Head (one per partition), pk = '<topicId>#<partition>', sk = -1 — under 1 KB in steady state:
 *   v     N   format version (2)
 *   next  N   log end offset = high watermark (never decreases, never deleted by retention)
 *   start N   log start offset
 *   lb    N   offset of the first entry in `tail`
 *   tail  L   of B: entries not yet moved to pages, in offset order (lib/core/index-codec.ts);
 *             invariant next = lb + Σ record counts
 *   ps    N   page size of this partition (fixed at creation: every flusher writes identical pages)
 *   pn    N   pages written so far (the ordinal of the next page)
 *   cm    N   the largest record timestamp below `lb` (-1 before the first page)
 *   fx    M   fences: '<object id>.<attempt>' → ms; an append attempt whose outcome was unknown is
 *             fenced before the appender reads whether it landed (pruned after an hour)
 *   so, sc, sz N  retention's byte count (written only by the sweeper, lib/core/retention.ts):
 *             sz = Σ byteLength of the entries that end above `so` and start below `sc`
 *             (absent = 0)
 *
 * Page, pk as the head, sk = offset of its first entry:
 *   v N, end N (offset after its last entry), cm N (the largest timestamp up to `end`), ents L of B
 *
 * Time index, pk = '<topicId>#<partition>#t', sk = cm × 10^12 + page ordinal, written for every
 * TIME_INDEX_STRIDE-th page: v N, o N (the page's first offset). Sorted by (cm, ordinal), and cm
 * never decreases with the ordinal, so `sk < T × 10^12` descending finds the last indexed page
 * whose timestamps are all below T.
 *
 * Producer state, pk = '<topicId>#<partition>#p', sk = producer id (N), touched only by idempotent
 * appends, in the same transaction as the head:
 *   v N, e N (epoch), ns N (next sequence), w L of B (last 5 batches, see encodeWindowBatch),
 *   t N (last append, ms; older than the expiration = no state), ttl N (seconds, cleanup only),
 *   ver N (bumped by every write; the transaction's condition pins it)
 */
export const FORMAT_VERSION = 2;
export const HEAD_SK = -1;
export const DEFAULT_PAGE_SIZE = 32;
/** One time-index item per this many pages. */
export const TIME_INDEX_STRIDE = 8;
/** sk of a time-index item = cm × TIME_SCALE + ordinal. */
const TIME_SCALE = 10n ** 12n;

export function partitionKey(topicId: string, partition: number): string {
  return `${topicId}#${partition}`;
}

export function timeKey(topicId: string, partition: number): string {
  return `${partitionKey(topicId, partition)}#t`;
}

export function producersKey(topicId: string, partition: number): string {
  return `${partitionKey(topicId, partition)}#p`;
}

export function headKey(topicId: string, partition: number): Item {
  return { pk: S(partitionKey(topicId, partition)), sk: N(HEAD_SK) };
}

const B = (bytes: Uint8Array): AttributeValue => ({ B: bytes });

export function encodeEntry(entry: PendingEntry): AttributeValue {
  return B(encodeIndexEntry(entry));
}

function binaries(item: Item | undefined, name: string): Uint8Array[] {
  return (item?.[name]?.L ?? []).map((value) => {
    if (value.B === undefined) throw new Error(`${name} holds a non-binary element`);
    return value.B;
  });
}

/** A head as the engine sees it, plus what only the index needs. */
export interface HeadState extends PartitionHead {
  readonly pageSize: number;
  readonly pagesWritten: number;
  readonly cumulativeMax: number;
  /** Fence keys with the time they were set. */
  readonly fences: ReadonlyMap<string, number>;
  /** `tail.length`, without decoding the entries (an append needs only this). */
  readonly tailLength: number;
}

export function decodeHead(partition: number, item: Item): HeadState {
  return decodeHeadItem(partition, item);
}

function decodeHeadItem(partition: number, item: Item): HeadState {
  const version = optNum(item, 'v');
  if (version !== FORMAT_VERSION) {
    throw new Error(
      `partition head of format ${version ?? 1} cannot be read by index format ${FORMAT_VERSION}`,
    );
  }
  const tailBase = num(item, 'lb');
  const fences = new Map<string, number>();
  for (const [key, value] of Object.entries(item.fx?.M ?? {})) fences.set(key, Number(value.N ?? 0));
  const raw = binaries(item, 'tail');
  let tail: IndexEntry[] | undefined;
  return {
    partition,
    logStartOffset: num(item, 'start'),
    highWatermark: num(item, 'next'),
    tailBase,
    // Decoded on first use: most appends never look at the entries.
    get tail(): IndexEntry[] {
      tail ??= withOffsets(tailBase, raw.map(decodeIndexEntry));
      return tail;
    },
    tailLength: raw.length,
    sizes: {
      from: optNum(item, 'so') ?? 0,
      through: optNum(item, 'sc') ?? 0,
      bytes: optNum(item, 'sz') ?? 0,
    },
    pageSize: optNum(item, 'ps') ?? DEFAULT_PAGE_SIZE,
    pagesWritten: optNum(item, 'pn') ?? 0,
    cumulativeMax: optNum(item, 'cm') ?? -1,
    fences,
  };
}

export function newHeadItem(topicId: string, partition: number, pageSize = DEFAULT_PAGE_SIZE): Item {
  return {
    ...headKey(topicId, partition),
    v: N(FORMAT_VERSION),
    ps: N(pageSize),
    next: N(0),
    start: N(0),
    lb: N(0),
    pn: N(0),
    cm: N(-1),
    tail: L([]),
    fx: { M: {} },
  };
}

/** The largest timestamp of `entries`, or `floor` when it is larger. */
export function maxTimestamp(entries: readonly IndexEntry[], floor: number): number {
  return entries.reduce((max, entry) => Math.max(max, entry.maxTimestamp), floor);
}

export function encodePage(
  topicId: string,
  partition: number,
  entries: readonly IndexEntry[],
  cumulativeMax: number,
): Item {
  const first = entries[0];
  const last = entries.at(-1);
  if (first === undefined || last === undefined) throw new Error('a page needs at least one entry');
  return {
    pk: S(partitionKey(topicId, partition)),
    sk: N(first.baseOffset),
    v: N(FORMAT_VERSION),
    end: N(last.baseOffset + last.recordCount),
    cm: N(cumulativeMax),
    ents: L(entries.map(encodeEntry)),
  };
}

export function decodePage(item: Item): IndexEntry[] {
  return withOffsets(num(item, 'sk'), binaries(item, 'ents').map(decodeIndexEntry));
}

/** The sort key of the time-index item of page `ordinal` whose cumulative max timestamp is `cm`. */
export function timeSortKey(cumulativeMax: number, ordinal: number): string {
  return (BigInt(cumulativeMax) * TIME_SCALE + BigInt(ordinal)).toString();
}

/** The sort key below every time-index item whose cm is at least `timestamp`. */
export function timeSortKeyFloor(timestamp: number): string {
  return (BigInt(timestamp) * TIME_SCALE).toString();
}

export function encodeTimeItem(
  topicId: string,
  partition: number,
  cumulativeMax: number,
  ordinal: number,
  pageOffset: number,
): Item {
  return {
    pk: S(timeKey(topicId, partition)),
    sk: { N: timeSortKey(cumulativeMax, ordinal) },
    v: N(FORMAT_VERSION),
    o: N(pageOffset),
  };
}
