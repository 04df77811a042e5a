import type { IndexEntry, PendingEntry } from './index-entry.ts';
import type { ProducerBatch } from './producer-state.ts';
import type { CommitOffsetsRequest, CommittedOffset, TopicRecord } from './types.ts';

/**
 * The ports the engine needs. Adapters (S3, DynamoDB) implement them with injected clients;
 * nothing here knows about the AWS SDK.
 */

export interface StoredObject {
  readonly key: string;
  readonly size: number;
  readonly lastModified: Date;
}

export interface ObjectStore {
  /** Writes a new object; never overwrites one. */
  put(key: string, body: Uint8Array): Promise<void>;
  /** Reads `length` bytes at `offset` (a ranged GET). */
  getRange(key: string, offset: number, length: number): Promise<Uint8Array>;
  list(prefix: string): AsyncIterable<StoredObject>;
  deleteMany(keys: readonly string[]): Promise<void>;
}

export interface TopicStore {
  /** Stores a new topic; throws TopicAlreadyExistsError if the name is taken. */
  create(topic: TopicRecord): Promise<void>;
  get(name: string): Promise<TopicRecord | undefined>;
  list(): Promise<TopicRecord[]>;
  /** Removes the topic record if it still has this id; returns false if it was not there. */
  delete(name: string, id: string): Promise<boolean>;
}

export interface PartitionRef {
  /** The topic's name (for messages) and its id (for keys). */
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
}

/** What a head read returns: offsets and the entries not yet moved to index pages. */
export interface PartitionHead {
  readonly partition: number;
  readonly logStartOffset: number;
  readonly highWatermark: number;
  /** Entries at the tail of the log still held in the head item, with their offsets. */
  readonly tail: readonly IndexEntry[];
  /** The first offset held by `tail` (== highWatermark when it is empty). */
  readonly tailBase: number;
}

export type AppendOutcome =
  | { readonly kind: 'appended'; readonly baseOffset: number }
  | { readonly kind: 'duplicate'; readonly baseOffset: number };

export interface PartitionIndex {
  /** Creates the partitions' heads (empty logs). Idempotent. */
  createPartitions(topicId: string, partitions: number): Promise<void>;
  /** Removes heads and index pages of every partition. */
  deletePartitions(topicId: string, partitions: number): Promise<void>;
  /**
   * Atomically assigns the next `entry.recordCount` offsets of the partition to `entry`.
   * Throws UnknownTopicError when the partition head is gone (topic deleted), or the producer
   * errors of {@link ProducerBatch} rules.
   */
  append(ref: PartitionRef, entry: PendingEntry, producer?: ProducerBatch): Promise<AppendOutcome>;
  /** A strongly consistent read of one head; undefined when the partition does not exist. */
  readHead(ref: PartitionRef): Promise<PartitionHead | undefined>;
  readHeads(topicId: string, partitions: number): Promise<PartitionHead[]>;
  /**
   * Entries below `head.tailBase`, ascending, starting with the one that holds `offset`.
   * Entries may repeat across pages; callers skip what they have passed.
   */
  entriesFrom(ref: PartitionRef, offset: number, head: PartitionHead): AsyncIterable<IndexEntry>;
}

export interface GroupStore {
  commit(request: CommitOffsetsRequest): Promise<void>;
  fetch(group: string, topic: string): Promise<CommittedOffset[]>;
  /** Whether the group ever committed an offset. */
  exists(group: string): Promise<boolean>;
  /** Every group that ever committed an offset, by name. */
  list(): Promise<string[]>;
}
