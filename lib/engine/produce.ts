import { InvalidArgumentError } from '../core/errors.ts';
import { newObjectId, segmentKey } from '../core/object-keys.ts';
import type { AppendOutcome, PartitionRef } from '../core/ports.ts';
import { planProduce } from '../core/produce-plan.ts';
import { encodeSegment } from '../core/segment/index.ts';
import type { ProduceRequest, ProduceResult, RecordOffset, TopicRecord } from '../core/types.ts';
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
 * Appends a produce call: one segment object holding one batch per partition (one S3 PUT), then
 * one atomic conditional append per partition in DynamoDB. Offsets are returned only after both;
 * a crash between them leaves an object no index entry points to, and nothing visible.
 */
export async function produce(
  ctx: EngineContext,
  sticky: StickyPartitions,
  request: ProduceRequest,
): Promise<ProduceResult> {
  if (request === null || typeof request !== 'object')
    throw new InvalidArgumentError('the request must be an object');
  return await withTopic(ctx, request.topic, async (topic) => {
    const now = ctx.now();
    const plan = planProduce(request, topic, now, sticky.choose(topic));
    const segment = encodeSegment(plan.batches);
    const objectId = newObjectId(now);
    const objectKey = segmentKey(topic.name, topic.id, objectId);
    const refs = plan.partitions.map((part) => ({
      topic: topic.name,
      topicId: topic.id,
      partition: part.partition,
    }));
    const producer = request.producer;
    // A producer id that was never issued, or a fenced epoch, is refused before anything is stored.
    if (producer !== undefined) await checkRegistered(ctx, producer.producerId, producer.epoch);
    // Beside the PUT: the producer's state and lower bounds of the end offsets.
    await Promise.all([
      ctx.objects.put(objectKey, segment.bytes),
      ctx.index.prepare(refs, producer?.producerId),
    ]);
    const settled = await Promise.allSettled(
      plan.partitions.map((part, i) => {
        const location = segment.batches[i];
        if (location === undefined || location.partition !== part.partition) {
          throw new Error('segment batches do not line up with the plan');
        }
        return ctx.index.append(
          refs[i] as PartitionRef,
          {
            objectId,
            byteOffset: location.byteOffset,
            byteLength: location.byteLength,
            recordCount: location.recordCount,
            maxTimestamp: location.maxTimestamp,
            appendTime: ctx.now(),
          },
          part.producer,
        );
      }),
    );
    const failed = settled.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    const outcomes = settled.map((result) => (result as PromiseFulfilledResult<AppendOutcome>).value);
    const offsets = new Array<RecordOffset>(request.records.length);
    const duplicatePartitions: number[] = [];
    plan.partitions.forEach((part, i) => {
      const outcome = outcomes[i] as AppendOutcome;
      if (outcome.kind === 'duplicate') duplicatePartitions.push(part.partition);
      part.requestIndexes.forEach((requestIndex, j) => {
        offsets[requestIndex] = { partition: part.partition, offset: outcome.baseOffset + j };
      });
    });
    return { offsets, objectKey, duplicatePartitions };
  });
}
