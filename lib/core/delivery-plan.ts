import { murmur2, toPositive } from './partitioner.ts';
import type { InvokeOutcome } from './ports.ts';
import type { FetchedRecord } from './types.ts';

/**
 * Pure decisions of a consumer-function delivery: which records go into which concurrent batch
 * ("lane"), which offset failed, how far the group's offset may move.
 */

/**
 * The lane of a record under `parallelizationFactor` lanes: records with the same key always share a
 * lane, so they are delivered in order; keyless records spread by offset (they have no order to keep
 * beyond the partition's, which parallelization gives up, as Kinesis's does).
 *
 * @example laneOf({ key: new TextEncoder().encode('user-7'), offset: 12 } as FetchedRecord, 4) // 0..3
 */
export function laneOf(record: Pick<FetchedRecord, 'key' | 'offset'>, lanes: number): number {
  if (lanes <= 1) return 0;
  if (record.key === null) return record.offset % lanes;
  return toPositive(murmur2(record.key)) % lanes;
}

/**
 * Splits the undelivered records of a window into lanes: each lane's first `limitOf(lane)` records in
 * offset order, within `maxBytes` of values and keys (at least one record per lane). A record of a lane
 * is never taken after a later record of the same lane is left out, so per-key order holds.
 *
 * @example splitLanes(records, 4, () => 100, 3 * 1024 * 1024) // Map { 0 => [...], 2 => [...] }
 */
export function splitLanes(
  records: readonly FetchedRecord[],
  lanes: number,
  limitOf: (lane: number) => number,
  maxBytes: number,
): Map<number, FetchedRecord[]> {
  const out = new Map<number, FetchedRecord[]>();
  const bytes = new Map<number, number>();
  const closed = new Set<number>();
  for (const record of records) {
    const lane = laneOf(record, lanes);
    if (closed.has(lane)) continue;
    const batch = out.get(lane) ?? [];
    const size = (record.value?.length ?? 0) + (record.key?.length ?? 0) + 64;
    const used = bytes.get(lane) ?? 0;
    if (batch.length >= limitOf(lane) || (batch.length > 0 && used + size > maxBytes)) {
      closed.add(lane);
      continue;
    }
    batch.push(record);
    out.set(lane, batch);
    bytes.set(lane, used + size);
  }
  return out;
}

/**
 * The lowest offset of `records` that failed, or undefined when the whole batch succeeded: the first
 * record on a function error; the lowest reported item failure with `reportBatchItemFailures`; an
 * identifier that is not in the batch (or a malformed list) fails the whole batch, as with Lambda.
 *
 * @example failedOffset(records, true, { ok: true, response: { batchItemFailures: [{ itemIdentifier: '7' }] } }) // 7
 */
export function failedOffset(
  records: readonly FetchedRecord[],
  reportBatchItemFailures: boolean,
  outcome: InvokeOutcome,
): number | undefined {
  const first = (records[0] as FetchedRecord).offset;
  if (!outcome.ok) return first;
  if (!reportBatchItemFailures) return undefined;
  const failures = (outcome.response as { batchItemFailures?: unknown } | null | undefined)
    ?.batchItemFailures;
  if (failures === undefined || failures === null) return undefined;
  if (!Array.isArray(failures)) return first;
  if (failures.length === 0) return undefined;
  const offsets = new Set(records.map((r) => r.offset));
  let lowest = Number.POSITIVE_INFINITY;
  for (const failure of failures) {
    const id = Number((failure as { itemIdentifier?: unknown } | null)?.itemIdentifier);
    if (!offsets.has(id)) return first;
    lowest = Math.min(lowest, id);
  }
  return lowest;
}

/**
 * How many records at the start of `records` were appended before `oldest` (by append time: a
 * producer's timestamp may be far in the past or the future).
 */
export function expiredCount(records: readonly FetchedRecord[], oldest: number): number {
  let count = 0;
  while (count < records.length && (records[count] as FetchedRecord).appendTime < oldest) count++;
  return count;
}

/** A delivered batch whose outputs wait for the group's offset to pass all of its records. */
export interface PendingBatch<T> {
  readonly minOffset: number;
  readonly maxOffset: number;
  readonly outputs: readonly T[];
}

/**
 * How far the group's offset may move: to `lowestUndone` (the lowest offset not yet delivered or
 * given up), but never into the middle of a batch whose outputs are still pending. Outputs are
 * committed in the same transaction as the offset that passes their whole batch, so a batch that a
 * crash makes the dispatcher deliver again never had its outputs committed: each is appended once.
 * Returns the offset and the batches it passes (their outputs, in offset order).
 *
 * @example commitPoint(10, [{ minOffset: 4, maxOffset: 12, outputs: [] }]) // { to: 4, passed: [] }
 */
export function commitPoint<T>(
  lowestUndone: number,
  pending: readonly PendingBatch<T>[],
): { to: number; passed: PendingBatch<T>[] } {
  let to = lowestUndone;
  for (let changed = true; changed; ) {
    changed = false;
    for (const batch of pending) {
      if (batch.minOffset < to && batch.maxOffset >= to) {
        to = batch.minOffset;
        changed = true;
      }
    }
  }
  const passed = pending.filter((b) => b.maxOffset < to).sort((a, b) => a.minOffset - b.minOffset);
  return { to, passed };
}
