import { ApiKey } from '../../protocol/api.ts';
import { int64, type KafkaApiHandler } from '../context.ts';
import { toKafkaError } from '../error-codes.ts';

interface DeleteRecordsRequest {
  readonly topics: readonly {
    readonly name: string;
    readonly partitions: readonly { readonly partitionIndex: number; readonly offset: bigint }[];
  }[];
}

/**
 * DeleteRecords (key 21), v0-2: `Streambed.deleteRecords` — records below the offset (-1: the high
 * watermark) leave the partition; the answer is the new log start offset (LowWatermark). Above the
 * high watermark: OFFSET_OUT_OF_RANGE.
 *
 * @example deleteRecords.handle({ topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, offset: 100n }] }], timeoutMs: 30000 }, 2, ctx)
 */
export const deleteRecords: KafkaApiHandler = {
  apiKey: ApiKey.DeleteRecords,
  minVersion: 0,
  maxVersion: 2,
  handle: async (request, _version, ctx) => {
    const { topics } = request as unknown as DeleteRecordsRequest;
    const results = await Promise.all(
      topics.map(async (t) => ({
        name: t.name,
        partitions: await Promise.all(
          t.partitions.map(async (p) => {
            try {
              const { logStartOffset } = await ctx.engine.deleteRecords(
                t.name,
                p.partitionIndex,
                int64(p.offset),
              );
              return { partitionIndex: p.partitionIndex, lowWatermark: BigInt(logStartOffset), errorCode: 0 };
            } catch (error) {
              return {
                partitionIndex: p.partitionIndex,
                lowWatermark: -1n,
                errorCode: toKafkaError(error).errorCode,
              };
            }
          }),
        ),
      })),
    );
    return { throttleTimeMs: 0, topics: results };
  },
};
