import {
  CorruptSegmentError,
  InvalidArgumentError,
  RecordTooLargeError,
  RequestTooLargeError,
} from './errors.ts';
import {
  MAX_PRODUCER_EPOCH,
  MAX_RECORDS_PER_CALL,
  type PartitionPlan,
  sequencesByPartition,
  withProducer,
} from './produce-plan.ts';
import type { ProducerBatch } from './producer-state.ts';
import {
  type BatchLocation,
  type DeclaredBatch,
  declaredBatches,
  readSegment,
  recordSize,
} from './segment/index.ts';
import type { ProducerIdentity, TopicRecord } from './types.ts';
import { isCompacted, MAX_TIMESTAMP, validateNonNegativeInt, validateProducerId } from './validation.ts';

/** One batch of a segment a client encoded, where it sits, and its producer batch if idempotent. */
export interface SegmentPart {
  readonly partition: number;
  readonly location: BatchLocation;
  readonly producer?: ProducerBatch;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Checks a segment object a client encoded (the binary produce body) against its topic, without
 * re-encoding anything: the header, every batch's CRC32C and structure (segment.ts, batch.ts), then
 * the rules a JSON produce call is held to — partitions that exist, at most 10,000 records, each
 * record within the topic's `maxRecordBytes`, a key on every record of a compacted topic, JSON-flagged
 * values that are JSON — and dense batches only (holes are for key compaction). Throws
 * InvalidArgumentError (400) for bytes that are not a valid segment and the same typed errors as
 * `planProduce` otherwise. The parts come back in the segment's batch order.
 *
 * @example
 * const parts = planSegment(body, topic, { producerId, epoch: 0, sequences: { 0: 12 } });
 * parts[0] // { partition: 0, location: { byteOffset: 8, byteLength: 1084, recordCount: 1, ... }, producer: {...} }
 */
export function planSegment(
  bytes: Uint8Array,
  topic: TopicRecord,
  producer?: ProducerIdentity,
): SegmentPart[] {
  let read: ReturnType<typeof readSegment>;
  try {
    checkDeclared(declaredBatches(bytes), topic);
    read = readSegment(bytes);
  } catch (error) {
    if (!(error instanceof CorruptSegmentError)) throw error;
    throw new InvalidArgumentError(`the body is not a valid segment: ${error.message}`);
  }
  const total = read.batches.reduce((n, batch) => n + batch.records.length, 0);
  if (total > MAX_RECORDS_PER_CALL) {
    throw new RequestTooLargeError(`the body may hold at most ${MAX_RECORDS_PER_CALL} records, got ${total}`);
  }
  const plans: PartitionPlan[] = read.batches.map((batch, i) => {
    const where = `batch ${i} (partition ${batch.partition})`;
    if (batch.offsetDeltas !== undefined || batch.span !== batch.records.length) {
      throw new InvalidArgumentError(`${where} is sparse; a produced batch holds one record per offset`);
    }
    if (batch.maxTimestamp > MAX_TIMESTAMP) {
      throw new InvalidArgumentError(
        `${where} has a record timestamp of ${batch.maxTimestamp}, above the latest accepted, ${MAX_TIMESTAMP}`,
      );
    }
    if (batch.partition >= topic.partitions) {
      throw new InvalidArgumentError(
        `${where}: topic '${topic.name}' has partitions 0-${topic.partitions - 1}`,
      );
    }
    for (const [j, record] of batch.records.entries()) {
      const size = recordSize(record);
      if (size > topic.config.maxRecordBytes) {
        throw new RecordTooLargeError(
          `${where} record ${j} is ${size} bytes; topic '${topic.name}' accepts at most ${topic.config.maxRecordBytes}`,
        );
      }
      if (record.key === null && isCompacted(topic.config)) {
        throw new InvalidArgumentError(
          `${where} record ${j} has no key; topic '${topic.name}' is compacted (cleanupPolicy ${topic.config.cleanupPolicy}) and needs a key on every record`,
        );
      }
      if (record.valueIsJson && record.value !== null) checkJson(record.value, `${where} record ${j}`);
    }
    return { partition: batch.partition, records: batch.records, requestIndexes: [] };
  });
  let planned = plans;
  if (producer !== undefined) {
    validateProducerId(producer.producerId, 'producer id');
    validateNonNegativeInt(producer.epoch, 'producer epoch', MAX_PRODUCER_EPOCH);
    const sequences = sequencesByPartition(producer.sequences, plans);
    planned = plans.map((plan) => withProducer(plan, producer.producerId, producer.epoch, sequences));
  }
  return planned.map((plan, i) => ({
    partition: plan.partition,
    location: read.locations[i] as BatchLocation,
    ...(plan.producer === undefined ? {} : { producer: plan.producer }),
  }));
}

/** Most bytes a binary produce body may inflate to, all batches together (one batch's own cap). */
export const MAX_INFLATED_BODY_BYTES = 64 * 1024 * 1024;

/**
 * What the batch headers declare, checked before any CRC or inflating: partitions the topic has, and at
 * most {@link MAX_INFLATED_BODY_BYTES} once inflated — so a few KB of zstd declaring gigabytes of zeros
 * costs nothing.
 */
function checkDeclared(declared: readonly DeclaredBatch[], topic: TopicRecord): void {
  let inflated = 0;
  for (const [i, batch] of declared.entries()) {
    if (batch.partition >= topic.partitions) {
      throw new InvalidArgumentError(
        `batch ${i} (partition ${batch.partition}): topic '${topic.name}' has partitions 0-${topic.partitions - 1}`,
      );
    }
    inflated += batch.recordsLength;
  }
  if (inflated > MAX_INFLATED_BODY_BYTES) {
    throw new RequestTooLargeError(
      `the body's batches inflate to ${inflated} bytes, above the ${MAX_INFLATED_BODY_BYTES}-byte limit`,
    );
  }
}

function checkJson(value: Uint8Array, where: string): void {
  try {
    JSON.parse(strictUtf8.decode(value));
  } catch {
    throw new InvalidArgumentError(`${where} is flagged JSON but its value is not UTF-8 JSON text`);
  }
}
