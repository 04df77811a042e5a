import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError, OutOfOrderSequenceError, StreambedError } from '../core/errors.ts';
import { newObjectId, segmentKey } from '../core/object-keys.ts';
import type { AppendOutcome, PartitionRef } from '../core/ports.ts';
import { planProduce } from '../core/produce-plan.ts';
import { encodeSegment } from '../core/segment/index.ts';
import { planSegment, type SegmentPart } from '../core/segment-plan.ts';
import type {
  AppendedBatch,
  ProduceRequest,
  ProduceResult,
  ProducerIdentity,
  RecordOffset,
  SegmentProduceRequest,
  SegmentProduceResult,
  TopicRecord,
} from '../core/types.ts';
import type { EngineContext } from './context.ts';
import { withTopic } from './context.ts';
import { checkRegistered } from './producer-check.ts';

/** Round-robin choice of the sticky partition for keyless records, per topic. */
export class StickyPartitions {
  private readonly next = new Map<string, number>();
  choose(topic: TopicRecord): number {
    const value = this.next.get(topic.name) ?? Math.floor(Math.random() * topic.partitions);
    this.next.set(topic.name, value + 1);
    return value % topic.partitions;
  }
}

/**
 * How a front door wants its produce calls handled; the defaults are the HTTP API's.
 *
 * @example await log.produce(request, { predecessorWaitsMs: [], acceptBumpedEpoch: true }) // the Kafka door
 */
export interface ProduceOptions {
  /**
   * The waits (ms) for a predecessor an idempotent batch overtook, before it is refused as out of order.
   * `[]` refuses at once: right for a door that hands a producer's requests to the engine one at a time,
   * in the order they were sent (a Kafka connection), where a batch ahead of its sequence is a real gap.
   * @default PREDECESSOR_WAITS_MS
   */
  readonly predecessorWaitsMs?: readonly number[];
  /**
   * Accepts an epoch above the issued one for a producer id issued without a transactional id: Kafka's
   * Java producer bumps the epoch of such an id itself (KIP-360) after UNKNOWN_PRODUCER_ID or
   * OUT_OF_ORDER_SEQUENCE_NUMBER, and starts its sequences again at 0, which a Kafka broker accepts.
   * Nothing is fenced by it: only a transactional id's epoch fences other holders. A lower epoch is
   * still refused, and each partition still fences a batch below the epoch it last saw.
   * @default false
   */
  readonly acceptBumpedEpoch?: boolean;
}

/**
 * Appends a produce call: one segment object holding one batch per partition (one S3 PUT), then
 * one atomic conditional append per partition in DynamoDB. Offsets are returned only after both;
 * a crash between them leaves an object no index entry points to, and nothing visible.
 */
export async function produce(
  ctx: EngineContext,
  sticky: StickyPartitions,
  request: ProduceRequest,
  options: ProduceOptions = {},
): Promise<ProduceResult> {
  if (request === null || typeof request !== 'object')
    throw new InvalidArgumentError('the request must be an object');
  return await withTopic(ctx, request.topic, async (topic) => {
    const plan = planProduce(request, topic, ctx.now(), sticky.choose(topic));
    const segment = encodeSegment(plan.batches);
    const parts = plan.partitions.map((part, i) => {
      const location = segment.batches[i];
      if (location === undefined || location.partition !== part.partition) {
        throw new Error('segment batches do not line up with the plan');
      }
      return { partition: part.partition, location, ...(part.producer ? { producer: part.producer } : {}) };
    });
    const appended = await appendSegment(ctx, topic, segment.bytes, parts, request.producer, options);
    const offsets = new Array<RecordOffset>(request.records.length);
    plan.partitions.forEach((part, i) => {
      const baseOffset = (appended.batches[i] as AppendedBatch).baseOffset;
      part.requestIndexes.forEach((requestIndex, j) => {
        offsets[requestIndex] = { partition: part.partition, offset: baseOffset + j };
      });
    });
    const duplicatePartitions = appended.batches.filter((b) => b.duplicate).map((b) => b.partition);
    return { offsets, objectKey: appended.objectKey, duplicatePartitions };
  });
}

/**
 * Appends a segment object a client encoded (the binary produce body), stored byte for byte as it
 * came: checked by {@link planSegment} (CRC32C, structure, the topic's rules), never re-encoded. Same
 * commit protocol as {@link produce}; the answer gives each batch's base offset, in the segment's
 * batch order (record i of a batch is at baseOffset + i).
 */
export async function produceSegment(
  ctx: EngineContext,
  request: SegmentProduceRequest,
): Promise<SegmentProduceResult> {
  if (request === null || typeof request !== 'object')
    throw new InvalidArgumentError('the request must be an object');
  if (!(request.segment instanceof Uint8Array))
    throw new InvalidArgumentError('segment must be the bytes of a segment object');
  return await withTopic(ctx, request.topic, async (topic) => {
    const parts = planSegment(request.segment, topic, request.producer);
    return await appendSegment(ctx, topic, request.segment, parts, request.producer);
  });
}

async function appendSegment(
  ctx: EngineContext,
  topic: TopicRecord,
  bytes: Uint8Array,
  parts: readonly SegmentPart[],
  producer: ProducerIdentity | undefined,
  options: ProduceOptions = {},
): Promise<SegmentProduceResult> {
  const objectId = newObjectId(ctx.now());
  const objectKey = segmentKey(topic.name, topic.id, objectId);
  const refs = parts.map((part) => ({ topic: topic.name, topicId: topic.id, partition: part.partition }));
  // A producer id that was never issued, or a fenced epoch, is refused before anything is stored.
  if (producer !== undefined) {
    await checkRegistered(ctx, producer.producerId, producer.epoch, options.acceptBumpedEpoch === true);
  }
  const waits = options.predecessorWaitsMs ?? PREDECESSOR_WAITS_MS;
  // Beside the PUT: the producer's state and lower bounds of the end offsets.
  await Promise.all([ctx.objects.put(objectKey, bytes), ctx.index.prepare(refs, producer?.producerId)]);
  const settled = await Promise.allSettled(
    parts.map((part, i) =>
      waitingForPredecessors(waits, () =>
        ctx.index.append(
          refs[i] as PartitionRef,
          {
            objectId,
            byteOffset: part.location.byteOffset,
            byteLength: part.location.byteLength,
            recordCount: part.location.recordCount,
            maxTimestamp: part.location.maxTimestamp,
            appendTime: ctx.now(),
          },
          part.producer,
        ),
      ),
    ),
  );
  const failed = settled.find((result) => result.status === 'rejected');
  if (failed !== undefined) {
    // When every refused partition was refused for certain (nothing of it stored), say which
    // partitions were appended, so an idempotent client knows what a new epoch may resend. Not for a
    // throttled or busy partition: those can follow a write whose outcome was unclear.
    const reasons = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (
      failed.reason instanceof StreambedError &&
      reasons.every((r) => r instanceof StreambedError && DEFINITE_REFUSALS.has(r.code))
    ) {
      failed.reason.appendedPartitions = settled.flatMap((r, i) =>
        r.status === 'fulfilled' ? [(parts[i] as SegmentPart).partition] : [],
      );
    }
    throw failed.reason;
  }
  const batches = settled.map((result, i): AppendedBatch => {
    const outcome = (result as PromiseFulfilledResult<AppendOutcome>).value;
    const part = parts[i] as SegmentPart;
    return {
      partition: part.partition,
      baseOffset: outcome.baseOffset,
      recordCount: part.location.recordCount,
      duplicate: outcome.kind === 'duplicate',
    };
  });
  return { batches, objectKey };
}

/** Refusals of a partition's append that leave nothing of it stored (see appendSegment). */
const DEFINITE_REFUSALS = new Set([
  'OutOfOrderSequence',
  'UnknownProducerId',
  'ProducerFenced',
  'InvalidArgument',
  'UnknownTopic',
  'UnknownPartition',
]);

/** How long an idempotent batch that arrived ahead of its predecessor waits for it, in steps (ms). */
export const PREDECESSOR_WAITS_MS = [10, 20, 40, 80, 150] as const;

/**
 * Runs an append again while it is refused as ahead of its sequence (`OutOfOrderSequenceError.ahead`):
 * a client with several requests in flight (Kafka's max.in.flight, 5) sends them in order, but they can
 * reach the server out of order; the earlier one usually commits within milliseconds. Waiting here
 * (≤ 300 ms in all) spares the client a refusal, a resend and a second object. A refused append wrote
 * nothing, so trying it again is safe; a real gap is still refused after the last wait. `waits` empty:
 * refused at once ({@link ProduceOptions.predecessorWaitsMs}).
 */
async function waitingForPredecessors<T>(waits: readonly number[], append: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await append();
    } catch (error) {
      const wait = waits[attempt];
      if (!(error instanceof OutOfOrderSequenceError && error.ahead) || wait === undefined) throw error;
      await sleep(wait);
    }
  }
}
