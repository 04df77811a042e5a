import { InvalidArgumentError, RecordTooLargeError, RequestTooLargeError } from './errors.ts';
import { partitionForKey } from './partitioner.ts';
import type { ProducerBatch } from './producer-state.ts';
import type { BatchInput, LogRecord } from './segment/index.ts';
import { recordSize } from './segment/index.ts';
import type { ProduceRecord, ProduceRequest, ProducerIdentity, TopicRecord } from './types.ts';
import { isCompacted, MAX_TIMESTAMP, validateNonNegativeInt, validateProducerId } from './validation.ts';

/** The most records one produce call may carry. */
export const MAX_RECORDS_PER_CALL = 10_000;
/** Kafka's producer epoch is a 16-bit signed integer. */
export const MAX_PRODUCER_EPOCH = 32_767;
/** Kafka's sequence numbers are 32-bit signed integers. */
export const MAX_SEQUENCE = 2_147_483_647;

/** The records of one partition in a produce call, with where each came from in the request. */
export interface PartitionPlan {
  readonly partition: number;
  readonly records: LogRecord[];
  /** requestIndexes[i] is the position in the request of records[i]. */
  readonly requestIndexes: number[];
  readonly producer?: ProducerBatch;
}

export interface ProducePlan {
  readonly partitions: PartitionPlan[];
  readonly batches: BatchInput[];
}

/** Checks one produce record against its topic; the message names `records[index]`. */
function checkRecord(record: ProduceRecord, index: number, topic: TopicRecord): void {
  const field = `records[${index}]`;
  if (record === null || typeof record !== 'object')
    throw new InvalidArgumentError(`${field} must be an object`);
  if (record.value !== null && !(record.value instanceof Uint8Array)) {
    throw new InvalidArgumentError(`${field}.value must be bytes or null`);
  }
  if (record.value === null && record.valueIsJson === true) {
    throw new InvalidArgumentError(`${field}.valueIsJson must be false for a null value (a tombstone)`);
  }
  if (isCompacted(topic.config) && (record.key === undefined || record.key === null)) {
    // Kafka refuses these too: compaction keeps the latest record per key, and this one has none.
    throw new InvalidArgumentError(
      `${field} has no key; topic '${topic.name}' is compacted (cleanupPolicy ${topic.config.cleanupPolicy}) and needs a key on every record`,
    );
  }
  if (record.key !== undefined && record.key !== null && !(record.key instanceof Uint8Array)) {
    throw new InvalidArgumentError(`${field}.key must be bytes or null`);
  }
  if (record.partition !== undefined) {
    validateNonNegativeInt(record.partition, `${field}.partition`, topic.partitions - 1);
  }
  if (record.timestamp !== undefined)
    validateNonNegativeInt(record.timestamp, `${field}.timestamp`, MAX_TIMESTAMP);
  if (record.valueIsJson !== undefined && typeof record.valueIsJson !== 'boolean') {
    throw new InvalidArgumentError(`${field}.valueIsJson must be a boolean`);
  }
  if (record.headers !== undefined && !Array.isArray(record.headers)) {
    throw new InvalidArgumentError(`${field}.headers must be an array of [name, bytes] pairs`);
  }
  for (const [i, header] of (record.headers ?? []).entries()) {
    if (
      !Array.isArray(header) ||
      header.length !== 2 ||
      typeof header[0] !== 'string' ||
      !(header[1] instanceof Uint8Array)
    ) {
      throw new InvalidArgumentError(`${field}.headers[${i}] must be a [name, bytes] pair`);
    }
  }
}

/**
 * Decides each record's partition and groups the call into one batch per partition, keeping the
 * request order inside each partition. Partition = the explicit one, else Kafka's murmur2 of the
 * key, else `stickyPartition` (one partition for all keyless records of the call; for an idempotent
 * producer, a partition derived from its id, so a retry lands where the original did).
 *
 * @example
 * planProduce(request, topic, Date.now(), 3).partitions // [{ partition: 3, records: [...], ... }]
 */
export function planProduce(
  request: ProduceRequest,
  topic: TopicRecord,
  now: number,
  stickyPartition: number,
): ProducePlan {
  if (request === null || typeof request !== 'object')
    throw new InvalidArgumentError('the request must be an object');
  const records = request.records;
  if (!Array.isArray(records) || records.length === 0) {
    throw new InvalidArgumentError('records must be a non-empty array');
  }
  if (records.length > MAX_RECORDS_PER_CALL) {
    throw new RequestTooLargeError(
      `records may hold at most ${MAX_RECORDS_PER_CALL} records, got ${records.length}`,
    );
  }
  const producer = request.producer;
  let keyless = stickyPartition;
  if (producer !== undefined) {
    if (producer === null || typeof producer !== 'object') {
      throw new InvalidArgumentError('producer must be an object with producerId, epoch and sequences');
    }
    validateProducerId(producer.producerId, 'producer.producerId');
    validateNonNegativeInt(producer.epoch, 'producer.epoch', MAX_PRODUCER_EPOCH);
    keyless = partitionForKey(new TextEncoder().encode(producer.producerId), topic.partitions);
  }
  const byPartition = new Map<number, PartitionPlan>();
  for (let index = 0; index < records.length; index++) {
    if (!(index in records)) throw new InvalidArgumentError(`records[${index}] is missing`);
  }
  records.forEach((record, index) => {
    checkRecord(record, index, topic);
    const stored: LogRecord = {
      key: record.key ?? null,
      value: record.value,
      valueIsJson: record.valueIsJson ?? false,
      headers: record.headers ?? [],
      timestamp: record.timestamp ?? now,
    };
    const size = recordSize(stored);
    if (size > topic.config.maxRecordBytes) {
      throw new RecordTooLargeError(
        `records[${index}] is ${size} bytes; topic '${topic.name}' accepts at most ${topic.config.maxRecordBytes}`,
      );
    }
    const partition =
      record.partition ?? (stored.key === null ? keyless : partitionForKey(stored.key, topic.partitions));
    let plan = byPartition.get(partition);
    if (plan === undefined) {
      plan = { partition, records: [], requestIndexes: [] };
      byPartition.set(partition, plan);
    }
    plan.records.push(stored);
    plan.requestIndexes.push(index);
  });
  const partitions = [...byPartition.values()].sort((a, b) => a.partition - b.partition);
  let planned = partitions;
  if (producer !== undefined) {
    const sequences = sequencesByPartition(producer.sequences, partitions);
    planned = partitions.map((plan) => withProducer(plan, producer.producerId, producer.epoch, sequences));
  }
  return {
    partitions: planned,
    batches: planned.map((plan) => ({
      partition: plan.partition,
      records: plan.records,
      compression: topic.config.compression,
    })),
  };
}

export function sequencesByPartition(
  sequences: ProducerIdentity['sequences'] | undefined,
  partitions: readonly PartitionPlan[],
): Readonly<Record<number, number>> {
  if (typeof sequences === 'number') {
    if (partitions.length !== 1) {
      const written = partitions.map((plan) => plan.partition).join(', ');
      throw new InvalidArgumentError(
        `producer sequence is one number but the call writes to partitions ${written}; give one per partition`,
      );
    }
    return { [(partitions[0] as PartitionPlan).partition]: sequences };
  }
  if (sequences === null || typeof sequences !== 'object') {
    throw new InvalidArgumentError(
      'producer.sequences must be a number or an object of partition to sequence',
    );
  }
  const written = new Set(partitions.map((plan) => plan.partition));
  for (const key of Object.keys(sequences)) {
    if (!written.has(Number(key))) {
      throw new InvalidArgumentError(
        `producer.sequences[${key}] names a partition this call does not write to`,
      );
    }
  }
  return sequences;
}

export function withProducer(
  plan: PartitionPlan,
  producerId: string,
  epoch: number,
  sequences: Readonly<Record<number, number>>,
): PartitionPlan {
  const sequence = sequences[plan.partition];
  if (sequence === undefined) {
    throw new InvalidArgumentError(
      `producer.sequences must give a sequence for partition ${plan.partition}, which this call writes to`,
    );
  }
  validateNonNegativeInt(sequence, `producer.sequences[${plan.partition}]`, MAX_SEQUENCE);
  return { ...plan, producer: { producerId, epoch, sequence, count: plan.records.length } };
}
