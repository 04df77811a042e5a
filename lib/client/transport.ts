import type { Compression } from '../core/segment/index.ts';
import type {
  OffsetSpec,
  ProduceRecord,
  ProducerIdentity,
  RecordOffset,
  ResetOffsetsRequest,
  ResetOffsetsResult,
  TopicConfig,
  TopicDescription,
  TopicRecord,
} from '../core/types.ts';

export type {
  OffsetSpec,
  ProduceRecord,
  ProducerIdentity,
  RecordOffset,
  ResetOffsetsRequest,
  ResetOffsetsResult,
  TopicConfig,
  TopicDescription,
  TopicRecord,
};

/** A produce call as it goes on the wire: records with their bytes, each with an explicit partition. */
export interface TransportProduceRequest {
  readonly topic: string;
  readonly records: readonly ProduceRecord[];
  /** Kafka's idempotent producer identity; the call's first sequence per partition. */
  readonly producer?: ProducerIdentity;
  /** How a binary body compresses each partition's batch (Kafka's compression.type). @default 'none' */
  readonly compression?: Compression;
}

export interface TransportFetchRequest {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** @default 500 */
  readonly maxRecords?: number;
  /** Soft cap on key + value + header bytes; at least one record comes back. @default 1_048_576 */
  readonly maxBytes?: number;
  /**
   * Told where the next fetch starts as soon as the transport knows, before this fetch's records are
   * read (HttpTransport with batch references: before the GETs), so a reader can start it early.
   * Transports that learn it only with the records need not call it.
   */
  readonly onNextOffset?: (position: { readonly nextOffset: number; readonly highWatermark: number }) => void;
}

/**
 * A record as read. The byte arrays may be shared with other reads of the same batch: copy them
 * before changing them.
 */
export interface TransportRecord {
  readonly offset: number;
  /** The producer's timestamp (Kafka's CreateTime), ms since the epoch. */
  readonly timestamp: number;
  readonly key: Uint8Array | null;
  /** Null is a tombstone. */
  readonly value: Uint8Array | null;
  /** True when `value` is UTF-8 JSON text (produced as JSON). */
  readonly valueIsJson: boolean;
  readonly headers: ReadonlyArray<readonly [string, Uint8Array]>;
}

export interface TransportFetchResult {
  readonly records: readonly TransportRecord[];
  /** The offset to read next (past holes of a compacted log). */
  readonly nextOffset: number;
  readonly highWatermark: number;
  readonly logStartOffset: number;
}

export interface CreateTopicRequest {
  readonly name: string;
  readonly partitions: number;
  readonly config?: Partial<TopicConfig>;
}

/** One partition of a group's committed offsets, with how far the group is behind. */
export interface GroupPartitionOffset {
  readonly partition: number;
  /** The committed offset: the next record the group will consume. */
  readonly offset: number;
  readonly metadata: string;
  /** The partition's high watermark when it was read. */
  readonly highWatermark: number;
  /** Records behind: highWatermark − offset, never below 0. */
  readonly lagRecords: number;
  /** Age in seconds of the oldest record not consumed yet, by append time; 0 when caught up. */
  readonly lagSeconds: number;
}

export interface CommitRequest {
  readonly group: string;
  readonly topic: string;
  readonly offsets: readonly {
    readonly partition: number;
    readonly offset: number;
    readonly metadata?: string;
  }[];
  /** Fencing token: a commit with a lower generation than the stored one is StaleGeneration. */
  readonly generation?: number;
}

/** A partition a member holds, with the lease counter that fences its commits. */
export interface MemberAssignment {
  readonly partition: number;
  readonly leaseCounter: number;
}

export interface Membership {
  readonly memberId: string;
  readonly sessionTimeoutMs: number;
  /** Heartbeat at least this often to keep the partitions. */
  readonly heartbeatIntervalMs: number;
  readonly assignments: readonly MemberAssignment[];
}

export interface MemberCommitOffset {
  readonly partition: number;
  readonly offset: number;
  readonly metadata?: string;
  /** From the assignment; fences the commit. */
  readonly leaseCounter?: number;
}

/** What one call of a transport may carry; the producer cuts its requests to fit. */
export interface TransportLimits {
  /** Records per produce call. */
  readonly maxRecordsPerRequest: number;
  /** Payload bytes (keys, values, headers) per produce call. */
  readonly maxRequestPayloadBytes: number;
  /** Partitions per member commit. */
  readonly maxPartitionsPerCommit: number;
}

/**
 * The operations the client SDK needs, one method per HTTP route. Two implementations behave the
 * same: {@link HttpTransport} (the HTTP API, signed with SigV4 or not) and {@link DirectTransport}
 * (the engine in-process on the caller's S3 and DynamoDB clients). Every failure is a
 * `StreambedError` with the server's stable `code` and a `retryable` flag; a transport makes one
 * attempt per call and leaves retries to its caller (the producer, consumer and admin retry
 * with backoff, honouring `retryAfterMs(error)`).
 *
 * @example
 * const transport: Transport = new HttpTransport({ endpoint: 'http://127.0.0.1:8080', auth: 'none' });
 * await transport.createTopic({ name: 'orders', partitions: 3 });
 * const { offsets } = await transport.produce({ topic: 'orders', records: [{ value: bytes, partition: 0 }] });
 */
export interface Transport {
  readonly limits: TransportLimits;

  /** POST /topics. TopicAlreadyExists if the name is taken. */
  createTopic(request: CreateTopicRequest): Promise<TopicRecord>;
  /** GET /topics. */
  listTopics(): Promise<TopicRecord[]>;
  /** GET /topics/{topic}: the topic and its partitions' log start and high watermark. UnknownTopic. */
  describeTopic(topic: string): Promise<TopicDescription>;
  /** DELETE /topics/{topic}. UnknownTopic. */
  deleteTopic(topic: string): Promise<void>;

  /** POST /producers: Kafka's InitProducerId. */
  initProducer(request?: {
    readonly transactionalId?: string;
  }): Promise<{ producerId: string; epoch: number }>;
  /** POST /topics/{topic}/records: offsets in request order. */
  produce(request: TransportProduceRequest): Promise<{ offsets: RecordOffset[] }>;
  /** GET /topics/{topic}/partitions/{p}/records. OffsetOutOfRange below the log start. */
  fetch(request: TransportFetchRequest): Promise<TransportFetchResult>;
  /** GET /topics/{topic}/partitions/{p}/offsets: null when no record is at or after the timestamp. */
  listOffsets(topic: string, partition: number, spec: OffsetSpec): Promise<number | null>;
  /** DELETE /topics/{topic}/partitions/{p}/records?before=: Kafka's DeleteRecords. */
  deleteRecords(topic: string, partition: number, before: number): Promise<{ logStartOffset: number }>;

  /** GET /groups. */
  listGroups(): Promise<string[]>;
  /** GET /groups/{group}/offsets?topic=: committed offsets with lag. UnknownGroup if it never committed or joined. */
  groupOffsets(group: string, topic: string): Promise<GroupPartitionOffset[]>;
  /** PUT /groups/{group}/offsets: a plain commit (all partitions or none). */
  commitOffsets(request: CommitRequest): Promise<void>;
  /** POST /groups/{group}/offsets/reset. GroupActive while members are active, unless forced. */
  resetOffsets(request: ResetOffsetsRequest): Promise<ResetOffsetsResult>;

  /** POST /groups/{group}/members: join and get partitions. */
  joinGroup(
    group: string,
    topic: string,
    options?: { readonly memberId?: string; readonly sessionTimeoutMs?: number },
  ): Promise<Membership>;
  /** POST /groups/{group}/members/{member}/heartbeat. UnknownMember when the session ended: join again. */
  heartbeat(group: string, topic: string, memberId: string, sessionTimeoutMs?: number): Promise<Membership>;
  /** DELETE /groups/{group}/members/{member}?topic=. */
  leaveGroup(group: string, topic: string, memberId: string): Promise<void>;
  /** PUT /groups/{group}/members/{member}/offsets. LeaseLost or OffsetReset when fenced. */
  commitAsMember(
    group: string,
    topic: string,
    memberId: string,
    offsets: readonly MemberCommitOffset[],
  ): Promise<void>;

  /** Releases what the transport holds (SDK clients it created); further calls fail. */
  close(): Promise<void>;
}
