import {
  isCompactedObject,
  objectIdFloor,
  objectIdOf,
  objectTime,
  topicPrefix,
} from '../core/object-keys.ts';
import type { GcState, PartitionRef } from '../core/ports.ts';
import { COMMIT_LIMIT_MS } from '../core/retention.ts';
import type { TopicRecord } from '../core/types.ts';
import { isCompacted } from '../core/validation.ts';
import type { EngineContext } from './context.ts';
import { mapLimit } from './context.ts';
import { entriesFrom } from './fetch.ts';
import { COMPACTION_SETTLE_MS } from './swap.ts';

/** Object time covered by one collection window. */
export const COLLECT_WINDOW_MS = 10 * 60 * 1000;

export interface CollectOptions {
  /** Objects younger than this are never considered (≥ the commit limit, see retention.ts). */
  readonly graceMs: number;
  /** No new window is started after this time (ms). */
  readonly deadline: number;
}

/**
 * Orphan collection (docs/design.md §9): deletes the topic's segment objects that no live entry
 * references — produces that died between their PUT and their commit, calls whose batches were all
 * duplicates — also on topics kept forever, where the retention rule never reaches them.
 *
 * Windows of object creation time are verified in order. Entries referencing an object of window
 * [w, e) were committed within `grace` of its creation, and offsets follow commit order, so they lie
 * between a partition's cursor and its first entry appended at or after e + grace. Those entries are
 * read (once over the partition's life: each window starts where the last one left its cursor), the
 * window's objects are listed (they are contiguous in key order), and the ones no entry named are
 * deleted. Entries below the log start do not count: their objects are unreferenced.
 *
 * @example
 * await collectOrphans(ctx, topic, { graceMs: 3_600_000, deadline: Date.now() + 60_000 });
 */
export async function collectOrphans(
  ctx: EngineContext,
  topic: TopicRecord,
  options: CollectOptions,
): Promise<number> {
  const now = ctx.now();
  let seen = await ctx.index.readGcState(topic.id);
  let state: GcState = seen ?? {
    through: topic.createdAt - options.graceMs,
    cursors: Array.from({ length: topic.partitions }, () => 0),
  };
  let deleted = 0;
  const keyed = isCompacted(topic.config);
  while (ctx.now() < options.deadline) {
    // Whole windows only (one listing each), once their batches could have been compacted: the
    // objects compaction replaces are then already unreferenced when the window is verified.
    const end = state.through + COLLECT_WINDOW_MS;
    if (end > now - Math.max(options.graceMs, COMMIT_LIMIT_MS + COMPACTION_SETTLE_MS)) break;
    // A compacted topic moves every batch into compactor objects when it cleans it: its windows
    // wait until the entries that can name them are cleaned, then none of its objects is named.
    if (keyed && end + options.graceMs > (state.cleanedUntil ?? Number.NEGATIVE_INFINITY)) break;
    const window = await referencesIn(ctx, topic, state, end, options.graceMs);
    if (window === undefined) break; // the topic is being deleted
    deleted += await deleteUnreferenced(ctx, topic, state.through, end, window.referenced);
    const next: GcState = { ...state, through: end, cursors: window.cursors };
    if (!(await ctx.index.writeGcState(topic.id, seen, next))) break; // another sweep is ahead
    seen = next;
    state = next;
  }
  return deleted;
}

/** Object ids of window [state.through, end) named by live entries, and each partition's next cursor. */
async function referencesIn(
  ctx: EngineContext,
  topic: TopicRecord,
  state: GcState,
  end: number,
  graceMs: number,
): Promise<{ referenced: Set<string>; cursors: number[] } | undefined> {
  const referenced = new Set<string>();
  const partitions = Array.from({ length: topic.partitions }, (_, p) => p);
  const cursors = await mapLimit(partitions, 8, async (partition) => {
    const ref: PartitionRef = { topic: topic.name, topicId: topic.id, partition };
    const head = await ctx.index.readHead(ref);
    if (head === undefined) return undefined;
    const from = Math.max(state.cursors[partition] ?? 0, head.logStartOffset);
    if (from >= head.highWatermark) return head.highWatermark;
    // The next cursor: no entry below it may name an object of a later window.
    let later: number | undefined;
    for await (const entry of entriesFrom(ctx, ref, from, head)) {
      const created = objectTime(entry.objectId);
      const produced = !isCompactedObject(entry.objectId);
      if (produced && created >= state.through && created < end) referenced.add(entry.objectId);
      if (produced && created >= end) later ??= Math.max(from, entry.baseOffset);
      // From here on every entry was committed after the window's objects could be.
      if (entry.appendTime >= end + graceMs) return later ?? Math.max(from, entry.baseOffset);
    }
    // Whatever commits from now on names objects created after `end` (end ≤ now − grace).
    return later ?? head.highWatermark;
  });
  if (cursors.some((c) => c === undefined)) return undefined;
  return { referenced, cursors: cursors as number[] };
}

async function deleteUnreferenced(
  ctx: EngineContext,
  topic: TopicRecord,
  from: number,
  end: number,
  referenced: ReadonlySet<string>,
): Promise<number> {
  const prefix = topicPrefix(topic.name, topic.id);
  const stop = objectIdFloor(end);
  const doomed: string[] = [];
  for await (const object of ctx.objects.list(prefix, `${prefix}${objectIdFloor(from)}`)) {
    const id = objectIdOf(prefix, object.key);
    if (id === undefined) continue; // not a segment
    if (id >= stop) break;
    // The compactor's objects hold batches at old offsets: commit order says nothing of them. They
    // go by the retention rule (their entries keep the append times of what they replaced).
    if (isCompactedObject(id)) continue;
    if (!referenced.has(id)) doomed.push(object.key);
  }
  await ctx.objects.deleteMany(doomed);
  return doomed.length;
}
