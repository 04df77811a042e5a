import { ApiKey } from '../../protocol/api.ts';
import type { KafkaApiHandler } from '../context.ts';
import { KafkaError, toKafkaError } from '../error-codes.ts';

interface CreatePartitionsRequest {
  readonly topics: readonly { readonly name: string; readonly count: number }[];
}

/**
 * CreatePartitions (key 37), v0-3: refused. A Streambed topic keeps the partition count it was
 * created with (keys are placed by murmur2 over that count, and each partition's offsets live in its
 * own head): growing one is INVALID_REQUEST with a message saying so; asking for the count it already
 * has, or fewer, is INVALID_PARTITIONS, as in Kafka; an unknown topic is UNKNOWN_TOPIC_OR_PARTITION.
 *
 * @example createPartitions.handle({ topics: [{ name: 'orders', count: 6, assignments: null }], timeoutMs: 30000, validateOnly: false }, 3, ctx)
 */
export const createPartitions: KafkaApiHandler = {
  apiKey: ApiKey.CreatePartitions,
  minVersion: 0,
  maxVersion: 3,
  handle: async (request, _version, ctx) => {
    const { topics } = request as unknown as CreatePartitionsRequest;
    const results = await Promise.all(
      topics.map(async ({ name, count }) => {
        try {
          const topic = await ctx.engine.describeTopic(name);
          if (count <= topic.partitions) {
            return {
              name,
              errorCode: KafkaError.INVALID_PARTITIONS,
              errorMessage: `topic '${name}' already has ${topic.partitions} partitions`,
            };
          }
          return {
            name,
            errorCode: KafkaError.INVALID_REQUEST,
            errorMessage: `Streambed topics cannot grow: '${name}' keeps its ${topic.partitions} partitions; create a new topic with ${count} and move to it`,
          };
        } catch (error) {
          return { name, ...toKafkaError(error) };
        }
      }),
    );
    return { throttleTimeMs: 0, results };
  },
};
