import { InvalidArgumentError } from '../../../core/errors.ts';
import { resolveTopicConfig, validatePartitionCount, validateTopicName } from '../../../core/validation.ts';
import { ApiKey } from '../../protocol/api.ts';
import { ZERO_UUID } from '../../protocol/primitives.ts';
import { type HandlerContext, type KafkaApiHandler, kafkaTopicId } from '../context.ts';
import { KafkaError, type KafkaFailure, toKafkaError } from '../error-codes.ts';
import { kafkaTopicConfigs, topicConfigFromKafka } from '../topic-configs.ts';

interface CreatableTopic {
  readonly name: string;
  readonly numPartitions: number;
  readonly replicationFactor: number;
  readonly assignments: readonly { readonly partitionIndex: number; readonly brokerIds: readonly number[] }[];
  readonly configs: readonly { readonly name: string; readonly value: string | null }[];
}

interface CreateTopicsRequest {
  readonly topics: readonly CreatableTopic[];
  readonly validateOnly: boolean;
}

/** Kafka's num.partitions default, for a request that leaves the count to the broker (-1). */
const DEFAULT_PARTITIONS = 1;

/**
 * CreateTopics (key 19), v2-7: `Streambed.createTopic` with the Kafka configs mapped (topic-configs.ts).
 * NumPartitions -1 is 1 (Kafka's num.partitions default). Any replication factor ≥ 1, or -1, is
 * accepted: S3 and DynamoDB keep the copies, there are no replicas to place. Errors per topic:
 * TOPIC_ALREADY_EXISTS, INVALID_TOPIC_EXCEPTION, INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR,
 * INVALID_REPLICA_ASSIGNMENT (an assignment naming another broker), INVALID_CONFIG. ValidateOnly
 * checks and creates nothing.
 *
 * @example createTopics.handle({ topics: [{ name: 'orders', numPartitions: 3, replicationFactor: -1, assignments: [], configs: [] }], timeoutMs: 30000, validateOnly: false }, 7, ctx)
 */
export const createTopics: KafkaApiHandler = {
  apiKey: ApiKey.CreateTopics,
  minVersion: 2,
  maxVersion: 7,
  handle: async (request, _version, ctx) => {
    const { topics, validateOnly } = request as unknown as CreateTopicsRequest;
    const results = await Promise.all(topics.map((t) => createOne(ctx, t, validateOnly)));
    return { throttleTimeMs: 0, topics: results };
  },
};

async function createOne(ctx: HandlerContext, t: CreatableTopic, validateOnly: boolean): Promise<object> {
  const refuse = (failure: KafkaFailure) => ({
    name: t.name,
    topicId: ZERO_UUID,
    ...failure,
    numPartitions: -1,
    replicationFactor: -1,
    configs: null,
  });
  const checked = check(t, ctx.broker.nodeId);
  if ('errorCode' in checked) return refuse(checked);
  try {
    const topic = validateOnly
      ? { name: t.name, id: '', partitions: checked.partitions, config: resolveTopicConfig(checked.config) }
      : await ctx.engine.createTopic({
          name: t.name,
          partitions: checked.partitions,
          config: checked.config,
        });
    return {
      name: topic.name,
      topicId: validateOnly ? ZERO_UUID : kafkaTopicId(topic),
      errorCode: KafkaError.NONE,
      errorMessage: null,
      numPartitions: topic.partitions,
      replicationFactor: 1,
      configs: kafkaTopicConfigs(topic.config).map((c) => ({
        name: c.name,
        value: c.value,
        readOnly: true,
        configSource: c.isDefault ? 5 : 1,
        isSensitive: false,
      })),
    };
  } catch (error) {
    return refuse(toKafkaError(error));
  }
}

/** The request's topic, checked field by field so each failure gets Kafka's own code. */
function check(t: CreatableTopic, nodeId: number): { partitions: number; config: object } | KafkaFailure {
  const attempt = <T>(code: number, run: () => T): T | KafkaFailure => {
    try {
      return run();
    } catch (error) {
      if (error instanceof InvalidArgumentError) return { errorCode: code, errorMessage: error.message };
      throw error;
    }
  };
  const isFailure = (v: unknown): v is KafkaFailure =>
    typeof v === 'object' && v !== null && 'errorCode' in v;
  const name = attempt(KafkaError.INVALID_TOPIC_EXCEPTION, () => validateTopicName(t.name, 'name'));
  if (isFailure(name)) return name;
  if (t.replicationFactor === 0 || t.replicationFactor < -1) {
    return {
      errorCode: KafkaError.INVALID_REPLICATION_FACTOR,
      errorMessage: `replication factor must be -1 or at least 1, got ${t.replicationFactor}`,
    };
  }
  if (t.assignments.some((a) => a.brokerIds.some((id) => id !== nodeId))) {
    return {
      errorCode: KafkaError.INVALID_REPLICA_ASSIGNMENT,
      errorMessage: `the only broker is ${nodeId}; an assignment names another`,
    };
  }
  const count =
    t.assignments.length > 0
      ? t.assignments.length
      : t.numPartitions === -1
        ? DEFAULT_PARTITIONS
        : t.numPartitions;
  const partitions = attempt(KafkaError.INVALID_PARTITIONS, () => validatePartitionCount(count));
  if (isFailure(partitions)) return partitions;
  const config = attempt(KafkaError.INVALID_CONFIG, () => topicConfigFromKafka(t.configs));
  if (isFailure(config)) return config;
  return { partitions, config };
}
