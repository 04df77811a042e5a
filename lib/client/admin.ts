import type { OffsetSpec, ResetTarget } from '../core/types.ts';
import { type RetryOptions, withRetry } from './retry.ts';
import type {
  CreateTopicRequest,
  GroupPartitionOffset,
  ResetOffsetsResult,
  TopicDescription,
  TopicRecord,
  Transport,
} from './transport.ts';

/** A group's position on a topic, per partition and in total. */
export interface GroupDescription {
  readonly group: string;
  readonly topic: string;
  /** Partitions with a committed offset. */
  readonly partitions: readonly GroupPartitionOffset[];
  /** Records behind, summed over the partitions. */
  readonly lagRecords: number;
  /** The oldest unconsumed record's age over all partitions, in seconds; 0 when caught up. */
  readonly lagSeconds: number;
}

export interface ResetOffsetsOptions {
  readonly group: string;
  readonly topic: string;
  readonly to: ResetTarget;
  /** @default every partition */
  readonly partitions?: readonly number[];
  /** Reset even while the group has active members. @default false */
  readonly force?: boolean;
  /** Compute the new offsets, change nothing. @default false */
  readonly dryRun?: boolean;
}

/**
 * Topics, offsets and groups: Kafka's AdminClient, `kafka-topics` and `kafka-consumer-groups`.
 * Retryable failures are retried with backoff (a create or delete whose answer was lost may then
 * answer TopicAlreadyExists or UnknownTopic).
 *
 * @example
 * const admin = client.admin();
 * await admin.createTopic({ name: 'orders', partitions: 8, config: { retentionMs: 86_400_000 } });
 * const { lagRecords, lagSeconds } = await admin.describeGroup('billing', 'orders');
 */
export class Admin {
  private readonly transport: Transport;
  private readonly retry: RetryOptions;

  /** Use `client.admin()`; this constructor is for a transport of your own. */
  constructor(transport: Transport, options: { readonly retry?: RetryOptions } = {}) {
    this.transport = transport;
    this.retry = options.retry ?? {};
  }

  private call<T>(work: () => Promise<T>): Promise<T> {
    return withRetry(work, this.retry);
  }

  /**
   * Creates a topic. TopicAlreadyExistsError if the name is taken.
   *
   * @example
   * await admin.createTopic({ name: 'orders', partitions: 3, config: { compression: 'zstd' } });
   */
  createTopic(request: CreateTopicRequest): Promise<TopicRecord> {
    return this.call(() => this.transport.createTopic(request));
  }

  /**
   * Every topic.
   *
   * @example
   * const names = (await admin.listTopics()).map((t) => t.name);
   */
  listTopics(): Promise<TopicRecord[]> {
    return this.call(() => this.transport.listTopics());
  }

  /**
   * A topic with each partition's log start offset and high watermark. UnknownTopicError.
   *
   * @example
   * const { partitionStates } = await admin.describeTopic('orders');
   */
  describeTopic(topic: string): Promise<TopicDescription> {
    return this.call(() => this.transport.describeTopic(topic));
  }

  /**
   * Deletes a topic and its data. UnknownTopicError.
   *
   * @example
   * await admin.deleteTopic('scratch');
   */
  deleteTopic(topic: string): Promise<void> {
    return this.call(() => this.transport.deleteTopic(topic));
  }

  /**
   * Kafka's ListOffsets: `earliest` (the log start), `latest` (the high watermark), or the first offset
   * whose timestamp is at or after `{ timestamp }` (null when there is none), for one partition or all.
   *
   * @example
   * const ends = await admin.listOffsets('orders', 'latest'); // Map { 0 => 120, 1 => 98, ... }
   */
  async listOffsets(
    topic: string,
    spec: OffsetSpec,
    partitions?: readonly number[],
  ): Promise<Map<number, number | null>> {
    const which = partitions ?? (await this.describeTopic(topic)).partitionStates.map((p) => p.partition);
    const offsets = await Promise.all(
      which.map(async (p) => [p, await this.call(() => this.transport.listOffsets(topic, p, spec))] as const),
    );
    return new Map(offsets);
  }

  /**
   * Kafka's DeleteRecords: records below `before` (−1: the high watermark) leave the partition.
   *
   * @example
   * const { logStartOffset } = await admin.deleteRecords('orders', 0, 1_000);
   */
  deleteRecords(topic: string, partition: number, before: number): Promise<{ logStartOffset: number }> {
    return this.call(() => this.transport.deleteRecords(topic, partition, before));
  }

  /**
   * Every consumer group that committed or joined.
   *
   * @example
   * console.log(await admin.listGroups()); // ['billing', 'search']
   */
  listGroups(): Promise<string[]> {
    return this.call(() => this.transport.listGroups());
  }

  /**
   * A group's committed offsets on a topic with its lag, in records and in seconds (by append time),
   * per partition and in total. UnknownGroupError if the group never committed or joined.
   *
   * @example
   * const { partitions, lagRecords, lagSeconds } = await admin.describeGroup('billing', 'orders');
   */
  async describeGroup(group: string, topic: string): Promise<GroupDescription> {
    const partitions = await this.call(() => this.transport.groupOffsets(group, topic));
    return {
      group,
      topic,
      partitions,
      lagRecords: partitions.reduce((sum, p) => sum + p.lagRecords, 0),
      lagSeconds: partitions.reduce((max, p) => Math.max(max, p.lagSeconds), 0),
    };
  }

  /**
   * Kafka's `kafka-consumer-groups --reset-offsets`: moves a group's offsets to `earliest`, `latest`,
   * `{ timestamp }` or `{ offset }`. GroupActiveError while the group has live members, unless `force`.
   *
   * @example
   * await admin.resetOffsets({ group: 'billing', topic: 'orders', to: 'earliest', dryRun: true });
   */
  resetOffsets(options: ResetOffsetsOptions): Promise<ResetOffsetsResult> {
    return this.call(() => this.transport.resetOffsets(options));
  }
}
