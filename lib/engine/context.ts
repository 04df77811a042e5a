import { UnknownPartitionError, UnknownTopicError } from '../core/errors.ts';
import type {
  GroupStore,
  LeaseStore,
  ObjectStore,
  PartitionIndex,
  PartitionRef,
  ProducerRegistry,
  TopicStore,
} from '../core/ports.ts';
import type { TopicRecord } from '../core/types.ts';
import { validateNonNegativeInt, validateTopicName } from '../core/validation.ts';
import { BatchCache } from './batch-cache.ts';

/** What the engine is built from: ports, a clock, and tuning. */
export interface EngineDeps {
  readonly objects: ObjectStore;
  readonly topics: TopicStore;
  readonly index: PartitionIndex;
  readonly groups: GroupStore;
  readonly leases: LeaseStore;
  readonly producers: ProducerRegistry;
  /** @default Date.now */
  readonly now?: () => number;
  /** How long topic metadata is cached per process, in ms. Safe: appends check the topic id. @default 5000 */
  readonly topicCacheMs?: number;
  /** Parallel ranged GETs per fetch. @default 8 */
  readonly fetchConcurrency?: number;
  /** Decoded batches kept in memory for readers that step through a batch. @default 32 MiB */
  readonly batchCacheBytes?: number;
}

/** Shared state of one engine instance. */
export class EngineContext {
  readonly objects: ObjectStore;
  readonly topics: TopicStore;
  readonly index: PartitionIndex;
  readonly groups: GroupStore;
  readonly leases: LeaseStore;
  readonly producers: ProducerRegistry;
  readonly now: () => number;
  readonly fetchConcurrency: number;
  readonly batches: BatchCache;
  private readonly topicCacheMs: number;
  private readonly cache = new Map<string, { topic: TopicRecord; at: number }>();

  constructor(deps: EngineDeps) {
    this.objects = deps.objects;
    this.topics = deps.topics;
    this.index = deps.index;
    this.groups = deps.groups;
    this.leases = deps.leases;
    this.producers = deps.producers;
    this.now = deps.now ?? Date.now;
    this.topicCacheMs = deps.topicCacheMs ?? 5000;
    this.fetchConcurrency = deps.fetchConcurrency ?? 8;
    this.batches = new BatchCache(deps.batchCacheBytes ?? 32 * 1024 * 1024);
  }

  /** The topic, from the cache when fresh; `fresh` forces a read. Throws UnknownTopicError. */
  async topic(name: string, fresh = false): Promise<TopicRecord> {
    validateTopicName(name);
    const cached = this.cache.get(name);
    if (!fresh && cached !== undefined && this.now() - cached.at < this.topicCacheMs) return cached.topic;
    const topic = await this.topics.get(name);
    if (topic === undefined) {
      this.cache.delete(name);
      throw new UnknownTopicError(name);
    }
    this.cache.set(name, { topic, at: this.now() });
    return topic;
  }

  forget(name: string): void {
    this.cache.delete(name);
  }

  /** Validates `partition` against the topic and returns its ref. */
  partitionRef(topic: TopicRecord, partition: unknown): PartitionRef {
    validateNonNegativeInt(partition, 'partition');
    if ((partition as number) >= topic.partitions) {
      throw new UnknownPartitionError(topic.name, partition as number, topic.partitions);
    }
    return { topic: topic.name, topicId: topic.id, partition: partition as number };
  }
}

/**
 * Runs `work` with the cached topic; if the topic turns out to be gone or replaced (its partition
 * heads are missing), retries once with a fresh read.
 */
export async function withTopic<T>(
  ctx: EngineContext,
  name: string,
  work: (topic: TopicRecord) => Promise<T>,
): Promise<T> {
  const topic = await ctx.topic(name);
  try {
    return await work(topic);
  } catch (error) {
    if (!(error instanceof UnknownTopicError)) throw error;
    ctx.forget(name);
    const fresh = await ctx.topic(name, true);
    if (fresh.id === topic.id) throw error;
    return await work(fresh);
  }
}

/** Runs `work` over items with at most `limit` in flight, keeping result order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i] as T, i);
      }
    }),
  );
  return results;
}
