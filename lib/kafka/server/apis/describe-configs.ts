import { ApiKey } from '../../protocol/api.ts';
import type { KafkaApiHandler } from '../context.ts';
import { KafkaError, toKafkaError } from '../error-codes.ts';
import { type KafkaConfigEntry, kafkaTopicConfigs } from '../topic-configs.ts';

interface DescribeConfigsRequest {
  readonly resources: readonly {
    readonly resourceType: number;
    readonly resourceName: string;
    readonly configurationKeys: readonly string[] | null;
  }[];
}

/** Kafka's ConfigResource.Type codes. */
const TOPIC = 2;
const BROKER = 4;
/** Kafka's ConfigSource codes. */
const DYNAMIC_TOPIC_CONFIG = 1;
const STATIC_BROKER_CONFIG = 4;
const DEFAULT_CONFIG = 5;

const BROKER_CONFIGS: readonly KafkaConfigEntry[] = [
  { name: 'auto.create.topics.enable', value: 'false', isDefault: false, configType: 1 },
  { name: 'delete.topic.enable', value: 'true', isDefault: true, configType: 1 },
  { name: 'num.partitions', value: '1', isDefault: true, configType: 3 },
];

/**
 * DescribeConfigs (key 32), v0-4: a topic's settings under Kafka's names (topic-configs.ts: retention.ms,
 * retention.bytes, cleanup.policy, max.message.bytes, compression.type, ...), read-only (AlterConfigs
 * is not served), and a few broker settings (auto.create.topics.enable=false). Other resource types:
 * INVALID_REQUEST.
 *
 * @example describeConfigs.handle({ resources: [{ resourceType: 2, resourceName: 'orders', configurationKeys: null }] }, 4, ctx)
 */
export const describeConfigs: KafkaApiHandler = {
  apiKey: ApiKey.DescribeConfigs,
  minVersion: 0,
  maxVersion: 4,
  handle: async (request, _version, ctx) => {
    const { resources } = request as unknown as DescribeConfigsRequest;
    const results = await Promise.all(
      resources.map(async (r) => {
        const base = { resourceType: r.resourceType, resourceName: r.resourceName };
        let entries: readonly KafkaConfigEntry[];
        let source: (e: KafkaConfigEntry) => number;
        if (r.resourceType === TOPIC) {
          try {
            entries = kafkaTopicConfigs((await ctx.engine.describeTopic(r.resourceName)).config);
          } catch (error) {
            const { errorCode, errorMessage } = toKafkaError(error);
            return { ...base, errorCode, errorMessage, configs: [] };
          }
          source = (e) => (e.isDefault ? DEFAULT_CONFIG : DYNAMIC_TOPIC_CONFIG);
        } else if (r.resourceType === BROKER) {
          entries = BROKER_CONFIGS;
          source = (e) => (e.isDefault ? DEFAULT_CONFIG : STATIC_BROKER_CONFIG);
        } else {
          return {
            ...base,
            errorCode: KafkaError.INVALID_REQUEST,
            errorMessage: `resource type ${r.resourceType} is not supported (topics: 2, brokers: 4)`,
            configs: [],
          };
        }
        const wanted =
          r.configurationKeys === null
            ? entries
            : entries.filter((e) => r.configurationKeys?.includes(e.name));
        return {
          ...base,
          errorCode: KafkaError.NONE,
          errorMessage: null,
          configs: wanted.map((e) => ({
            name: e.name,
            value: e.value,
            readOnly: true,
            isDefault: e.isDefault,
            configSource: source(e),
            isSensitive: false,
            synonyms: [],
            configType: e.configType,
            documentation: null,
          })),
        };
      }),
    );
    return { throttleTimeMs: 0, results };
  },
};
