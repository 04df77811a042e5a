import type { QueueSender } from '../core/ports.ts';
import type { FailedBatchRecord, Subscription } from '../core/subscription.ts';
import type { FetchedRecord, TopicRecord } from '../core/types.ts';
import type { EngineContext } from './context.ts';
import { produce, type StickyPartitions } from './produce.ts';

/** Records that will not be delivered, and why. */
export interface GivenUp {
  readonly records: readonly FetchedRecord[];
  readonly condition: FailedBatchRecord['requestContext']['condition'];
  readonly attempts: number;
  readonly error: string;
}

/**
 * Sends the partition and offset range of records given up on to the subscription's on-failure
 * destination(s), shaped like Lambda's stream failure records; nothing when it has none.
 *
 * @example
 * await giveUp(ctx, sticky, sqs, subscription, topic, 0, { records, condition: 'RetryAttemptsExhausted', attempts: 11, error });
 */
export async function giveUp(
  ctx: EngineContext,
  sticky: StickyPartitions,
  sqs: QueueSender | undefined,
  subscription: Subscription,
  topic: TopicRecord,
  partition: number,
  given: GivenUp,
): Promise<void> {
  const destination = subscription.onFailure;
  if (destination === undefined) return;
  const first = given.records[0] as FetchedRecord;
  const last = given.records.at(-1) as FetchedRecord;
  const message: FailedBatchRecord = {
    requestContext: {
      condition: given.condition,
      approximateInvokeCount: given.attempts,
      target: subscription.target,
    },
    responseContext: { functionError: given.error.slice(0, 4096) },
    streambedBatchInfo: {
      group: subscription.group,
      topic: topic.name,
      partition,
      startOffset: first.offset,
      endOffset: last.offset,
      batchSize: given.records.length,
      approximateArrivalOfFirstRecord: new Date(first.appendTime).toISOString(),
      approximateArrivalOfLastRecord: new Date(last.appendTime).toISOString(),
    },
    timestamp: new Date(ctx.now()).toISOString(),
  };
  const body = JSON.stringify(message);
  if (destination.topic !== undefined) {
    await produce(ctx, sticky, {
      topic: destination.topic,
      records: [
        {
          key: new TextEncoder().encode(`${topic.name}/${partition}`),
          value: new TextEncoder().encode(body),
          valueIsJson: true,
        },
      ],
    });
  }
  if (destination.sqsQueueUrl !== undefined) {
    if (sqs === undefined) throw new Error('an SQS on-failure destination needs a QueueSender');
    await sqs.send(destination.sqsQueueUrl, body);
  }
}
