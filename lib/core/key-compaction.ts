import type { LogRecord } from './segment/index.ts';
import type { TopicConfig } from './types.ts';
import { DEFAULT_TOPIC_CONFIG } from './validation.ts';

/*
 * Key compaction's decisions (docs/design.md §9), pure. A partition's log is split at its cleaned
 * offset: below it every key appears at most once; above it (the dirty part) records arrive as
 * appended. A pass reads the dirty part's keys into a map of key → latest offset, then rewrites
 * the whole log from the log start through the dirty part's end, keeping a record only if no later
 * record of its key exists there, and dropping tombstones older than deleteRetentionMs.
 */

/** The settings key compaction works by, defaults filled. */
export interface CompactionSettings {
  readonly deleteRetentionMs: number;
  readonly minCompactionLagMs: number;
  readonly minCleanableDirtyRatio: number;
}

/** @example compactionSettings(topic.config).deleteRetentionMs // 86400000 */
export function compactionSettings(config: TopicConfig): CompactionSettings {
  const defaults = DEFAULT_TOPIC_CONFIG as Required<TopicConfig>;
  return {
    deleteRetentionMs: config.deleteRetentionMs ?? defaults.deleteRetentionMs,
    minCompactionLagMs: config.minCompactionLagMs ?? defaults.minCompactionLagMs,
    minCleanableDirtyRatio: config.minCleanableDirtyRatio ?? defaults.minCleanableDirtyRatio,
  };
}

/**
 * A map key for record keys: one char per byte (latin1 is a bijection on bytes).
 *
 * @example keyId(new TextEncoder().encode('user-7')) // 'user-7'
 */
export function keyId(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

/**
 * Whether a pass is due: the dirty part is at least `ratio` of the partition's bytes (Kafka's
 * min.cleanable.dirty.ratio), and not empty.
 *
 * @example dirtyEnough(1000, 1000, 0.5) // true
 */
export function dirtyEnough(cleanBytes: number, dirtyBytes: number, ratio: number): boolean {
  return dirtyBytes > 0 && dirtyBytes >= ratio * (cleanBytes + dirtyBytes);
}

/**
 * Whether the record at `offset` survives: it has a key, no later record of its key is in
 * `latest` (key → its latest offset in the dirty part), and it is not a tombstone appended before
 * `tombstonesBefore`. Records without a key cannot be compacted by key and are dropped (as Kafka).
 *
 * @example keepRecord(record, 7, new Map([[keyId(record.key), 9]]), 0, 0) // false: offset 9 replaces it
 */
export function keepRecord(
  record: LogRecord,
  offset: number,
  latest: ReadonlyMap<string, number>,
  appendTime: number,
  tombstonesBefore: number,
): boolean {
  if (record.key === null) return false;
  const newest = latest.get(keyId(record.key));
  if (newest !== undefined && newest > offset) return false;
  return record.value !== null || appendTime >= tombstonesBefore;
}
