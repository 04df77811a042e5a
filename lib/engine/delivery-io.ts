import { InvalidProduceReturnError } from '../core/errors.ts';
import type { Invoker, QueueSender } from '../core/ports.ts';
import { MAX_OUTPUT_PARTITIONS, type OutputRecord, parseProduceReturn } from '../core/produce-return.ts';
import { toHttpRecord } from '../core/record-json.ts';
import type { StreambedEvent, StreambedRecord, Subscription } from '../core/subscription.ts';
import type { FetchedRecord, TopicRecord } from '../core/types.ts';
import type { EngineContext } from './context.ts';
import { checkOutputs, commitDelivered } from './delivery-commit.ts';
import type { StickyPartitions } from './produce.ts';

/**
 * The time an invocation may take from its start to its commit: the function's timeout, plus room for
 * the invoke's own latency and the commit (1 s + 5% of the timeout).
 *
 * @example invocationBudgetMs(60) // 64_000
 */
export function invocationBudgetMs(functionTimeoutSeconds: number): number {
  return functionTimeoutSeconds * 1000 + 1000 + functionTimeoutSeconds * 50;
}

/** Why delivery jumped: see {@link DeliverySettings.onSkip}. */
export interface Skip {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  readonly from: number;
  readonly to: number;
  readonly reason: 'left-the-log' | 'reset';
}

/** A partition whose delivery keeps failing at one record (no on-failure destination took it). */
export interface Stuck {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly attempts: number;
  /** When that record first failed. */
  readonly since: number;
  readonly error: string;
}

/** A commit of the group's offset under the lease, with the outputs of the batches it passes. */
export interface RangeCommit {
  readonly group: string;
  readonly topic: TopicRecord;
  readonly partition: number;
  /** The group's new offset (the next record to deliver). */
  readonly to: number;
  readonly owner: string;
  readonly leaseCounter: number;
  readonly plainCommits: number;
  readonly outputs: readonly unknown[];
}

/** How a function's returned outputs are read, and committed with the group's offset. */
export interface Outputs {
  /**
   * The outputs in a function's return value ([] when none), checked against their topics; throws
   * on a malformed one (the batch then fails, as if the function had).
   */
  parse(response: unknown): readonly unknown[] | Promise<readonly unknown[]>;
  /** Whether outputs of several batches fit one commit (its transaction holds at most 100 items). */
  fits(outputs: readonly unknown[]): Promise<boolean>;
  /** Commits the offset (and appends the outputs) atomically; OffsetResetError, LeaseLostError. */
  commit(commit: RangeCommit): Promise<void>;
}

/** What a {@link PartitionDelivery} needs from its dispatcher. */
export interface DeliverySettings {
  readonly ctx: EngineContext;
  readonly sticky: StickyPartitions;
  readonly sqs: QueueSender | undefined;
  readonly invoker: Invoker;
  readonly ownerId: string;
  readonly leaseMs: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  readonly maxBatchBytes: number;
  /** How long one record may keep failing before the partition is reported stuck. */
  readonly stuckAfterMs: number;
  readonly outputs: Outputs;
  readonly onSkip: (skip: Skip) => void;
  readonly onStuck: (stuck: Stuck) => void;
  /** The group's committed offset of a partition, and its count of plain commits. */
  readonly read: (
    group: string,
    topic: TopicRecord,
    partition: number,
  ) => Promise<{ readonly offset: number; readonly plainCommits?: number } | undefined>;
}

/**
 * The event a consumer function is invoked with: one partition's records in offset order.
 *
 * @example streambedEvent(subscription, topic, 0, records).Records[0]?.messageId // '42'
 */
export function streambedEvent(
  subscription: Subscription,
  topic: TopicRecord,
  partition: number,
  records: readonly FetchedRecord[],
  commit?: StreambedEvent['commit'],
): StreambedEvent {
  return {
    eventSource: 'streambed',
    group: subscription.group,
    topic: topic.name,
    partition,
    ...(commit === undefined ? {} : { commit }),
    Records: records.map(
      (record): StreambedRecord => ({
        eventSource: 'streambed',
        messageId: String(record.offset),
        topic: topic.name,
        partition,
        ...toHttpRecord(record),
      }),
    ),
  };
}

/**
 * Exactly-once outputs: a function may return `{ produce: [...] }`; the records are checked when the
 * function returns (an unknown topic or partition, a record the topic refuses: the batch fails), and
 * appended in the same DynamoDB transaction as the offset commit that passes their batch
 * ({@link commitDelivered}).
 *
 * @example new Dispatcher({ ...options, outputs: producedOutputs(ctx, sticky) })
 */
export function producedOutputs(ctx: EngineContext, sticky: StickyPartitions): Outputs {
  return {
    async parse(response) {
      const outputs = parseProduceReturn(response);
      if (outputs.length === 0) return outputs;
      const partitions = await checkOutputs(ctx, outputs);
      // One commit holds at most this many: a batch that writes more fails here, as a bad return.
      if (partitions.size > MAX_OUTPUT_PARTITIONS) {
        throw new InvalidProduceReturnError(
          `produce writes to ${partitions.size} partitions; one commit may write to at most ${MAX_OUTPUT_PARTITIONS}`,
        );
      }
      return outputs;
    },
    async fits(outputs) {
      const partitions = await checkOutputs(ctx, outputs as OutputRecord[]);
      return partitions.size <= MAX_OUTPUT_PARTITIONS;
    },
    async commit(c) {
      await commitDelivered(ctx, sticky, { ...c, outputs: c.outputs as OutputRecord[] });
    },
  };
}
