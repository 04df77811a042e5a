import type { ProducerIdentity } from '../../../core/types.ts';
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
}

/** Where a produce failure has a more specific Kafka code than the table's: a bad record. */
const PRODUCE_OVERRIDES = { InvalidArgument: KafkaError.INVALID_RECORD } as const;

/**
 * Produce (key 0), v3-11: each partition's record batch v2 (CRC32C checked; none, gzip or zstd;
 * snappy and lz4 are UNSUPPORTED_COMPRESSION_TYPE) goes to `Streambed.produce` as one call with an
 * explicit partition, so a partition's records are committed (S3 object, then the DynamoDB append)
 * before it is acknowledged. acks=1 and acks=-1 both answer after that commit; acks=0 gets no
 * response. An idempotent batch (producerId ≥ 0) carries its producer id, epoch and base sequence to
 * the engine's producer rules; a retried duplicate gets its original offsets. Transactional batches
 * are refused (transactions are not served).
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
          logStartOffset: -1n,
          recordErrors: [],
        })),
      });
    }
    if (acks === 0) return null;
    return { responses, throttleTimeMs: 0 };
  },
};

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
    const result = await ctx.engine.produce({
      topic,
      records: toProduceRecords(batch, partition),
      ...(producer === undefined ? {} : { producer }),
    });
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
    return failed(partition, failure);
  }
}

async function partitionExists(ctx: Pick<HandlerContext, 'engine'>, topic: string, partition: number) {
  const found = (await ctx.engine.listTopics().catch(() => [])).find((t) => t.name === topic);
  return found !== undefined && partition >= 0 && partition < found.partitions;
}
