import type { OffsetSpec } from '../../../core/types.ts';
import { ApiKey } from '../../protocol/api.ts';
import { type HandlerContext, int64, type KafkaApiHandler } from '../context.ts';
import { KafkaError, toKafkaError } from '../error-codes.ts';

interface ListOffsetsRequest {
  readonly topics: readonly {
    readonly name: string;
    readonly partitions: readonly { readonly partitionIndex: number; readonly timestamp: bigint }[];
  }[];
}

/** Kafka's special timestamps. */
const LATEST = -1;
const EARLIEST = -2;

/**
 * ListOffsets (key 2), v1-6: -2 (earliest) is the log start offset, -1 (latest) the high watermark, a
 * timestamp T the first offset whose record timestamp is ≥ T, with that record's timestamp (offset
 * and timestamp -1 when there is none), by `Streambed.listOffsets`. v7+ (max-timestamp, -3, and the
 * tiered-storage specs) is not served: clients asking for those get Kafka's UnsupportedVersion.
 *
 * @example listOffsets.handle({ replicaId: -1, isolationLevel: 0, topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, timestamp: -2n }] }] }, 6, ctx)
 */
export const listOffsets: KafkaApiHandler = {
  apiKey: ApiKey.ListOffsets,
  minVersion: 1,
  maxVersion: 6,
  handle: async (request, _version, ctx) => {
    const { topics } = request as unknown as ListOffsetsRequest;
    const responses = await Promise.all(
      topics.map(async (t) => ({
        name: t.name,
        partitions: await Promise.all(
          t.partitions.map((p) => listOne(ctx, t.name, p.partitionIndex, int64(p.timestamp))),
        ),
      })),
    );
    return { throttleTimeMs: 0, topics: responses };
  },
};

async function listOne(ctx: HandlerContext, topic: string, partitionIndex: number, timestamp: number) {
  const answer = (offset: number, ts: number) => ({
    partitionIndex,
    errorCode: KafkaError.NONE,
    timestamp: BigInt(ts),
    offset: BigInt(offset),
    leaderEpoch: 0,
  });
  try {
    if (timestamp !== LATEST && timestamp !== EARLIEST && !(timestamp >= 0)) {
      return {
        partitionIndex,
        errorCode: KafkaError.UNSUPPORTED_VERSION,
        timestamp: -1n,
        offset: -1n,
        leaderEpoch: -1,
      };
    }
    const spec: OffsetSpec =
      timestamp === LATEST ? 'latest' : timestamp === EARLIEST ? 'earliest' : { timestamp };
    const offset = await ctx.engine.listOffsets(topic, partitionIndex, spec);
    if (offset === null) return answer(-1, -1);
    if (typeof spec === 'string') return answer(offset, -1);
    const found = await ctx.engine.fetch({ topic, partition: partitionIndex, offset, maxRecords: 1 });
    return answer(offset, found.records[0]?.offset === offset ? found.records[0].timestamp : timestamp);
  } catch (error) {
    return {
      partitionIndex,
      errorCode: toKafkaError(error).errorCode,
      timestamp: -1n,
      offset: -1n,
      leaderEpoch: -1,
    };
  }
}
