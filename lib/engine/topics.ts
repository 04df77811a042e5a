import { InvalidArgumentError, TopicAlreadyExistsError } from '../core/errors.ts';
import { newTopicId } from '../core/object-keys.ts';
import type { TopicDescription, TopicRecord } from '../core/types.ts';
import { resolveTopicConfig, validatePartitionCount, validateTopicName } from '../core/validation.ts';
import type { EngineContext } from './context.ts';

export interface CreateTopicInput {
  readonly name: string;
  readonly partitions: number;
  readonly config?: unknown;
}

/**
 * Creates a topic: the partition heads are written first under a fresh topic id, then the topic
 * record is put conditionally — the commit point. A crash in between leaves heads that no topic
 * points to (harmless); a name already taken is a TopicAlreadyExistsError.
 */
export async function createTopic(ctx: EngineContext, input: CreateTopicInput): Promise<TopicRecord> {
  if (input === null || typeof input !== 'object')
    throw new InvalidArgumentError('the topic must be an object');
  const topic: TopicRecord = {
    name: validateTopicName(input.name, 'name'),
    partitions: validatePartitionCount(input.partitions),
    config: resolveTopicConfig(input.config ?? {}),
    id: newTopicId(),
    createdAt: ctx.now(),
  };
  // Checked first so a duplicate create writes no heads; the conditional put below still decides.
  if ((await ctx.topics.get(topic.name)) !== undefined) throw new TopicAlreadyExistsError(topic.name);
  await ctx.index.createPartitions(topic.id, topic.partitions);
  try {
    await ctx.topics.create(topic);
  } catch (error) {
    // The put may have succeeded with its response lost (an SDK retry then fails the condition):
    // the record with our id is the truth.
    const stored = await ctx.topics.get(topic.name).catch(() => undefined);
    if (stored?.id === topic.id) {
      ctx.forget(topic.name);
      return stored;
    }
    if (stored !== undefined) await ctx.index.deletePartitions(topic.id, topic.partitions).catch(() => {});
    throw error;
  }
  ctx.forget(topic.name);
  return topic;
}

export async function describeTopic(ctx: EngineContext, name: string): Promise<TopicDescription> {
  const topic = await ctx.topic(name, true);
  const heads = await ctx.index.readHeads(topic.id, topic.partitions);
  return {
    ...topic,
    partitionStates: heads.map((head) => ({
      partition: head.partition,
      logStartOffset: head.logStartOffset,
      highWatermark: head.highWatermark,
    })),
  };
}

export async function listTopics(ctx: EngineContext): Promise<TopicRecord[]> {
  const topics = await ctx.topics.list();
  return topics.sort((a, b) => a.name.localeCompare(b.name));
}
