import type { IndexEntry } from '../core/index-entry.ts';
import { isCompactedObject } from '../core/object-keys.ts';
import type { IndexPage, PartitionRef, SizeCount } from '../core/ports.ts';
import type { EngineContext } from './context.ts';

/** The most pages one swap replaces (a transaction holds 100 items, one records the retired objects). */
export const MAX_RUN_PAGES = 90;

/**
 * Pages are rewritten only once all their batches are this old: far past the commit limit, and past
 * any flusher still writing them (a flusher that read the head before a swap and wrote a replaced
 * page after it would bring an old page back beside the new one).
 */
export const COMPACTION_SETTLE_MS = 5 * 60 * 1000;

/** The bytes the entries point at. */
export function sumBytes(entries: readonly IndexEntry[]): number {
  return entries.reduce((n, e) => n + e.byteLength, 0);
}

/**
 * Swaps `run` for `merged` and records the compactor objects the run referenced as retired, in one
 * transaction that also deletes the pending record of the objects just written (`pending`) and moves
 * retention's byte count by the size change (so it never drifts from the entries). When
 * another compactor changed a page first, the pending record stays: the collector deletes them.
 */
export async function swap(
  ctx: EngineContext,
  ref: PartitionRef,
  run: readonly IndexPage[],
  merged: readonly IndexEntry[],
  pending: number | undefined,
  sizes: { readonly seen: SizeCount; readonly delta: number },
): Promise<boolean> {
  const retired = run.flatMap((page) =>
    page.entries.filter((e) => e.byteLength > 0 && isCompactedObject(e.objectId)).map((e) => e.objectId),
  );
  return await ctx.index.replacePages(ref, run, merged, retired, pending, sizes);
}
