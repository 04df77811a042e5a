import { ApiKey } from '../../protocol/api.ts';
import { ZERO_UUID } from '../../protocol/primitives.ts';
import { type KafkaApiHandler, kafkaTopicId } from '../context.ts';
import { KafkaError, toKafkaError } from '../error-codes.ts';

interface DeleteTopicsRequest {
  /** v0-5. */
  readonly topicNames: readonly string[];
  /** v6+: by name or by id. */
  readonly topics: readonly { readonly name: string | null; readonly topicId: string }[];
}

/**
 * DeleteTopics (key 20), v0-6: `Streambed.deleteTopic` for each name (v6+: or topic id, as Metadata
 * gave it). Unknown: UNKNOWN_TOPIC_OR_PARTITION, or UNKNOWN_TOPIC_ID by id.
 *
 * @example deleteTopics.handle({ topicNames: ['orders'], topics: [], timeoutMs: 30000 }, 5, ctx)
 */
export const deleteTopics: KafkaApiHandler = {
  apiKey: ApiKey.DeleteTopics,
  minVersion: 0,
  maxVersion: 6,
  handle: async (request, version, ctx) => {
    const req = request as unknown as DeleteTopicsRequest;
    const wanted = version >= 6 ? req.topics : req.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));
    const byId = wanted.some((t) => t.name === null) ? await ctx.engine.listTopics() : [];
    const responses = await Promise.all(
      wanted.map(async ({ name, topicId }) => {
        const resolved = name ?? byId.find((t) => kafkaTopicId(t) === topicId)?.name;
        if (resolved === undefined) {
          return {
            name: null,
            topicId,
            errorCode: KafkaError.UNKNOWN_TOPIC_ID,
            errorMessage: `no topic has id ${topicId}`,
          };
        }
        try {
          await ctx.engine.deleteTopic(resolved);
          return { name: resolved, topicId, errorCode: KafkaError.NONE, errorMessage: null };
        } catch (error) {
          return { name: resolved, topicId, ...toKafkaError(error) };
        }
      }),
    );
    return { throttleTimeMs: 0, responses };
  },
};
