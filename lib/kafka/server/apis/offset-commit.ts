import type { OffsetCommitRequest } from '../../groups/index.ts';
import { ApiKey } from '../../protocol/api.ts';
import type { KafkaApiHandler } from '../context.ts';
import { toKafkaError } from '../error-codes.ts';
import { coordinatorOf } from '../groups.ts';

/**
 * OffsetCommit (key 8), v2-9 (v0-1 are ZooKeeper-era and unused by current clients): into the same
 * committed offsets the HTTP API and the SDK read, fenced by the Kafka generation. The response has
 * no top-level error code, so a failure of the whole commit is answered on every partition.
 *
 * @example offsetCommit.handle({ groupId: 'billing', generationIdOrMemberEpoch: 3, memberId, topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 42n, ... }] }] }, 5, ctx)
 */
export const offsetCommit: KafkaApiHandler = {
  apiKey: ApiKey.OffsetCommit,
  minVersion: 2,
  maxVersion: 9,
  handle: async (request, version, ctx) => {
    const body = request as unknown as OffsetCommitRequest;
    try {
      return await coordinatorOf(ctx).offsetCommit(body, version);
    } catch (error) {
      const { errorCode } = toKafkaError(error);
      return {
        throttleTimeMs: 0,
        topics: body.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })),
        })),
      };
    }
  },
};
