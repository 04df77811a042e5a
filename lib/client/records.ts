import { InvalidArgumentError } from '../core/errors.ts';
import type { ProduceRecord } from '../core/types.ts';

/**
 * A record to send. Give the value as bytes, as text (sent as UTF-8 bytes), or as `json` (any JSON
 * value, sent and read back as JSON); `value: null` is a tombstone.
 *
 * @example
 * { topic: 'orders', key: 'customer-42', json: { total: 12 } }
 * { topic: 'clicks', value: new Uint8Array([1, 2, 3]), headers: { source: 'web' } }
 */
export interface ProducerRecord {
  readonly topic: string;
  /** Decides the partition (Kafka's murmur2) unless `partition` is given. */
  readonly key?: string | Uint8Array | null;
  readonly value?: string | Uint8Array | null;
  /** A JSON value instead of `value`. */
  readonly json?: unknown;
  readonly headers?: Readonly<Record<string, string | Uint8Array>>;
  readonly partition?: number;
  /** Kafka's CreateTime, ms since the epoch. @default the time of `send` */
  readonly timestamp?: number;
}

/** Where a record landed. */
export interface RecordMetadata {
  readonly topic: string;
  readonly partition: number;
  /** −1 when the server knew the record was appended but no longer its offset (Kafka's DuplicateSequence). */
  readonly offset: number;
}

/**
 * A consumed record. Its byte arrays may be shared with other reads of the same batch: copy them
 * before changing them. {@link valueText}, {@link valueJson} and {@link keyText} decode them.
 */
export interface ConsumerRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly key: Uint8Array | null;
  /** Null is a tombstone. */
  readonly value: Uint8Array | null;
  /** True when the value was produced as JSON. */
  readonly valueIsJson: boolean;
  readonly headers: ReadonlyArray<readonly [string, Uint8Array]>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const bytes = (value: string | Uint8Array): Uint8Array =>
  typeof value === 'string' ? encoder.encode(value) : value;

/**
 * The record's value as UTF-8 text (null for a tombstone).
 *
 * @example
 * for await (const record of consumer) console.log(valueText(record));
 */
export function valueText(record: Pick<ConsumerRecord, 'value'>): string | null {
  return record.value === null ? null : decoder.decode(record.value);
}

/**
 * The record's value parsed as JSON (null for a tombstone).
 *
 * @example
 * const order = valueJson<{ total: number }>(record);
 */
export function valueJson<T = unknown>(record: Pick<ConsumerRecord, 'value'>): T | null {
  return record.value === null ? null : (JSON.parse(decoder.decode(record.value)) as T);
}

/**
 * The record's key as UTF-8 text (null without a key).
 *
 * @example
 * const customer = keyText(record);
 */
export function keyText(record: Pick<ConsumerRecord, 'key'>): string | null {
  return record.key === null ? null : decoder.decode(record.key);
}

/** A {@link ProducerRecord} as the transport sends it (no partition yet), with its payload size. */
export function toWireRecord(record: ProducerRecord, now: number): { record: ProduceRecord; size: number } {
  if (record === null || typeof record !== 'object')
    throw new InvalidArgumentError('the record must be an object');
  if (typeof record.topic !== 'string' || record.topic === '') {
    throw new InvalidArgumentError('record.topic must be a topic name');
  }
  const hasJson = Object.hasOwn(record, 'json') && record.json !== undefined;
  const hasValue = Object.hasOwn(record, 'value') && record.value !== undefined;
  if (hasJson === hasValue)
    throw new InvalidArgumentError('give exactly one of record.value and record.json');
  let value: Uint8Array | null;
  if (hasJson) {
    const text = JSON.stringify(record.json);
    if (text === undefined) throw new InvalidArgumentError('record.json must be a JSON value');
    value = encoder.encode(text);
  } else {
    const v = record.value as string | Uint8Array | null;
    if (v !== null && typeof v !== 'string' && !(v instanceof Uint8Array)) {
      throw new InvalidArgumentError('record.value must be a string, bytes or null');
    }
    value = v === null ? null : bytes(v);
  }
  const key = record.key === undefined || record.key === null ? null : bytes(record.key);
  const headers = Object.entries(record.headers ?? {}).map(([name, v]) => [name, bytes(v)] as const);
  let size = (key?.length ?? 0) + (value?.length ?? 0);
  for (const [name, v] of headers) size += Buffer.byteLength(name) + v.length;
  return {
    record: {
      key,
      value,
      valueIsJson: hasJson && value !== null,
      headers,
      timestamp: record.timestamp ?? now,
      ...(record.partition === undefined ? {} : { partition: record.partition }),
    },
    size,
  };
}
