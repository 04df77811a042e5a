import type { Compression, LogRecord } from './segment/index.ts';

export type { Compression, LogRecord };

/** Per-topic configuration, stored with the topic. */
export interface TopicConfig {
  /** How long records are kept, in ms; -1 keeps them forever. @default 604_800_000 (7 days, as Kafka) */
  readonly retentionMs: number;
  /** Size bound per partition in bytes; -1 means unbounded. @default -1 (as Kafka) */
  readonly retentionBytes: number;
  /** Largest accepted record (key + value + headers) in bytes. @default 1_048_576 */
  readonly maxRecordBytes: number;
  /** Compression of each stored batch. @default 'none' */
  readonly compression: Compression;
  /**
   * The size small batches are compacted into: the sweep rewrites runs of batches smaller than a
   * quarter of it into single-partition objects of about this size; -1 turns compaction off.
   * @default 8_388_608 (8 MiB)
   */
  readonly targetObjectBytes?: number;
  /**
   * Kafka's cleanup.policy: "delete" lets records go by `retentionMs`/`retentionBytes`; "compact"
   * keeps the latest record of every key (retention settings then apply to nothing); "compact,delete"
   * does both. A compacted topic refuses records without a key.
   * @default 'delete'
   */
  readonly cleanupPolicy?: CleanupPolicy;
  /** How long a tombstone (a record with a null value) stays after it was appended, in ms. @default 86_400_000 (1 day) */
  readonly deleteRetentionMs?: number;
  /** Records appended less than this long ago are never compacted away, in ms. @default 0 */
  readonly minCompactionLagMs?: number;
  /**
   * Compaction runs once the uncompacted part of a partition is at least this share of its bytes
   * (Kafka's min.cleanable.dirty.ratio), between 0 and 1. @default 0.5
   */
  readonly minCleanableDirtyRatio?: number;
}

export type CleanupPolicy = 'delete' | 'compact' | 'compact,delete';

/** A topic as stored. `id` changes when a topic is deleted and created again. */
export interface TopicRecord {
  readonly name: string;
  readonly id: string;
  readonly partitions: number;
  readonly config: TopicConfig;
  readonly createdAt: number;
}

export interface PartitionState {
  readonly partition: number;
  readonly logStartOffset: number;
  readonly highWatermark: number;
}

export interface TopicDescription extends TopicRecord {
  readonly partitionStates: readonly PartitionState[];
}

/** One record handed to produce. */
export interface ProduceRecord {
  readonly key?: Uint8Array | null;
  /** Null is a tombstone: on a topic with cleanupPolicy "compact", it deletes the key. */
  readonly value: Uint8Array | null;
  /** True when `value` holds UTF-8 JSON text that should come back as JSON. @default false */
  readonly valueIsJson?: boolean;
  readonly headers?: ReadonlyArray<readonly [string, Uint8Array]>;
  /** An explicit partition; otherwise the key decides (murmur2), else a sticky partition per call. */
  readonly partition?: number;
  /** @default the time of the call */
  readonly timestamp?: number;
}

/**
 * Kafka's idempotent producer identity. `sequences` holds, for each partition the call writes to,
 * the sequence number of the call's first record in that partition (the number of records this
 * producer has appended there before, under this epoch). A plain number is the sequence of a call
 * that writes to exactly one partition.
 */
export interface ProducerIdentity {
  readonly producerId: string;
  readonly epoch: number;
  readonly sequences: Readonly<Record<number, number>> | number;
}

export interface ProduceRequest {
  readonly topic: string;
  readonly records: readonly ProduceRecord[];
  readonly producer?: ProducerIdentity;
}

export interface RecordOffset {
  readonly partition: number;
  readonly offset: number;
}

export interface ProduceResult {
  /** One entry per input record, in request order. */
  readonly offsets: readonly RecordOffset[];
  /** The segment object the call wrote. */
  readonly objectKey: string;
  /** True for partitions whose batch was a retried duplicate (offsets are the original ones). */
  readonly duplicatePartitions: readonly number[];
}

/** A produce call whose records a client already encoded as a segment object (segment.ts). */
export interface SegmentProduceRequest {
  readonly topic: string;
  /** A segment object: one dense batch per partition, each with its records in order. */
  readonly segment: Uint8Array;
  /** Kafka's idempotent producer identity; `sequences` gives each batch's first sequence. */
  readonly producer?: ProducerIdentity;
}

/** Where one batch of a produce call landed: record i is at `baseOffset + i`. */
export interface AppendedBatch {
  readonly partition: number;
  readonly baseOffset: number;
  readonly recordCount: number;
  /** A retried duplicate of a batch already appended (its offsets are the original ones). */
  readonly duplicate: boolean;
}

export interface SegmentProduceResult {
  /** One per batch, in the segment's batch order. */
  readonly batches: readonly AppendedBatch[];
  /** The segment object the call wrote. */
  readonly objectKey: string;
}

export interface FetchRequest {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** @default 500 (Kafka's max.poll.records) */
  readonly maxRecords?: number;
  /** Soft cap on key + value + header bytes; at least one record is returned. @default 1_048_576 */
  readonly maxBytes?: number;
}

/**
 * A fetched record. Its byte arrays may be shared with other fetches of the same batch (decoded
 * batches are cached): copy them before changing them.
 */
export interface FetchedRecord extends LogRecord {
  readonly offset: number;
  /**
   * When the record's batch was appended, by the appender's clock (Kafka's LogAppendTime): what record
   * age and arrival mean, unlike `timestamp`, which the producer chose.
   */
  readonly appendTime: number;
}

export interface FetchResult {
  readonly records: readonly FetchedRecord[];
  /** The offset to fetch next. */
  readonly nextOffset: number;
  readonly highWatermark: number;
  readonly logStartOffset: number;
}

export type OffsetSpec = 'earliest' | 'latest' | { readonly timestamp: number };

export interface OffsetCommit {
  readonly partition: number;
  readonly offset: number;
  readonly metadata?: string;
}

export interface CommitOffsetsRequest {
  readonly group: string;
  readonly topic: string;
  readonly offsets: readonly OffsetCommit[];
  /** Fencing token: a commit carrying a lower generation than the stored one is rejected. */
  readonly generation?: number;
}

export interface CommittedOffset {
  readonly partition: number;
  readonly offset: number;
  readonly metadata: string;
  readonly generation: number;
  readonly committedAt: number;
  /** How many plain (unleased) commits the partition has had: a lease holder notices a reset by it. */
  readonly plainCommits?: number;
}

/**
 * Where a reset moves a group's offsets (kafka-consumer-groups --reset-offsets): `earliest` is the log
 * start, `latest` the high watermark, `{ timestamp }` the first offset whose record timestamp is ≥ it
 * (the high watermark when there is none), `{ offset }` that offset, clamped to [log start, high
 * watermark].
 */
export type ResetTarget =
  | 'earliest'
  | 'latest'
  | { readonly timestamp: number }
  | { readonly offset: number };

export interface ResetOffsetsRequest {
  readonly group: string;
  readonly topic: string;
  readonly to: ResetTarget;
  /** @default every partition of the topic */
  readonly partitions?: readonly number[];
  /** Reset even while the group has active members or a running consumer function. @default false */
  readonly force?: boolean;
  /** Compute the new offsets, change nothing. @default false */
  readonly dryRun?: boolean;
}

export interface ResetPartition {
  readonly partition: number;
  /** The committed offset before the reset; null when the partition had none. */
  readonly previousOffset: number | null;
  readonly offset: number;
}

export interface ResetOffsetsResult {
  readonly group: string;
  readonly topic: string;
  /** True when nothing was changed. */
  readonly dryRun: boolean;
  /** The new offsets, by partition. */
  readonly offsets: readonly ResetPartition[];
}
