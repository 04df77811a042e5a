import { UnknownTopicError } from '../core/errors.ts';
import { topicPrefix } from '../core/object-keys.ts';
import type { DeletingTopic } from '../core/ports.ts';
import type { TopicRecord } from '../core/types.ts';
import type { EngineContext } from './context.ts';

/**
 * How long after a deletion began its data is removed: appends that committed just before the fence
 * may still be paging their tail out, and must be done before the pages are deleted.
 */
export const DELETION_SETTLE_MS = 60_000;

/**
 * Deletes a topic (docs/design.md §9): a tombstone first (so an interrupted delete is finished by
 * the sweep), then every partition head is fenced (no append can land from then on: an engine with
 * the topic cached gets UnknownTopic, re-reads, and finds the re-created topic or none), then the
 * topic record goes and the name is free. The data is removed by the sweep once the deletion has
 * settled, however large the topic; re-creating the name at any moment is safe (a new topic id).
 *
 * @example
 * await deleteTopic(ctx, 'orders');
 */
export async function deleteTopic(ctx: EngineContext, name: string): Promise<void> {
  const topic = await ctx.topic(name, true);
  await ctx.topics.markDeleting(topic, ctx.now());
  await retire(ctx, topic);
}

/** Fences the heads and removes the record (if it is still this incarnation's). Idempotent. */
async function retire(ctx: EngineContext, topic: TopicRecord): Promise<void> {
  await ctx.index.fencePartitions(topic.id, topic.partitions);
  if (!(await ctx.topics.delete(topic.name, topic.id))) {
    // Someone else's delete, or ours whose response was lost: this incarnation's record is gone
    // either way unless the stored one still has our id.
    const stored = await ctx.topics.get(topic.name);
    if (stored?.id === topic.id) throw new UnknownTopicError(topic.name);
  }
  ctx.forget(topic.name);
}

/**
 * Finishes deletions: fences and record again (a delete may have died between the steps), then,
 * once settled, index items and objects. Returns the incarnations finished; stops at `deadline`.
 */
export async function finishDeletions(ctx: EngineContext, deadline: number): Promise<string[]> {
  const finished: string[] = [];
  for (const topic of await ctx.topics.listDeleting()) {
    if (ctx.now() > deadline) break;
    await retire(ctx, topic);
    if (ctx.now() - topic.since < DELETION_SETTLE_MS) continue;
    if (await removeData(ctx, topic, deadline)) {
      await ctx.topics.clearDeleting(topic.id);
      finished.push(topic.id);
    }
  }
  return finished;
}

async function removeData(ctx: EngineContext, topic: DeletingTopic, deadline: number): Promise<boolean> {
  if (!(await ctx.index.deletePartitions(topic.id, topic.partitions, deadline))) return false;
  const keys: string[] = [];
  for await (const object of ctx.objects.list(topicPrefix(topic.name, topic.id))) {
    keys.push(object.key);
    if (keys.length === 1000) {
      await ctx.objects.deleteMany(keys.splice(0));
      if (ctx.now() > deadline) return false;
    }
  }
  await ctx.objects.deleteMany(keys);
  return true;
}
