import type { IssuedProducer, StoredObject } from '../core/ports.ts';
import type {
  CommitOffsetsRequest,
  CommittedOffset,
  FetchRequest,
  FetchResult,
  OffsetSpec,
  ProduceRequest,
  ProduceResult,
  ResetOffsetsRequest,
  ResetOffsetsResult,
  SegmentProduceRequest,
  SegmentProduceResult,
  TopicDescription,
  TopicRecord,
} from '../core/types.ts';
import type { BatchRefs } from '../core/wire/batch-refs.ts';
import type { FetchFrame } from '../core/wire/fetch-frame.ts';
import { EngineContext, type EngineDeps } from './context.ts';
import { deleteRecords } from './delete-records.ts';
import { fetchRecords, listOffsets } from './fetch.ts';
import { fetchBatches } from './fetch-batches.ts';
import { canReferenceBatches, fetchBatchRefs } from './fetch-refs.ts';
import {
  commitOffsets,
  describeGroupOffsets,
  fetchOffsets,
  type GroupPartitionLag,
  listGroups,
} from './groups.ts';
import {
  commitAsMember,
  heartbeat,
  type JoinOptions,
  joinGroup,
  leaveGroup,
  type MemberCommit,
  type MembershipState,
} from './membership.ts';
import { findOrphanSegments } from './orphans.ts';
import { type ProduceOptions, produce, produceSegment, StickyPartitions } from './produce.ts';
import { type InitProducerInput, initProducer } from './producers.ts';
import { resetOffsets } from './reset-offsets.ts';
import { type SweepOptions, type SweepReport, sweep } from './sweep.ts';
import { deleteTopic } from './topic-deletion.ts';
import { type CreateTopicInput, createTopic, describeTopic, listTopics } from './topics.ts';

/**
 * The Streambed engine: Kafka's log semantics over an object store and a partition index.
 * Build one with `createStreambed` (lib/adapters/aws.ts) or from your own ports.
 *
 * @example
 * const log = createStreambed({ s3, dynamodb, bucket: 'my-bucket', tables });
 * await log.createTopic({ name: 'orders', partitions: 8 });
 * const { offsets } = await log.produce({ topic: 'orders', records: [{ key, value }] });
 * const { records } = await log.fetch({ topic: 'orders', partition: 0, offset: 0 });
 */
export class Streambed {
  private readonly ctx: EngineContext;
  private readonly sticky = new StickyPartitions();

  constructor(deps: EngineDeps) {
    this.ctx = new EngineContext(deps);
  }

  createTopic(input: CreateTopicInput): Promise<TopicRecord> {
    return createTopic(this.ctx, input);
  }

  describeTopic(name: string): Promise<TopicDescription> {
    return describeTopic(this.ctx, name);
  }

  listTopics(): Promise<TopicRecord[]> {
    return listTopics(this.ctx);
  }

  deleteTopic(name: string): Promise<void> {
    return deleteTopic(this.ctx, name);
  }

  /**
   * Kafka's InitProducerId: a producer id for idempotent produce calls. With a `transactionalId`,
   * the same id at the next epoch, fencing the previous holder.
   *
   * @example
   * const { producerId, epoch } = await log.initProducer();
   * await log.produce({ topic, records, producer: { producerId, epoch, sequences: 0 } });
   */
  initProducer(input?: InitProducerInput): Promise<IssuedProducer> {
    return initProducer(this.ctx, input);
  }

  /**
   * Appends records (see `produce` in produce.ts); `options` are a front door's choices (the Kafka
   * door refuses an overtaken batch at once and accepts a producer's own epoch bump).
   *
   * @example
   * const { offsets } = await log.produce({ topic: 'orders', records: [{ key, value }] });
   */
  produce(request: ProduceRequest, options?: ProduceOptions): Promise<ProduceResult> {
    return produce(this.ctx, this.sticky, request, options);
  }

  /**
   * Appends a segment object the caller encoded (one dense batch per partition; the binary produce
   * body), stored byte for byte after its CRC32C, structure and the topic's rules are checked.
   *
   * @example
   * const { bytes } = encodeSegment([{ partition: 0, compression: 'zstd', records }]);
   * const { batches } = await log.produceSegment({ topic: 'orders', segment: bytes });
   * batches[0].baseOffset // the offset of records[0]
   */
  produceSegment(request: SegmentProduceRequest): Promise<SegmentProduceResult> {
    return produceSegment(this.ctx, request);
  }

  fetch(request: FetchRequest): Promise<FetchResult> {
    return fetchRecords(this.ctx, request);
  }

  /**
   * Committed batches from an offset as they are stored, for the binary fetch (fetch-frame.ts): the
   * reader decodes them, verifying each batch's CRC32C, and skips records below its offset.
   *
   * @example
   * const body = encodeFetchFrame(await log.fetchBatches({ topic: 'orders', partition: 0, offset: 17 }));
   */
  fetchBatches(request: FetchRequest): Promise<FetchFrame> {
    return fetchBatches(this.ctx, request);
  }

  /**
   * The batches {@link fetchBatches} would send, by reference: a presigned URL per batch that reads
   * exactly its bytes from the bucket, for readers that GET them themselves (the server reads none
   * of them). Throws DirectReadsUnavailableError where the object store cannot presign
   * ({@link canReferenceBatches} says so first).
   *
   * @example
   * const refs = await log.fetchBatchRefs({ topic: 'orders', partition: 0, offset: 17 });
   * for (const b of refs.batches) await fetch(b.url, { headers: { range: b.range } });
   */
  fetchBatchRefs(request: FetchRequest): Promise<BatchRefs> {
    return fetchBatchRefs(this.ctx, request);
  }

  /** True when the object store presigns reads, so {@link fetchBatchRefs} can answer. */
  canReferenceBatches(): boolean {
    return canReferenceBatches(this.ctx);
  }

  listOffsets(topic: string, partition: number, spec: OffsetSpec): Promise<number | null> {
    return listOffsets(this.ctx, topic, partition, spec);
  }

  commitOffsets(request: CommitOffsetsRequest): Promise<void> {
    return commitOffsets(this.ctx, request);
  }

  fetchOffsets(group: string, topic: string): Promise<CommittedOffset[]> {
    return fetchOffsets(this.ctx, group, topic);
  }

  /**
   * Committed offsets with, per partition, the high watermark and the group's lag: `lagRecords` (also
   * `lag`) and `lagSeconds`, the age by append time of the oldest record not yet consumed (0 when
   * caught up). UnknownGroupError if the group never committed.
   *
   * @example
   * for (const p of await log.describeGroupOffsets('billing', 'orders'))
   *   console.log(p.partition, p.lagRecords, p.lagSeconds);
   */
  describeGroupOffsets(group: string, topic: string): Promise<GroupPartitionLag[]> {
    return describeGroupOffsets(this.ctx, group, topic);
  }

  /**
   * Kafka's `kafka-consumer-groups --reset-offsets`: moves a group's offsets on a topic to `earliest`,
   * `latest`, `{ timestamp }` or `{ offset }` (clamped to the log), for every partition or
   * `partitions`. GroupActiveError while the group has active members or a running consumer function,
   * unless `force`; `dryRun` changes nothing. Dispatchers and pull members pick the new offsets up.
   *
   * @example
   * await log.resetOffsets({ group: 'billing', topic: 'orders', to: 'earliest', dryRun: true });
   * await log.resetOffsets({ group: 'billing', topic: 'orders', to: { offset: 1_000 }, partitions: [0] });
   */
  resetOffsets(request: ResetOffsetsRequest): Promise<ResetOffsetsResult> {
    return resetOffsets(this.ctx, request);
  }

  listGroups(): Promise<string[]> {
    return listGroups(this.ctx);
  }

  /** Joins a pull-consumer group for a topic; see {@link MembershipState}. */
  joinGroup(group: string, topic: string, options?: JoinOptions): Promise<MembershipState> {
    return joinGroup(this.ctx, group, topic, options);
  }

  heartbeat(
    group: string,
    topic: string,
    memberId: string,
    sessionTimeoutMs?: number,
  ): Promise<MembershipState> {
    return heartbeat(this.ctx, group, topic, memberId, sessionTimeoutMs);
  }

  leaveGroup(group: string, topic: string, memberId: string): Promise<void> {
    return leaveGroup(this.ctx, group, topic, memberId);
  }

  /** Commits as a member; LeaseLostError for partitions the member no longer holds. */
  commitAsMember(
    group: string,
    topic: string,
    memberId: string,
    offsets: readonly MemberCommit[],
  ): Promise<void> {
    return commitAsMember(this.ctx, group, topic, memberId, offsets);
  }

  /**
   * Kafka's DeleteRecords: records below `before` (−1: the high watermark) leave the partition.
   *
   * @example
   * const { logStartOffset } = await log.deleteRecords('orders', 0, 1_000);
   */
  deleteRecords(topic: string, partition: number, before: number): Promise<{ logStartOffset: number }> {
    return deleteRecords(this.ctx, topic, partition, before);
  }

  /**
   * One pass of the lifecycle sweep: retention by time and bytes, index pages below the log start,
   * and segment objects nothing can reference any more (docs/design.md §9). Run it every few minutes.
   *
   * @example
   * const report = await log.sweep({ graceMs: 3_600_000 });
   */
  sweep(options?: SweepOptions): Promise<SweepReport> {
    return sweep(this.ctx, options);
  }

  findOrphanSegments(topic: string, olderThanMs: number): Promise<StoredObject[]> {
    return findOrphanSegments(this.ctx, topic, olderThanMs);
  }
}
