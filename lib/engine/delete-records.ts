import { InvalidArgumentError, OffsetOutOfRangeError, UnknownTopicError } from '../core/errors.ts';
import type { EngineContext } from './context.ts';
import { withTopic } from './context.ts';

/**
 * Kafka's DeleteRecords: records below `before` leave the partition. The log start moves to
 * `before` (−1: the high watermark) and never back; reads below it answer OffsetOutOfRange. An offset
 * at or below the log start changes nothing; one above the high watermark is OffsetOutOfRange.
 * The storage goes with the next sweep.
 *
 * @example
 * const { logStartOffset } = await deleteRecords(ctx, 'orders', 0, 1_000); // 1000
 */
export async function deleteRecords(
  ctx: EngineContext,
  topicName: string,
  partition: number,
  before: number,
): Promise<{ logStartOffset: number }> {
  if (!Number.isSafeInteger(before) || before < -1) {
    throw new InvalidArgumentError(`before must be an offset (an integer ≥ 0) or -1, got ${String(before)}`);
  }
  return await withTopic(ctx, topicName, async (topic) => {
    const ref = ctx.partitionRef(topic, partition);
    let target = before;
    if (target === -1) {
      const head = await ctx.index.readHead(ref);
      if (head === undefined) throw new UnknownTopicError(topic.name);
      target = head.highWatermark;
    }
    const head = await ctx.index.deleteRecords(ref, target);
    if (head === undefined) throw new UnknownTopicError(topic.name);
    if (target > head.highWatermark) {
      throw new OffsetOutOfRangeError(target, head.logStartOffset, head.highWatermark);
    }
    return { logStartOffset: head.logStartOffset };
  });
}
