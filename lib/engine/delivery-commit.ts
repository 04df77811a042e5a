import {
  CommitTooLateError,
  InvalidProduceReturnError,
  StreambedError,
  UnknownTopicError,
} from '../core/errors.ts';
import { newObjectId, segmentKey } from '../core/object-keys.ts';
import type { AtomicAppend, LeasedCommit } from '../core/ports.ts';
import { type ProducePlan, planProduce } from '../core/produce-plan.ts';
import { MAX_OUTPUT_PARTITIONS, type OutputRecord } from '../core/produce-return.ts';
import { encodeSegment } from '../core/segment/index.ts';
import type { TopicRecord } from '../core/types.ts';
import type { EngineContext } from './context.ts';
import type { StickyPartitions } from './produce.ts';

export {
  MAX_OUTPUT_PARTITIONS,
  type OutputRecord,
  parseProduceReturn,
} from '../core/produce-return.ts';

/** What a dispatcher delivered and commits: the group's new offset and the records to produce with it. */
export interface DeliveredRange {
  readonly group: string;
  readonly topic: TopicRecord;
  readonly partition: number;
  /** The group's new committed offset (the next record to deliver). */
  readonly to: number;
  /** The lease holder (the dispatcher's owner id) and the lease's counter, its fencing token. */
  readonly owner: string;
  readonly leaseCounter: number;
  /** The partition's count of plain commits when the offset was read: a reset since refuses the commit. */
  readonly plainCommits: number;
  /** Output records, in order (possibly from several batches); appended atomically with the commit. */
  readonly outputs: readonly OutputRecord[];
}

/** The outputs to one topic: the plan (one batch per partition). */
interface TopicOutputs {
  readonly topic: TopicRecord;
  readonly plan: ProducePlan;
}

/** Planned outputs with their encoded segment, ready to be written. */
interface EncodedOutputs extends TopicOutputs {
  readonly segment: ReturnType<typeof encodeSegment>;
}

const encoded = (planned: readonly TopicOutputs[]): EncodedOutputs[] =>
  planned.map((p) => ({ ...p, segment: encodeSegment(p.plan.batches) }));

/** Commits after this many rounds of new objects (each round had its commit limit of time) give up. */
const MAX_ROUNDS = 3;

/**
 * Commits the group's offset to `range.to` under the partition's lease and, when there are outputs,
 * appends them in the SAME DynamoDB transaction (Kafka's read-process-write, exactly once):
 *
 * 1. The outputs are checked and planned as a produce call per output topic (partitions by explicit
 *    choice, the key's murmur2, or a sticky partition), before anything is written.
 * 2. One segment object per output topic is PUT (offsets are never stored in objects).
 * 3. ONE transaction: each output partition's head append (a plain append's update), the lease check
 *    and the leased offset update, which moves the offset only from below `to`: of any number of
 *    attempts, however they are retried or delayed, at most one is applied (see
 *    lib/adapters/dynamodb/leased-commit-write.ts).
 *
 * A crash before the transaction leaves at most an object no entry references (orphan collection
 * deletes it) and the offset where it was: the redelivered batch's outputs are appended then, once. A
 * crash after it leaves the offset at `to`: the batch is not delivered again. A lost response is
 * resolved by reading the offset. Commits of one partition must not overlap (a dispatcher commits them
 * one after the other).
 *
 * Without outputs it is the plain leased commit (`commitLeased`). Throws LeaseLostError when the lease
 * is gone, OffsetResetError when a plain commit (a reset) came since the offset was read — in both
 * cases nothing is appended — and InvalidProduceReturnError (nothing written) for outputs that name
 * an unknown topic or partition, break a topic's rules, or span more than
 * {@link MAX_OUTPUT_PARTITIONS} partitions.
 *
 * @example
 * const outputs = parseProduceReturn(outcome.response);
 * await commitDelivered(ctx, sticky, {
 *   group: 'billing', topic, partition: 0, to: last.offset + 1,
 *   owner: dispatcher.ownerId, leaseCounter: lease.counter, plainCommits, outputs,
 * });
 */
export async function commitDelivered(
  ctx: EngineContext,
  sticky: StickyPartitions,
  range: DeliveredRange,
): Promise<void> {
  const commit: LeasedCommit = {
    group: range.group,
    topic: range.topic.name,
    topicId: range.topic.id,
    owner: range.owner,
    offsets: [
      {
        partition: range.partition,
        offset: range.to,
        leaseCounter: range.leaseCounter,
        plainCommits: range.plainCommits,
      },
    ],
  };
  if (range.outputs.length === 0) {
    await ctx.leases.commitLeased(commit);
    return;
  }
  const keyless = (topic: TopicRecord) => sticky.choose(topic);
  let outputs = encoded(limited(await planOutputs(ctx, range.outputs, keyless)));
  const write = ctx.leases.leasedCommitWrite(commit);
  for (let round = 1; ; round++) {
    const appends = await writeObjects(ctx, outputs);
    try {
      await ctx.index.appendAtomically(appends, write);
      return;
    } catch (error) {
      if (round >= MAX_ROUNDS) throw unknownOutputTopic(error, range.outputs);
      // Nothing was applied. Too late for these objects: write new ones (these become orphans).
      if (error instanceof CommitTooLateError) continue;
      if (!(error instanceof UnknownTopicError)) throw error;
      // An output topic was deleted, maybe created again, since it was cached: plan against it now.
      for (const { topic } of outputs) ctx.forget(topic.name);
      outputs = encoded(limited(await planOutputs(ctx, range.outputs, keyless)));
    }
  }
}

/**
 * Checks outputs against their topics as {@link commitDelivered} will (unknown topic or partition, a
 * record a topic refuses), throwing InvalidProduceReturnError naming the output (`produce[i]`), and
 * returns the partitions they write to as 'topic/partition' — keyless records without a partition as
 * 'topic/*', since one commit puts all of a topic's keyless records on one partition. So the size of
 * the union of several batches' sets bounds the partitions of a commit that passes them all (at most
 * {@link MAX_OUTPUT_PARTITIONS}). Nothing is written.
 *
 * @example
 * const partitions = await checkOutputs(ctx, parseProduceReturn(response)); // Set { 'invoices/2', 'audit/*' }
 */
export async function checkOutputs(
  ctx: EngineContext,
  outputs: readonly OutputRecord[],
): Promise<ReadonlySet<string>> {
  const keyless = -1;
  const planned = await planOutputs(ctx, outputs, () => keyless);
  return new Set(
    planned.flatMap(({ topic, plan }) =>
      plan.partitions.map((part) => `${topic.name}/${part.partition === keyless ? '*' : part.partition}`),
    ),
  );
}

/** An output topic that vanished between planning and committing is the return's fault. */
function unknownOutputTopic(error: unknown, outputs: readonly OutputRecord[]): unknown {
  if (!(error instanceof UnknownTopicError)) return error;
  const index = outputs.findIndex((record) => record.topic === error.topic);
  return new InvalidProduceReturnError(`produce[${index}].topic: ${error.message}`, { cause: error });
}

/**
 * Groups the outputs by topic (first appearance order) and plans each group as a produce call; the
 * errors name the output (`produce[i]`), not the group's record.
 */
async function planOutputs(
  ctx: EngineContext,
  outputs: readonly OutputRecord[],
  keyless: (topic: TopicRecord) => number,
): Promise<TopicOutputs[]> {
  const byTopic = new Map<string, number[]>();
  outputs.forEach((record, index) => {
    const indexes = byTopic.get(record.topic);
    if (indexes === undefined) byTopic.set(record.topic, [index]);
    else indexes.push(index);
  });
  const planned: TopicOutputs[] = [];
  for (const [name, indexes] of byTopic) {
    const at = (i: number) => indexes[i] as number;
    let topic: TopicRecord;
    try {
      topic = await ctx.topic(name);
    } catch (error) {
      if (!(error instanceof StreambedError) || error.retryable) throw error;
      throw new InvalidProduceReturnError(`produce[${at(0)}].topic: ${error.message}`, { cause: error });
    }
    let plan: ProducePlan;
    try {
      const records = indexes.map((i) => {
        const { topic: _, ...record } = outputs[i] as OutputRecord;
        return record;
      });
      plan = planProduce({ topic: name, records }, topic, ctx.now(), keyless(topic));
    } catch (error) {
      if (!(error instanceof StreambedError) || error.retryable) throw error;
      const message = error.message.replace(/records\[(\d+)\]/g, (_, i) => `produce[${at(Number(i))}]`);
      throw new InvalidProduceReturnError(message, { cause: error });
    }
    planned.push({ topic, plan });
  }
  return planned;
}

/** Refuses outputs that one transaction cannot hold. */
function limited(planned: TopicOutputs[]): TopicOutputs[] {
  const partitions = planned.reduce((sum, { plan }) => sum + plan.partitions.length, 0);
  if (partitions > MAX_OUTPUT_PARTITIONS) {
    throw new InvalidProduceReturnError(
      `produce writes to ${partitions} partitions; one commit may write to at most ${MAX_OUTPUT_PARTITIONS} (they are appended in one transaction with the offset)`,
    );
  }
  return planned;
}

/** PUTs one new segment object per output topic (in parallel); the entries to append for them. */
async function writeObjects(ctx: EngineContext, outputs: readonly EncodedOutputs[]): Promise<AtomicAppend[]> {
  const written = await Promise.all(
    outputs.map(async ({ topic, plan, segment }) => {
      const objectId = newObjectId(ctx.now());
      await ctx.objects.put(segmentKey(topic.name, topic.id, objectId), segment.bytes);
      const appendTime = ctx.now();
      return plan.partitions.map((part, i): AtomicAppend => {
        const location = segment.batches[i];
        if (location === undefined || location.partition !== part.partition) {
          throw new Error('segment batches do not line up with the plan');
        }
        return {
          ref: { topic: topic.name, topicId: topic.id, partition: part.partition },
          entry: {
            objectId,
            byteOffset: location.byteOffset,
            byteLength: location.byteLength,
            recordCount: location.recordCount,
            maxTimestamp: location.maxTimestamp,
            appendTime,
          },
        };
      });
    }),
  );
  return written.flat();
}
