import { InvalidArgumentError } from 'commander';
import type { TopicConfig } from '../client/index.ts';

/**
 * Argument parsers for commander: each turns the text of one option or argument into a value, or
 * throws commander's InvalidArgumentError, which commander reports as
 * `error: option '--partitions <n>' argument 'x' is invalid. <message>` (exit code 2).
 */

/**
 * A non-negative integer.
 *
 * @example
 * new Option('--partition <n>').argParser(nonNegativeInt); // '3' → 3
 */
export function nonNegativeInt(text: string): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value)) throw new InvalidArgumentError('Expected a non-negative integer.');
  return value;
}

/**
 * A positive integer.
 *
 * @example
 * positiveInt('3'); // 3
 */
export function positiveInt(text: string): number {
  const value = nonNegativeInt(text);
  if (value < 1) throw new InvalidArgumentError('Expected a positive integer.');
  return value;
}

/**
 * An integer, negative allowed (an offset counted back from the end).
 *
 * @example
 * integer('-10'); // -10
 */
export function integer(text: string): number {
  const value = /^-?\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value)) throw new InvalidArgumentError('Expected an integer.');
  return value;
}

/**
 * A point in time: ms since the epoch, or an ISO 8601 date (`2024-06-01`, `2024-06-01T12:00:00Z`).
 *
 * @example
 * timestamp('2024-06-01T00:00:00Z'); // 1717200000000
 * timestamp('1717200000000');        // 1717200000000
 */
export function timestamp(text: string): number {
  const trimmed = text.trim();
  const value = /^\d+$/.test(trimmed) ? Number(trimmed) : Date.parse(trimmed);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError('Expected ms since the epoch or an ISO 8601 date.');
  }
  return value;
}

/**
 * A comma-separated list of partitions, sorted, without duplicates.
 *
 * @example
 * partitionList('2,0,1'); // [0, 1, 2]
 */
export function partitionList(text: string): number[] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.some((p) => !/^\d+$/.test(p))) {
    throw new InvalidArgumentError('Expected partitions separated by commas, e.g. 0,1,2.');
  }
  return [...new Set(parts.map(Number))].sort((a, b) => a - b);
}

type ConfigKind = 'number' | 'string';

/** Every topic config key the CLI takes, with its type; `satisfies` keeps it in step with TopicConfig. */
export const TOPIC_CONFIG_KEYS = {
  retentionMs: 'number',
  retentionBytes: 'number',
  maxRecordBytes: 'number',
  compression: 'string',
  targetObjectBytes: 'number',
  cleanupPolicy: 'string',
  deleteRetentionMs: 'number',
  minCompactionLagMs: 'number',
  minCleanableDirtyRatio: 'number',
} as const satisfies Record<keyof TopicConfig, ConfigKind>;

type ConfigKey = keyof typeof TOPIC_CONFIG_KEYS;

/** Kafka's dotted name of a key (`retention.ms`), which the CLI also accepts. */
const dotted = (key: string): string => key.replace(/[A-Z]/g, (c) => `.${c.toLowerCase()}`);

const BY_NAME: ReadonlyMap<string, ConfigKey> = new Map(
  (Object.keys(TOPIC_CONFIG_KEYS) as ConfigKey[]).flatMap((k) => [
    [k.toLowerCase(), k],
    [dotted(k), k],
  ]),
);

/**
 * One `--config k=v` onto the ones before it (commander's repeatable option reducer). Keys are
 * TopicConfig's names (`retentionMs`) or Kafka's (`retention.ms`); numeric keys take numbers. The
 * server validates the values.
 *
 * @example
 * configEntry('cleanup.policy=compact', configEntry('retentionMs=60000', {}));
 * // { retentionMs: 60000, cleanupPolicy: 'compact' }
 */
export function configEntry(text: string, previous: Partial<TopicConfig> = {}): Partial<TopicConfig> {
  const at = text.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError('Expected key=value, e.g. retentionMs=60000.');
  const name = text.slice(0, at).trim();
  const raw = text.slice(at + 1).trim();
  const key = BY_NAME.get(name.toLowerCase());
  if (key === undefined) {
    throw new InvalidArgumentError(
      `Unknown topic config key '${name}'. The keys are ${Object.keys(TOPIC_CONFIG_KEYS).join(', ')}.`,
    );
  }
  let value: number | string = raw;
  if (TOPIC_CONFIG_KEYS[key] === 'number') {
    value = raw === '' ? Number.NaN : Number(raw);
    if (!Number.isFinite(value)) throw new InvalidArgumentError(`${key} takes a number, got '${raw}'.`);
  } else if (raw === '') throw new InvalidArgumentError(`${key} needs a value.`);
  return { ...previous, [key]: value };
}
