import { InvalidProduceReturnError, StreambedError } from './errors.ts';
import { MAX_RECORDS_PER_CALL } from './produce-plan.ts';
import type { ProduceRecord } from './types.ts';
import { validateNonNegativeInt, validateTopicName } from './validation.ts';

/**
 * One output record a consumer function returned in `{ produce: [...] }`: a produce record (the
 * engine's, bytes already decoded) plus the topic it goes to.
 */
export interface OutputRecord extends ProduceRecord {
  readonly topic: string;
}

/**
 * One record of a consumer function's `produce` return, as JSON (the HTTP API's record, plus `topic`).
 *
 * @example
 * return { produce: [{ topic: 'invoices', key: 'customer-42', value: { total: 12 } }] };
 */
export interface ProduceReturnRecord {
  readonly topic: string;
  readonly key?: string | null;
  /** Any JSON value; `null` is a tombstone. Give this or `valueBase64`. */
  readonly value?: unknown;
  /** Binary value, padded base64 (RFC 4648). */
  readonly valueBase64?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** @default the key's partition (murmur2), or one partition for all keyless records of the commit */
  readonly partition?: number;
  /** @default the time of the commit */
  readonly timestamp?: number;
}

/**
 * The most partitions one delivery's outputs may write to. They are appended in the same DynamoDB
 * transaction as the group's offset commit, which holds at most 100 items: the lease check, the
 * offset update, and one head update per output partition.
 */
export const MAX_OUTPUT_PARTITIONS = 98;

/** The most output records one delivery may return (as one produce call). */
export const MAX_OUTPUT_RECORDS = MAX_RECORDS_PER_CALL;

const FIELDS = new Set(['topic', 'key', 'value', 'valueBase64', 'headers', 'partition', 'timestamp']);
/** Padded base64 (RFC 4648), the same rule as the HTTP API's `valueBase64`. */
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const encoder = new TextEncoder();

function show(value: unknown): string {
  if (typeof value === 'string') return `'${value.length > 40 ? `${value.slice(0, 40)}…` : value}'`;
  try {
    const json = JSON.stringify(value);
    return json === undefined ? String(value) : json.length > 40 ? `${json.slice(0, 40)}…` : json;
  } catch {
    return String(value);
  }
}

function fail(message: string, cause?: unknown): never {
  throw new InvalidProduceReturnError(message, cause === undefined ? undefined : { cause });
}

/** Runs a validator written for produce requests and reports its failure as this return's. */
function checked<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof StreambedError) fail(error.message, error);
    throw error;
  }
}

function jsonBytes(value: unknown, field: string): Uint8Array {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    fail(`${field} must be a JSON value: ${(error as Error).message}`, error);
  }
  if (text === undefined) fail(`${field} must be a JSON value, got ${typeof value}`);
  return encoder.encode(text);
}

function outputRecord(raw: unknown, index: number): OutputRecord {
  const field = `produce[${index}]`;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    fail(`${field} must be an object with topic and value or valueBase64, got ${show(raw)}`);
  }
  const record = raw as Readonly<Record<string, unknown>>;
  for (const name of Object.keys(record)) {
    if (!FIELDS.has(name)) {
      fail(
        `${field}.${name} is not a record field (topic, key, value, valueBase64, headers, partition, timestamp)`,
      );
    }
  }
  const topic = checked(() => validateTopicName(record.topic, `${field}.topic`));
  const key = record.key;
  if (key !== undefined && key !== null && typeof key !== 'string') {
    fail(`${field}.key must be a string or null, got ${show(key)}`);
  }
  const hasValue = Object.hasOwn(record, 'value') && record.value !== undefined;
  const base64 = record.valueBase64;
  if (hasValue && base64 !== undefined) fail(`${field} gives both value and valueBase64; give one`);
  if (!hasValue && base64 === undefined) fail(`${field} needs value or valueBase64`);
  if (
    base64 !== undefined &&
    (typeof base64 !== 'string' || !BASE64.test(base64) || base64.length % 4 !== 0)
  ) {
    fail(`${field}.valueBase64 must be padded base64 (RFC 4648), got ${show(base64)}`);
  }
  const headers = record.headers;
  if (headers !== undefined && (headers === null || typeof headers !== 'object' || Array.isArray(headers))) {
    fail(`${field}.headers must be an object of string values, got ${show(headers)}`);
  }
  const headerPairs = Object.entries((headers ?? {}) as Record<string, unknown>).map(([name, value]) => {
    if (typeof value !== 'string') fail(`${field}.headers.${name} must be a string, got ${show(value)}`);
    return [name, encoder.encode(value)] as const;
  });
  const partition = record.partition;
  if (partition !== undefined) checked(() => validateNonNegativeInt(partition, `${field}.partition`, 999));
  const timestamp = record.timestamp;
  if (timestamp !== undefined) checked(() => validateNonNegativeInt(timestamp, `${field}.timestamp`));
  const tombstone = hasValue && record.value === null;
  return {
    topic,
    key: typeof key === 'string' ? encoder.encode(key) : null,
    value: tombstone
      ? null
      : base64 !== undefined
        ? new Uint8Array(Buffer.from(base64 as string, 'base64'))
        : jsonBytes(record.value, `${field}.value`),
    valueIsJson: base64 === undefined && !tombstone,
    headers: headerPairs,
    ...(partition === undefined ? {} : { partition: partition as number }),
    ...(timestamp === undefined ? {} : { timestamp: timestamp as number }),
  };
}

/**
 * The output records of a consumer function's return value: its `produce` array, each record as the
 * HTTP API takes one (`topic`, `key`?, exactly one of `value` (JSON; `null` is a tombstone) and
 * `valueBase64`, `headers`? of strings, `partition`?, `timestamp`?). A return without `produce` (or
 * not an object) has none. A malformed one throws {@link InvalidProduceReturnError} naming the field.
 * Topics and partitions are checked against the topics when the outputs are committed.
 *
 * @example
 * parseProduceReturn({ produce: [{ topic: 'invoices', key: 'c-42', value: { total: 12 } }] })
 * // [{ topic: 'invoices', key: <c-42>, value: <{"total":12}>, valueIsJson: true, headers: [] }]
 */
export function parseProduceReturn(response: unknown): OutputRecord[] {
  if (response === null || typeof response !== 'object') return [];
  const produce = (response as { produce?: unknown }).produce;
  if (produce === undefined || produce === null) return [];
  if (!Array.isArray(produce)) fail(`produce must be an array of records, got ${show(produce)}`);
  if (produce.length > MAX_OUTPUT_RECORDS) {
    fail(`produce may hold at most ${MAX_OUTPUT_RECORDS} records, got ${produce.length}`);
  }
  const records: OutputRecord[] = [];
  for (let index = 0; index < produce.length; index++) {
    if (!(index in produce)) fail(`produce[${index}] is missing`);
    records.push(outputRecord(produce[index], index));
  }
  return records;
}
