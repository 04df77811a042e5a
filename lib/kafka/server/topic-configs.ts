import { InvalidArgumentError } from '../../core/errors.ts';
import type { TopicConfig } from '../../core/types.ts';
import { DEFAULT_TOPIC_CONFIG, resolveTopicConfig } from '../../core/validation.ts';

/** Kafka's ConfigType codes (DescribeConfigs v3+). */
const ConfigType = { STRING: 2, INT: 3, LONG: 5, DOUBLE: 6, LIST: 7 } as const;

interface Mapping {
  readonly kafka: string;
  readonly streambed: keyof TopicConfig;
  readonly type: number;
  readonly toKafka: (value: unknown) => string;
  readonly fromKafka: (value: string) => unknown;
}

const integer = (name: string) => (value: string) => {
  if (!/^-?\d+$/.test(value.trim()))
    throw new InvalidArgumentError(`${name} must be an integer, got '${value}'`);
  return Number(value);
};
const text = (value: unknown) => String(value);

/**
 * Kafka topic config names and Streambed's topic settings, both ways. `max.message.bytes` is
 * Streambed's per-record limit (Kafka's bounds a whole batch); `compression.type` is how Streambed
 * stores batches (none, gzip or zstd; Kafka's `uncompressed` is none; `producer`, snappy and lz4 are
 * refused).
 */
export const TOPIC_CONFIGS: readonly Mapping[] = [
  {
    kafka: 'cleanup.policy',
    streambed: 'cleanupPolicy',
    type: ConfigType.LIST,
    toKafka: text,
    fromKafka: (v) => {
      const parts = v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')
        .sort();
      return parts.length === 2 && parts[0] === 'compact' && parts[1] === 'delete'
        ? 'compact,delete'
        : parts.join(',');
    },
  },
  {
    kafka: 'compression.type',
    streambed: 'compression',
    type: ConfigType.STRING,
    toKafka: text,
    fromKafka: (v) => (v === 'uncompressed' ? 'none' : v),
  },
  {
    kafka: 'delete.retention.ms',
    streambed: 'deleteRetentionMs',
    type: ConfigType.LONG,
    toKafka: text,
    fromKafka: integer('delete.retention.ms'),
  },
  {
    kafka: 'max.message.bytes',
    streambed: 'maxRecordBytes',
    type: ConfigType.INT,
    toKafka: text,
    fromKafka: integer('max.message.bytes'),
  },
  {
    kafka: 'min.cleanable.dirty.ratio',
    streambed: 'minCleanableDirtyRatio',
    type: ConfigType.DOUBLE,
    toKafka: text,
    fromKafka: (v) => {
      const n = Number(v);
      if (v.trim() === '' || Number.isNaN(n))
        throw new InvalidArgumentError(`min.cleanable.dirty.ratio must be a number, got '${v}'`);
      return n;
    },
  },
  {
    kafka: 'min.compaction.lag.ms',
    streambed: 'minCompactionLagMs',
    type: ConfigType.LONG,
    toKafka: text,
    fromKafka: integer('min.compaction.lag.ms'),
  },
  {
    kafka: 'retention.bytes',
    streambed: 'retentionBytes',
    type: ConfigType.LONG,
    toKafka: text,
    fromKafka: integer('retention.bytes'),
  },
  {
    kafka: 'retention.ms',
    streambed: 'retentionMs',
    type: ConfigType.LONG,
    toKafka: text,
    fromKafka: integer('retention.ms'),
  },
];

/**
 * A topic config from Kafka `name=value` pairs (CreateTopics), checked as the engine checks it.
 * Unknown names and bad values throw InvalidArgumentError naming the Kafka config.
 *
 * @example topicConfigFromKafka([{ name: 'retention.ms', value: '86400000' }]) // { retentionMs: 86400000 }
 */
export function topicConfigFromKafka(
  configs: readonly { readonly name: string; readonly value: string | null }[],
): Partial<Record<keyof TopicConfig, unknown>> {
  const out: Partial<Record<keyof TopicConfig, unknown>> = {};
  for (const { name, value } of configs) {
    const mapping = TOPIC_CONFIGS.find((m) => m.kafka === name);
    if (mapping === undefined) {
      throw new InvalidArgumentError(
        `topic config '${name}' is not supported by Streambed (supported: ${TOPIC_CONFIGS.map((m) => m.kafka).join(', ')})`,
      );
    }
    if (value === null) continue;
    out[mapping.streambed] = mapping.fromKafka(value);
  }
  try {
    resolveTopicConfig(out);
  } catch (error) {
    if (!(error instanceof InvalidArgumentError)) throw error;
    const kafkaName = (key: string) => TOPIC_CONFIGS.find((m) => m.streambed === key)?.kafka ?? key;
    throw new InvalidArgumentError(
      error.message.replace(/config\.(\w+)/g, (_, key: string) => kafkaName(key)),
    );
  }
  return out;
}

/** One config entry as DescribeConfigs and CreateTopics v5+ describe it. */
export interface KafkaConfigEntry {
  readonly name: string;
  readonly value: string;
  readonly isDefault: boolean;
  /** ConfigType (DescribeConfigs v3+). */
  readonly configType: number;
}

/**
 * A topic's settings under their Kafka names, sorted by name.
 *
 * @example kafkaTopicConfigs(topic.config).find((c) => c.name === 'retention.ms') // { value: '604800000', isDefault: true, ... }
 */
export function kafkaTopicConfigs(config: TopicConfig): KafkaConfigEntry[] {
  return TOPIC_CONFIGS.map((m) => {
    const value = config[m.streambed] ?? DEFAULT_TOPIC_CONFIG[m.streambed];
    return {
      name: m.kafka,
      value: m.toKafka(value),
      isDefault: value === DEFAULT_TOPIC_CONFIG[m.streambed],
      configType: m.type,
    };
  });
}
