import type { ProducerIdentity } from '../../../core/types.ts';
import type { ProduceOptions } from '../../../engine/produce.ts';
import { KafkaProtocolError } from '../../errors.ts';
import { ApiKey } from '../../protocol/api.ts';
import { decodeRecordBatches } from '../../protocol/record-batch.ts';
import type { HandlerContext, KafkaApiHandler } from '../context.ts';
import { KafkaError, type KafkaFailure, toKafkaError } from '../error-codes.ts';
import { toProduceRecords } from '../records.ts';

interface ProduceRequest {
  readonly transactionalId: string | null;
  readonly acks: number;
  readonly timeoutMs: number;
  readonly topicData: readonly {
    readonly name: string;
    readonly partitionData: readonly { readonly index: number; readonly records: Uint8Array | null }[];
  }[];
}

interface PartitionResult {
  readonly index: number;
  readonly errorCode: number;
  readonly baseOffset: bigint;
  readonly errorMessage: string | null;
  /** Known only on the errors that need it (see {@link produce}); -1 otherwise. */
  readonly logStartOffset?: bigint;
}

/**
 * How the Kafka door produces: a connection's requests are handled one at a time in order
 * (server.ts), so an idempotent batch ahead of its sequence is a real gap, refused at once (no wait
 * for a predecessor that cannot be in flight); and the Java producer's own epoch bump after a
 * sequence error is accepted, as a Kafka broker accepts it.
 */
export const KAFKA_PRODUCE_OPTIONS: ProduceOptions = { predecessorWaitsMs: [], acceptBumpedEpoch: true };

/** Errors whose response carries the partition's log start (a producer's recovery reads it). */
const NEEDS_LOG_START = new Set<number>([
  KafkaError.UNKNOWN_PRODUCER_ID,
  KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER,
]);

/** Where a produce failure has a more specific Kafka code than the table's: a bad record. */
const PRODUCE_OVERRIDES = { InvalidArgument: KafkaError.INVALID_RECORD } as const;

/**
 * Produce (key 0), v3-11: each partition's record batch v2 (CRC32C checked; none, gzip or zstd;
 * snappy and lz4 are UNSUPPORTED_COMPRESSION_TYPE) goes to `Streambed.produce` as one call with an
 * explicit partition, so a partition's records are committed (S3 object, then the DynamoDB append)
 * before it is acknowledged. acks=1 and acks=-1 both answer after that commit. acks=0 gets no
 * response; if any partition failed, the connection is closed instead, as a Kafka broker does
 * (KafkaApis: the client learns of the failure and refreshes its metadata). An idempotent batch
 * (producerId ≥ 0) carries its producer id, epoch and base sequence to the engine's producer rules
 * ({@link KAFKA_PRODUCE_OPTIONS}); a retried duplicate gets its original offsets. Transactional
 * batches are refused (transactions are not served).
 *
 * logStartOffset is sent with UNKNOWN_PRODUCER_ID and OUT_OF_ORDER_SEQUENCE_NUMBER, the errors a
 * producer reads it with (while it is -1 the Java client resends an UNKNOWN_PRODUCER_ID batch
 * unchanged until its delivery timeout); it costs a read of the partition's head, so a success answers -1 (unknown, which clients
 * accept): the commit path's append does not return the log start. logAppendTimeMs is -1 because
 * Streambed keeps the producer's timestamps (CreateTime): there is no LogAppendTime topic.
 *
 * @example produce.handle({ acks: -1, timeoutMs: 30000, transactionalId: null, topicData: [...] }, 9, ctx)
 */
export const produce: KafkaApiHandler = {
  apiKey: ApiKey.Produce,
  minVersion: 3,
  maxVersion: 11,
  handle: async (request, _version, ctx) => {
    const { acks, transactionalId, topicData } = request as unknown as ProduceRequest;
    const badAcks = acks !== 0 && acks !== 1 && acks !== -1;
    const responses = [];
    for (const topic of topicData) {
      const partitionResponses = await Promise.all(
        topic.partitionData.map((p): Promise<PartitionResult> => {
          if (badAcks) {
            return Promise.resolve(
              failed(p.index, {
                errorCode: KafkaError.INVALID_REQUIRED_ACKS,
                errorMessage: `acks must be 0, 1 or -1, got ${acks}`,
              }),
            );
          }
          if (transactionalId !== null) {
            return Promise.resolve(
              failed(p.index, {
                errorCode: KafkaError.INVALID_REQUEST,
                errorMessage: 'transactions are not supported by Streambed',
              }),
            );
          }
          return producePartition(ctx, topic.name, p.index, p.records);
        }),
      );
      responses.push({
        name: topic.name,
        partitionResponses: partitionResponses.map((r) => ({
          ...r,
          logAppendTimeMs: -1n,
          logStartOffset: r.logStartOffset ?? -1n,
          recordErrors: [],
        })),
      });
    }
    if (acks === 0) {
      const failures = responses.flatMap((t) =>
        t.partitionResponses
          .filter((p) => p.errorCode !== KafkaError.NONE)
          .map((p) => `${t.name}-${p.index}: error ${p.errorCode} ${p.errorMessage ?? ''}`),
      );
      // Produce has no top-level error code, so the dispatcher closes the connection on a throw.
      if (failures.length > 0) throw new AcksZeroProduceFailedError(failures);
      return null;
    }
    return { responses, throttleTimeMs: 0 };
  },
};

/**
 * An acks=0 produce of which a partition failed: nothing can be answered, so the connection is closed
 * (the dispatcher closes it for a Produce that throws: its response has no top-level error code).
 *
 * @example throw new AcksZeroProduceFailedError(['orders-1: error 3 unknown topic'])
 */
export class AcksZeroProduceFailedError extends KafkaProtocolError {
  readonly code = 'KafkaAcksZeroProduceFailed';
  readonly status = 500;
  readonly kafkaErrorCode: number = KafkaError.UNKNOWN_SERVER_ERROR;
  constructor(failures: readonly string[]) {
    super(`acks=0 produce failed, closing the connection: ${failures.join('; ')}`);
  }
}

function failed(index: number, failure: KafkaFailure): PartitionResult {
  return { index, errorCode: failure.errorCode, baseOffset: -1n, errorMessage: failure.errorMessage };
}

/**
 * One partition's batch through the engine. Errors are the partition's, never the request's.
 *
 * @example await producePartition(ctx, 'orders', 0, bytes) // { index: 0, errorCode: 0, baseOffset: 17n, errorMessage: null }
 */
export async function producePartition(
  ctx: Pick<HandlerContext, 'engine'>,
  topic: string,
  partition: number,
  bytes: Uint8Array | null,
): Promise<PartitionResult> {
  try {
    const batches = decodeRecordBatches(bytes);
    const batch = batches[0];
    if (batches.length !== 1 || batch === undefined) {
      return failed(partition, {
        errorCode: KafkaError.INVALID_RECORD,
        errorMessage: `a produce request must hold exactly one record batch per partition, got ${batches.length}`,
      });
    }
    if (batch.transactional || batch.control) {
      return failed(partition, {
        errorCode: KafkaError.INVALID_RECORD,
        errorMessage: 'transactional and control batches are not supported by Streambed',
      });
    }
    if (batch.records.length === 0) {
      return failed(partition, {
        errorCode: KafkaError.INVALID_RECORD,
        errorMessage: 'the record batch is empty',
      });
    }
    const producer: ProducerIdentity | undefined =
      batch.producerId >= 0n
        ? {
            producerId: batch.producerId.toString(),
            epoch: batch.producerEpoch,
            sequences: batch.baseSequence,
          }
        : undefined;
    const result = await ctx.engine.produce(
      {
        topic,
        records: toProduceRecords(batch, partition),
        ...(producer === undefined ? {} : { producer }),
      },
      KAFKA_PRODUCE_OPTIONS,
    );
    const first = result.offsets[0];
    return {
      index: partition,
      errorCode: KafkaError.NONE,
      baseOffset: BigInt(first?.offset ?? -1),
      errorMessage: null,
    };
  } catch (error) {
    const failure = toKafkaError(error, PRODUCE_OVERRIDES);
    if (failure.errorCode === KafkaError.INVALID_RECORD && !(await partitionExists(ctx, topic, partition))) {
      return failed(partition, {
        errorCode: KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
        errorMessage: `topic '${topic}' has no partition ${partition}`,
      });
    }
    if (!NEEDS_LOG_START.has(failure.errorCode)) return failed(partition, failure);
    const start = await ctx.engine.listOffsets(topic, partition, 'earliest').catch(() => null);
    return { ...failed(partition, failure), logStartOffset: BigInt(start ?? -1) };
  }
}

async function partitionExists(ctx: Pick<HandlerContext, 'engine'>, topic: string, partition: number) {
  const found = (await ctx.engine.listTopics().catch(() => [])).find((t) => t.name === topic);
  return found !== undefined && partition >= 0 && partition < found.partitions;
}
