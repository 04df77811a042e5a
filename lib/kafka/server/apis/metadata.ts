import type { TopicRecord } from '../../../core/types.ts';
import { ApiKey } from '../../protocol/api.ts';
import { ZERO_UUID } from '../../protocol/primitives.ts';
import { type HandlerContext, type KafkaApiHandler, kafkaTopicId } from '../context.ts';
import { KafkaError } from '../error-codes.ts';

interface MetadataRequest {
  /** null (v1+), or empty at v0: every topic. */
  readonly topics: readonly { readonly name: string | null; readonly topicId: string }[] | null;
}

/**
 * Metadata (key 3), v0-12: one broker (this server, at its advertised address), which is also the
 * controller and the leader of every partition. Topics are never created by asking for them (Kafka's
 * `auto.create.topics.enable=false`): an unknown one is UNKNOWN_TOPIC_OR_PARTITION (or UNKNOWN_TOPIC_ID
 * when asked for by id).
 *
 * @example metadata.handle({ topics: [{ name: 'orders', topicId: ZERO_UUID }] }, 12, ctx)
 */
export const metadata: KafkaApiHandler = {
  apiKey: ApiKey.Metadata,
  minVersion: 0,
  maxVersion: 12,
  handle: async (request, version, ctx) => {
    const { topics } = request as unknown as MetadataRequest;
    const all = topics === null || (version === 0 && topics.length === 0);
    const known = await ctx.engine.listTopics();
    let answered: object[];
    if (all) {
      answered = known.map((topic) => describe(topic, ctx));
    } else {
      answered = topics.map(({ name, topicId }) => {
        const topic =
          name !== null ? known.find((t) => t.name === name) : known.find((t) => kafkaTopicId(t) === topicId);
        if (topic !== undefined) return describe(topic, ctx);
        return {
          errorCode: name !== null ? KafkaError.UNKNOWN_TOPIC_OR_PARTITION : KafkaError.UNKNOWN_TOPIC_ID,
          name,
          topicId: name !== null ? ZERO_UUID : topicId,
          isInternal: false,
          partitions: [],
        };
      });
    }
    const { nodeId, host, port } = ctx.broker;
    return {
      throttleTimeMs: 0,
      brokers: [{ nodeId, host, port, rack: null }],
      clusterId: ctx.clusterId,
      controllerId: nodeId,
      topics: answered,
    };
  },
};

function describe(topic: TopicRecord, ctx: HandlerContext): object {
  const { nodeId } = ctx.broker;
  return {
    errorCode: KafkaError.NONE,
    name: topic.name,
    topicId: kafkaTopicId(topic),
    isInternal: false,
    partitions: Array.from({ length: topic.partitions }, (_, partitionIndex) => ({
      errorCode: KafkaError.NONE,
      partitionIndex,
      leaderId: nodeId,
      leaderEpoch: 0,
      replicaNodes: [nodeId],
      isrNodes: [nodeId],
      offlineReplicas: [],
    })),
  };
}
