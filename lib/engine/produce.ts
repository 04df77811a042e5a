import { InvalidArgumentError, StreambedError } from '../core/errors.ts';
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
    // Beside the PUT: the producer's registration and state, and lower bounds of the end offsets.
    const [put, prepared, registered] = await Promise.allSettled([
      ctx.objects.put(objectKey, segment.bytes),
      ctx.index.prepare(refs, producer?.producerId),
      producer === undefined ? undefined : checkRegistered(ctx, producer.producerId, producer.epoch),
    ]);
    for (const step of [registered, put, prepared]) {
      if (step.status === 'fulfilled') continue;
      // Nothing was appended: a refused call leaves no object behind.
      if (put.status === 'fulfilled') await discard(ctx, objectKey);
      throw step.reason;
    }
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
    const outcomes = settled.map((result) => (result.status === 'fulfilled' ? result.value : undefined));
    // No partition references the object (every batch refused, or a duplicate of an earlier call):
    // delete it. An append that failed with an unknown outcome may reference it, so then keep it.
    const unreferenced = outcomes.every((outcome, i) => {
      if (outcome !== undefined) return outcome.kind === 'duplicate';
      const reason = (settled[i] as PromiseRejectedResult).reason;
      return reason instanceof StreambedError && !reason.retryable;
    });
    if (unreferenced) await discard(ctx, objectKey);
    if (failed !== undefined) throw failed.reason;
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

/** Best effort: an object nothing references is an orphan a sweeper would find anyway. */
async function discard(ctx: EngineContext, objectKey: string): Promise<void> {
  await ctx.objects.deleteMany([objectKey]).catch(() => {});
}
