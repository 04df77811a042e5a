import { InvalidArgumentError } from './errors.ts';
import type { CleanupPolicy, Compression, TopicConfig } from './types.ts';

/** Kafka's rule for topic names: 1–249 of `[a-zA-Z0-9._-]`, and not `.` or `..`. */
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
/** Group names: like topics but up to 255 characters. */
const GROUP_NAME = /^[a-zA-Z0-9._-]{1,255}$/;
/** Producer ids: 1–64 of `[a-zA-Z0-9._:-]`. */
const PRODUCER_ID = /^[a-zA-Z0-9._:-]{1,64}$/;

export const MIN_PARTITIONS = 1;
export const MAX_PARTITIONS = 1000;
const COMPRESSIONS: readonly Compression[] = ['none', 'gzip', 'zstd'];

export const DEFAULT_TOPIC_CONFIG: TopicConfig = {
  retentionMs: 7 * 24 * 3600 * 1000,
  retentionBytes: -1,
  maxRecordBytes: 1024 * 1024,
  compression: 'none',
  targetObjectBytes: 8 * 1024 * 1024,
  cleanupPolicy: 'delete',
  deleteRetentionMs: 24 * 3600 * 1000,
  minCompactionLagMs: 0,
  minCleanableDirtyRatio: 0.5,
};

/** The accepted spellings of cleanupPolicy (Kafka takes the list in either order). */
const CLEANUP_POLICIES: Readonly<Record<string, CleanupPolicy>> = {
  delete: 'delete',
  compact: 'compact',
  'compact,delete': 'compact,delete',
  'delete,compact': 'compact,delete',
};

/** Whether the topic keeps only the latest record of each key. */
export function isCompacted(config: TopicConfig): boolean {
  return config.cleanupPolicy === 'compact' || config.cleanupPolicy === 'compact,delete';
}

/** Whether retentionMs and retentionBytes apply (not on a topic that is only compacted). */
export function retentionApplies(config: TopicConfig): boolean {
  return config.cleanupPolicy !== 'compact';
}

/** Bounds of a topic's targetObjectBytes: 64 KiB to 64 MiB (the batch limit). */
export const TARGET_OBJECT_BYTES = { min: 64 * 1024, max: 64 * 1024 * 1024 } as const;

/**
 * The largest maxRecordBytes a topic may ask for: a record this large still fits, base64-encoded in
 * JSON, in one HTTP request and one fetch response under Lambda's 6 MB synchronous payload limit.
 */
export const MAX_RECORD_BYTES_LIMIT = 3 * 1024 * 1024;

function show(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : String(JSON.stringify(value));
}

/** @example validateTopicName('orders.v1') // ok; validateTopicName('a b') throws InvalidArgumentError */
export function validateTopicName(name: unknown, field = 'topic'): string {
  if (typeof name !== 'string' || !TOPIC_NAME.test(name) || name === '.' || name === '..') {
    throw new InvalidArgumentError(
      `${field} must be 1-249 characters of [a-zA-Z0-9._-] (and not '.' or '..'), got ${show(name)}`,
    );
  }
  return name;
}

export function validateGroupName(name: unknown, field = 'group'): string {
  if (typeof name !== 'string' || !GROUP_NAME.test(name)) {
    throw new InvalidArgumentError(`${field} must be 1-255 characters of [a-zA-Z0-9._-], got ${show(name)}`);
  }
  return name;
}

export function validateProducerId(id: unknown, field = 'producerId'): string {
  if (typeof id !== 'string' || !PRODUCER_ID.test(id)) {
    throw new InvalidArgumentError(`${field} must be 1-64 characters of [a-zA-Z0-9._:-], got ${show(id)}`);
  }
  return id;
}

/** A non-negative safe integer, or throws naming the field. */
/**
 * The latest record timestamp accepted (2^51 - 1 ms, the year 73,000): the index stores a batch's
 * largest timestamp as a zigzag varint of its distance from the append time, which must stay a safe
 * integer (lib/core/index-codec.ts). Kafka's limit (2^63 - 1) is far beyond any real clock.
 */
export const MAX_TIMESTAMP = 2 ** 51 - 1;

export function validateNonNegativeInt(value: unknown, field: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > max) {
    throw new InvalidArgumentError(`${field} must be an integer in [0, ${max}], got ${show(value)}`);
  }
  return value;
}

export function validatePositiveInt(value: unknown, field: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new InvalidArgumentError(`${field} must be an integer in [1, ${max}], got ${show(value)}`);
  }
  return value;
}

export function validatePartitionCount(value: unknown): number {
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < MIN_PARTITIONS ||
    value > MAX_PARTITIONS
  ) {
    throw new InvalidArgumentError(
      `partitions must be an integer in [${MIN_PARTITIONS}, ${MAX_PARTITIONS}], got ${show(value)}`,
    );
  }
  return value;
}

function targetObjectBytes(value: unknown): number {
  if (value === -1) return -1;
  const { min, max } = TARGET_OBJECT_BYTES;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(
      `config.targetObjectBytes must be an integer in [${min}, ${max}], got ${show(value)}`,
    );
  }
  return value;
}

function cleanupPolicy(value: unknown): CleanupPolicy {
  const policy = typeof value === 'string' ? CLEANUP_POLICIES[value] : undefined;
  if (policy === undefined) {
    throw new InvalidArgumentError(
      `config.cleanupPolicy must be 'delete', 'compact' or 'compact,delete', got ${show(value)}`,
    );
  }
  return policy;
}

function ratio(value: unknown): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new InvalidArgumentError(
      `config.minCleanableDirtyRatio must be a number in [0, 1], got ${show(value)}`,
    );
  }
  return value;
}

function retention(value: unknown, field: string): number {
  if (value === -1) return -1;
  return validatePositiveInt(value, field);
}

/**
 * Fills defaults and checks every field of a topic config; unknown fields are rejected.
 *
 * @example
 * resolveTopicConfig({ retentionMs: 3_600_000 }) // { retentionMs: 3600000, retentionBytes: -1, ... }
 */
export function resolveTopicConfig(input: unknown = {}): TopicConfig {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new InvalidArgumentError(`config must be an object, got ${show(input)}`);
  }
  const known = new Set(Object.keys(DEFAULT_TOPIC_CONFIG));
  for (const key of Object.keys(input)) {
    if (!known.has(key)) throw new InvalidArgumentError(`config.${key} is not a known setting`);
  }
  const merged = { ...DEFAULT_TOPIC_CONFIG, ...(input as Partial<TopicConfig>) };
  if (!COMPRESSIONS.includes(merged.compression)) {
    throw new InvalidArgumentError(
      `config.compression must be one of ${COMPRESSIONS.join(', ')}, got ${show(merged.compression)}`,
    );
  }
  return {
    retentionMs: retention(merged.retentionMs, 'config.retentionMs'),
    retentionBytes: retention(merged.retentionBytes, 'config.retentionBytes'),
    maxRecordBytes: validatePositiveInt(
      merged.maxRecordBytes,
      'config.maxRecordBytes',
      MAX_RECORD_BYTES_LIMIT,
    ),
    compression: merged.compression,
    targetObjectBytes: targetObjectBytes(merged.targetObjectBytes),
    cleanupPolicy: cleanupPolicy(merged.cleanupPolicy),
    deleteRetentionMs: validateNonNegativeInt(merged.deleteRetentionMs, 'config.deleteRetentionMs'),
    minCompactionLagMs: validateNonNegativeInt(merged.minCompactionLagMs, 'config.minCompactionLagMs'),
    minCleanableDirtyRatio: ratio(merged.minCleanableDirtyRatio),
  };
}
