import type { Lease, MemberInfo } from './assignment.ts';
import type { IndexEntry, PendingEntry } from './index-entry.ts';
import type { ProducerBatch } from './producer-state.ts';
import type { StreambedEvent, Subscription } from './subscription.ts';
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
  /**
   * Reads `length` bytes at `offset` (a ranged GET). With `into` (`length` bytes long) the bytes may
   * be written there and `into` returned; a store that returns other bytes is fine (the caller copies).
   */
  getRange(key: string, offset: number, length: number, into?: Uint8Array): Promise<Uint8Array>;
  /**
   * A URL anyone holding it can GET `length` bytes at `offset` with, sending exactly the returned
   * `range` as its Range header, for `expiresInSeconds`. Absent where the store hands out no URLs.
   */
  presignRange?(
    key: string,
    offset: number,
    length: number,
    expiresInSeconds: number,
  ): Promise<{ url: string; range: string }>;
  /** Keys under `prefix` in key order, from the first key after `startAfter` when given. */
  list(prefix: string, startAfter?: string): AsyncIterable<StoredObject>;
  deleteMany(keys: readonly string[]): Promise<void>;
}

export interface TopicStore {
  /** Stores a new topic; throws TopicAlreadyExistsError if the name is taken. */
  create(topic: TopicRecord): Promise<void>;
  get(name: string): Promise<TopicRecord | undefined>;
  list(): Promise<TopicRecord[]>;
  /** Removes the topic record if it still has this id; returns false if it was not there. */
  delete(name: string, id: string): Promise<boolean>;
  /** Records that this incarnation is being deleted since `since` (kept until its data is gone). */
  markDeleting(topic: TopicRecord, since: number): Promise<void>;
  /** Incarnations whose deletion has begun and not finished. */
  listDeleting(): Promise<DeletingTopic[]>;
  /** The deletion of this incarnation is finished. */
  clearDeleting(topicId: string): Promise<void>;
}

/** A topic incarnation whose deletion began at `since` (ms). */
export interface DeletingTopic extends TopicRecord {
  readonly since: number;
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
  /** What retention has counted of the partition's bytes (see lib/core/retention.ts). */
  readonly sizes: SizeCount;
}

/** An index page: entries covering [first, end), and the largest record timestamp up to `end`. */
export interface IndexPage {
  readonly first: number;
  readonly end: number;
  readonly cumulativeMax: number;
  readonly entries: readonly IndexEntry[];
}

/**
 * How far orphan collection has got: every segment object created before `through` (ms) that no
 * live entry references has been deleted; `cursors[p]` is an offset of partition p below which no
 * entry references an object created at or after `through`.
 */
export interface GcState {
  readonly through: number;
  readonly cursors: readonly number[];
  /** Per partition, the offset below which compaction has looked at every page. */
  readonly compacted?: readonly number[];
  /** No object created before this exists but those the retention rule's last listing saw. */
  readonly listedFrom?: number;
  /** Compacted topics: per partition, the offset below which key compaction has cleaned the log. */
  readonly cleaned?: readonly number[];
  /**
   * Compacted topics: every entry appended before this time lies below its partition's `cleaned`
   * offset, so it names no produced object (orphan collection waits for it, see collect.ts).
   */
  readonly cleanedUntil?: number;
  /** Compacted topics: per partition, when the oldest tombstone below `cleaned` was appended (-1: none). */
  readonly tombstones?: readonly number[];
}

/**
 * Objects to delete after the grace (see lib/engine/retired.ts): retired by a swap, or `pending`
 * (written by a compaction run whose swap has not happened, and must be claimed before deleting).
 */
export interface RetiredObjects {
  readonly id: number;
  readonly retiredAt: number;
  readonly objectIds: readonly string[];
  readonly pending: boolean;
}

/**
 * The stored bytes of a partition as retention last counted them: `bytes` is the sum of the
 * `byteLength` of every entry that ends above `from` and starts below `through`.
 */
export interface SizeCount {
  readonly from: number;
  readonly through: number;
  readonly bytes: number;
}

/**
 * A write one port contributes to an atomic step another port performs (with DynamoDB: items of one
 * TransactWriteItems). Opaque to the engine, which only hands it from the port that made it (e.g.
 * {@link LeaseStore.leasedCommitWrite}) to the one that applies it ({@link PartitionIndex.appendAtomically}).
 */
export interface AtomicWrite {
  /** What the write does, for messages. */
  readonly description: string;
}

/** One partition's entry in an atomic append (see {@link PartitionIndex.appendAtomically}). */
export interface AtomicAppend {
  readonly ref: PartitionRef;
  readonly entry: PendingEntry;
}

export type AppendOutcome =
  | { readonly kind: 'appended'; readonly baseOffset: number }
  | { readonly kind: 'duplicate'; readonly baseOffset: number };

export interface PartitionIndex {
  /** Creates the partitions' heads (empty logs). Idempotent. */
  createPartitions(topicId: string, partitions: number): Promise<void>;
  /**
   * Marks every partition head of the topic deleted: from then on no append can land on it (they
   * fail as UnknownTopic). Idempotent; a missing head is left missing.
   */
  fencePartitions(topicId: string, partitions: number): Promise<void>;
  /**
   * Removes heads, index pages, time-index and producer items of every partition. Idempotent, so
   * an interrupted call is finished by calling it again; stops early (returning false) once
   * `deadline` (ms) has passed.
   */
  deletePartitions(topicId: string, partitions: number, deadline?: number): Promise<boolean>;
  /**
   * Reads, beside the object PUT, what appends to these partitions will need: a recent lower bound
   * of each end offset (to resolve an append whose response is lost by reading) and, for an
   * idempotent producer, its state on each partition. Appends work without it, only slower.
   */
  prepare(refs: readonly PartitionRef[], producerId?: string): Promise<void>;
  /**
   * Atomically assigns the next `entry.recordCount` offsets of the partition to `entry`, once:
   * a retry after a lost response never appends it twice. Throws UnknownTopicError when the
   * partition head is gone (topic deleted), or the producer errors of {@link ProducerBatch} rules.
   */
  append(ref: PartitionRef, entry: PendingEntry, producer?: ProducerBatch): Promise<AppendOutcome>;
  /**
   * Appends each entry to its partition (at most one entry per partition) and applies `write`, all in
   * ONE atomic step: everything or nothing (exactly-once consume → produce, lib/engine/delivery-commit.ts).
   * `write` must be applicable at most once however often it is sent (a leased commit from
   * {@link LeaseStore.leasedCommitWrite} is): so an attempt whose outcome is unknown is resolved by
   * asking `write` whether it was applied, and is resent if not. Returns once an attempt was applied.
   * Throws what `write` refuses with (LeaseLostError, OffsetResetError), UnknownTopicError when a
   * partition head is gone, and CommitTooLateError (nothing applied) when the entries' objects are
   * past the commit limit: write new objects and call again.
   */
  appendAtomically(appends: readonly AtomicAppend[], write: AtomicWrite): Promise<void>;
  /**
   * Kafka's DeleteRecords: moves the log start up to `before` (never down, never above the high
   * watermark) and returns the head after. Undefined when the partition does not exist.
   */
  deleteRecords(ref: PartitionRef, before: number): Promise<PartitionHead | undefined>;
  /**
   * Retention's step: moves the log start from `seen.logStartOffset` to `start` and stores `sizes`,
   * only if the head still has the log start and size count it was planned from. False otherwise.
   */
  advanceStart(ref: PartitionRef, seen: PartitionHead, start: number, sizes: SizeCount): Promise<boolean>;
  /** Deletes index pages (and time-index items) that lie wholly below `offset`, the log start. */
  dropPagesBelow(ref: PartitionRef, offset: number): Promise<number>;
  /** Up to `limit` index pages from the one holding `offset`, ascending (compaction). */
  pagesFrom(ref: PartitionRef, offset: number, limit: number): Promise<IndexPage[]>;
  /**
   * Replaces consecutive pages, as read, by one page of `entries` covering the same offsets, in one
   * atomic step; false when one of them changed meanwhile (see lib/engine/compaction.ts).
   */
  replacePages(
    ref: PartitionRef,
    replaced: readonly IndexPage[],
    entries: readonly IndexEntry[],
    retired?: readonly string[],
    pending?: number,
    sizes?: { readonly seen: SizeCount; readonly delta: number },
  ): Promise<boolean>;
  /**
   * Notes, before it is written, an object of a compaction run in the run's pending record
   * (created when `pending` is undefined); the record's id. The run's swap deletes the record.
   */
  notePending(topicId: string, pending: number | undefined, objectId: string): Promise<number>;
  /** Claims a pending record so its swap can no longer happen; false when the swap did. */
  claimPending(topicId: string, id: number): Promise<boolean>;
  /** Up to `limit` records of objects retired before `before` (ms), oldest first. */
  readRetired(topicId: string, before: number, limit: number): Promise<RetiredObjects[]>;
  /** Forgets a retired-objects record once its objects are deleted. */
  forgetRetired(topicId: string, id: number): Promise<void>;
  /**
   * Moves a tail shorter than a page into a page when its newest entry was appended before
   * `idleBefore` (so compaction reaches what an idle partition wrote last); false when it did not.
   */
  pageIdleTail(ref: PartitionRef, idleBefore: number): Promise<boolean>;
  /** The topic's orphan-collection progress (see lib/engine/collect.ts); undefined before the first. */
  readGcState(topicId: string): Promise<GcState | undefined>;
  /** Stores it if it is still `seen` (undefined: none stored yet); false when another sweep moved it. */
  writeGcState(topicId: string, seen: GcState | undefined, next: GcState): Promise<boolean>;
  /** A strongly consistent read of one head; undefined when the partition does not exist. */
  readHead(ref: PartitionRef): Promise<PartitionHead | undefined>;
  readHeads(topicId: string, partitions: number): Promise<PartitionHead[]>;
  /**
   * Entries below `head.tailBase`, ascending, starting with the one that holds `offset`.
   * Entries may repeat across pages; callers skip what they have passed.
   */
  entriesFrom(ref: PartitionRef, offset: number, head: PartitionHead): AsyncIterable<IndexEntry>;
  /**
   * Where to start looking for the first record with a timestamp ≥ `timestamp`: every record before
   * the returned offset has a smaller timestamp. Undefined when no record has one that large. Uses a
   * time index: a bounded number of reads whatever the partition's length.
   */
  timestampStart(ref: PartitionRef, timestamp: number, head: PartitionHead): Promise<number | undefined>;
}

/**
 * Commits carry the topic id, so offsets committed for a deleted topic are not applied to a new
 * topic of the same name.
 */
export interface GroupStore {
  commit(request: CommitOffsetsRequest & { readonly topicId: string }): Promise<void>;
  /** Committed offsets of the topic incarnation `topicId`. */
  fetch(group: string, topic: string, topicId: string): Promise<CommittedOffset[]>;
  /** Whether the group ever committed an offset. */
  exists(group: string): Promise<boolean>;
  /** Every group that ever committed an offset or had a member, by name. */
  list(): Promise<string[]>;
  /** Adds the group to the registry that `list` reads (idempotent). */
  register(group: string): Promise<void>;
  /**
   * Sets the group's committed offsets of these partitions (a reset) and registers the group. A
   * plain commit outside generation fencing: it counts itself in every partition's plain commits, so
   * lease holders notice it (OffsetResetError), and leaves the plain generation as it was. At most
   * 100 partitions are one transaction; more are several.
   */
  reset(
    group: string,
    topic: string,
    topicId: string,
    offsets: readonly { readonly partition: number; readonly offset: number }[],
  ): Promise<void>;
  /**
   * The group's consumer-function subscription, strongly consistent; undefined when it has none.
   * Read-only here: the dispatcher's {@link SubscriptionStore} writes it.
   */
  subscription(group: string): Promise<Subscription | undefined>;
}

/** The consumer-group commit of a lease holder: every partition must still be leased to `owner`. */
export interface LeasedCommit {
  readonly group: string;
  readonly topic: string;
  readonly topicId: string;
  readonly owner: string;
  readonly offsets: readonly {
    partition: number;
    offset: number;
    metadata?: string;
    leaseCounter: number;
    /**
     * The partition's count of plain commits when the holder read its committed offset: a plain commit
     * since (a reset) makes this commit fail with OffsetResetError. Absent: not checked.
     */
    plainCommits?: number;
  }[];
}

/** A lease plus the delivery retry state a dispatcher keeps on it. */
export interface LeaseState extends Lease {
  /** Offset of the batch that keeps failing, and how many attempts it had. */
  readonly failedOffset?: number;
  readonly attempts?: number;
  /** When that batch first failed (ms since the epoch). */
  readonly failedSince?: number;
  /** The id of the topic it failed on ('' or absent when recorded before ids were kept). */
  readonly failedTopicId?: string;
}

/**
 * Partition leases and group members (pull consumers and dispatchers share the leases).
 * Every change of owner increments the lease counter, the fencing token of commits.
 */
export interface LeaseStore {
  /** Every lease of the (group, topic), strongly consistent. */
  list(group: string, topic: string): Promise<LeaseState[]>;
  /** One partition's lease, strongly consistent; undefined when it was never created. */
  get(group: string, topic: string, partition: number): Promise<LeaseState | undefined>;
  /** Creates free leases for these partitions unless they exist. */
  create(group: string, topic: string, partitions: readonly number[]): Promise<void>;
  /**
   * Takes `lease` for `owner` if its counter and expiry are still `lease`'s (nobody took, released or
   * renewed it since it was read); returns the new lease or undefined.
   */
  take(
    group: string,
    topic: string,
    lease: Lease,
    owner: string,
    expiresAt: number,
  ): Promise<LeaseState | undefined>;
  /** Extends a lease `owner` still holds at the same counter; undefined when it was lost. */
  renew(
    group: string,
    topic: string,
    lease: Lease,
    owner: string,
    expiresAt: number,
  ): Promise<LeaseState | undefined>;
  /** Gives a lease up (owner cleared, counter incremented); false if it was already lost. */
  release(group: string, topic: string, lease: Lease, owner: string): Promise<boolean>;
  /**
   * Records a failed delivery attempt of the batch at `offset` of topic `topicId`, first failing at
   * `since` (the lease must still be held); offset -1 clears the record.
   */
  recordFailure(
    group: string,
    topic: string,
    lease: Lease,
    owner: string,
    offset: number,
    attempts: number,
    since?: number,
    topicId?: string,
  ): Promise<boolean>;
  heartbeat(group: string, topic: string, memberId: string, expiresAt: number): Promise<void>;
  /** Renews a member only if it exists; false when it is unknown (never joined, or left). */
  renewMember(group: string, topic: string, memberId: string, expiresAt: number): Promise<boolean>;
  members(group: string, topic: string): Promise<MemberInfo[]>;
  removeMember(group: string, topic: string, memberId: string): Promise<void>;
  /** Commits offsets only while `owner` holds each partition's lease at the given counter. */
  commitLeased(commit: LeasedCommit): Promise<void>;
  /**
   * The leased commit of ONE partition, as `commitLeased` makes it, as a write for
   * {@link PartitionIndex.appendAtomically}. It moves the offset only from below `offset` within the
   * lease, so of any number of sends at most one is applied, and it can tell afterwards whether one was.
   */
  leasedCommitWrite(commit: LeasedCommit): AtomicWrite;
}

/** A producer id issued by the server (Kafka's InitProducerId), with its current epoch. */
export interface IssuedProducer {
  /** Decimal digits of a positive integer below 2^53 (Kafka's int64 producer id). */
  readonly producerId: string;
  readonly epoch: number;
  /** Set when the id belongs to a transactional id (a stable name whose epoch fences old holders). */
  readonly transactionalId?: string;
}

/**
 * Issues producer ids, as Kafka's InitProducerId does. Produce accepts only ids issued here, and only
 * at their current epoch.
 */
export interface ProducerRegistry {
  /**
   * Without a transactional id: a new producer id at epoch 0. With one: the id registered to that
   * name (created on first use) at its next epoch, which fences every holder of an older epoch.
   */
  init(transactionalId?: string): Promise<IssuedProducer>;
  /** A strongly consistent read of an issued id; undefined when it was never issued or has expired. */
  get(producerId: string): Promise<IssuedProducer | undefined>;
}

/** Consumer-function subscriptions, one per group. */
export interface SubscriptionStore {
  put(subscription: Subscription): Promise<void>;
  get(group: string): Promise<Subscription | undefined>;
  list(): Promise<Subscription[]>;
  delete(group: string): Promise<void>;
}

/** The result of invoking a consumer function: its response, or the error it failed with. */
export type InvokeOutcome =
  | { readonly ok: true; readonly response: unknown }
  | { readonly ok: false; readonly error: string };

/** Invokes consumer functions synchronously (Lambda on AWS, in-process locally). */
export interface Invoker {
  invoke(target: string, event: StreambedEvent): Promise<InvokeOutcome>;
}

/** Sends on-failure messages to an SQS queue. */
export interface QueueSender {
  send(queueUrl: string, body: string): Promise<void>;
}

/**
 * A Kafka consumer group's coordination state as stored (one item per group): the fields the store
 * fences on, and the rest encoded by its owner (lib/kafka/groups/state.ts), opaque here.
 */
export interface StoredKafkaGroup {
  readonly group: string;
  /** Incremented by every write: a write names the version it was decided on. */
  readonly version: number;
  /** Kafka's generation id; never goes down for a group name (the item is never deleted). */
  readonly generation: number;
  /** Kafka's group state name: Empty, PreparingRebalance, CompletingRebalance or Stable. */
  readonly state: string;
  /** Kafka's protocol type of the group ('consumer' for consumers); '' when it has none. */
  readonly protocolType: string;
  /** The members of `generation` (and those joining), for the commit fence. */
  readonly memberIds: readonly string[];
  /** Everything else (members' protocols, assignments, heartbeats), as its owner encodes it. */
  readonly data: string;
}

/** Where a Kafka offset commit must be fenced: this generation and member, or (generation -1) no members. */
export interface KafkaCommitFence {
  readonly group: string;
  /** -1: a commit outside any generation, allowed only while the group has no members. */
  readonly generation: number;
  readonly memberId: string;
}

/**
 * Kafka consumer groups coordinated through storage, so several stateless Kafka servers agree: every
 * change is a conditional write on the version that was read (optimistic concurrency).
 */
export interface KafkaGroupStore {
  /** The group's state, strongly consistent; undefined when no Kafka client ever joined or committed. */
  get(group: string): Promise<StoredKafkaGroup | undefined>;
  /**
   * Writes `next` only if the stored version is still `expected` (undefined: the group must not exist
   * yet); false, writing nothing, when another writer came first. `next.version` must be `expected + 1`.
   */
  put(next: StoredKafkaGroup, expected: number | undefined): Promise<boolean>;
  /**
   * Every Kafka group as stored (strongly consistent): ListGroups brings each up to date in memory
   * (expired members, a due barrier) before it reports the state, as DescribeGroups does.
   */
  list(): Promise<StoredKafkaGroup[]>;
  /**
   * Commits offsets of one topic incarnation into the group's committed offsets (the ones
   * {@link GroupStore.fetch} reads) in ONE atomic step with a check of `fence` against the stored
   * group: if the group is no longer at the fence's generation with that member (or has members, for
   * generation -1) or is completing a rebalance, nothing is written and it returns false. Throws
   * StaleGenerationError when an offset carries a newer plain generation (a commit over HTTP).
   */
  commitFenced(
    fence: KafkaCommitFence,
    topic: string,
    topicId: string,
    offsets: readonly { readonly partition: number; readonly offset: number; readonly metadata: string }[],
  ): Promise<boolean>;
}
