import { segmentKey } from '../core/object-keys.ts';
import type { TopicRecord } from '../core/types.ts';
import type { EngineContext } from './context.ts';

const RECORDS_PER_READ = 25;

/**
 * Deletes the objects compaction retired more than `graceMs` ago (docs/design.md §9). A swap
 * records the compactor objects it stopped referencing in the same transaction; each such object
 * held exactly one batch, named by exactly one entry, so nothing references it once the swap is
 * done. The grace outlasts any fetch that read the old page before the swap. Pending records name
 * objects a run wrote whose swap never happened (it lost, or the sweep died); they are claimed
 * before anything is deleted, which makes a swap still coming fail. A record is forgotten only
 * after its objects are deleted, so a sweep that dies in between deletes them again.
 *
 * @example
 * await deleteRetired(ctx, topic, 3_600_000, Date.now() + 60_000); // objects deleted
 */
export async function deleteRetired(
  ctx: EngineContext,
  topic: TopicRecord,
  graceMs: number,
  deadline: number,
): Promise<number> {
  let deleted = 0;
  while (ctx.now() < deadline) {
    const records = await ctx.index.readRetired(topic.id, ctx.now() - graceMs, RECORDS_PER_READ);
    for (const record of records) {
      // A pending record is claimed first: its swap, if still coming, then fails.
      if (record.pending && !(await ctx.index.claimPending(topic.id, record.id))) continue;
      await ctx.objects.deleteMany(record.objectIds.map((id) => segmentKey(topic.name, topic.id, id)));
      await ctx.index.forgetRetired(topic.id, record.id);
      deleted += record.objectIds.length;
    }
    if (records.length < RECORDS_PER_READ) break;
  }
  return deleted;
}
