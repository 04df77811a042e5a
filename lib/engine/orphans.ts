import { objectIdOf, topicPrefix } from '../core/object-keys.ts';
import type { StoredObject } from '../core/ports.ts';
import type { EngineContext } from './context.ts';

/**
 * Segment objects of a topic that no index entry points to and that are older than `olderThanMs`
 * (younger ones may belong to a produce call still committing). These come from producers that
 * died between the S3 PUT and the commit, or from calls whose every batch was a duplicate.
 * For later cleanup by a sweeper; nothing here deletes.
 */
export async function findOrphanSegments(
  ctx: EngineContext,
  topicName: string,
  olderThanMs: number,
): Promise<StoredObject[]> {
  const topic = await ctx.topic(topicName, true);
  const prefix = topicPrefix(topic.name, topic.id);
  const cutoff = ctx.now() - olderThanMs;
  // List first, then read the index: an object committed in between is then seen as referenced.
  const candidates: StoredObject[] = [];
  for await (const object of ctx.objects.list(prefix)) {
    if (object.lastModified.getTime() <= cutoff) candidates.push(object);
  }
  const referenced = new Set<string>();
  const heads = await ctx.index.readHeads(topic.id, topic.partitions);
  for (const head of heads) {
    const ref = { topic: topic.name, topicId: topic.id, partition: head.partition };
    for await (const entry of ctx.index.entriesFrom(ref, head.logStartOffset, head))
      referenced.add(entry.objectId);
    for (const entry of head.tail) referenced.add(entry.objectId);
  }
  return candidates.filter((object) => {
    const id = objectIdOf(prefix, object.key);
    return id !== undefined && !referenced.has(id);
  });
}
