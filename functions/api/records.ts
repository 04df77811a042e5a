import { InvalidArgumentError } from '../../lib/core/errors.ts';
import type { FetchedRecord, ProduceRecord, ProducerIdentity } from '../../lib/core/types.ts';

/** A record as the HTTP API takes it. */
export interface HttpRecordIn {
  readonly key?: string | null;
  readonly value?: unknown;
  readonly valueBase64?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly partition?: number;
  readonly timestamp?: number;
}

export interface HttpProduceBody {
  readonly records: readonly HttpRecordIn[];
  readonly producerId?: string;
  readonly producerEpoch?: number;
  readonly sequence?: number | Readonly<Record<string, number>>;
}

/** A record as the HTTP API returns it: `value` if it was produced as JSON, else `valueBase64`. */
export interface HttpRecordOut {
  readonly offset: number;
  readonly timestamp: number;
  readonly key: string | null;
  readonly value?: unknown;
  readonly valueBase64?: string;
  readonly headers: Record<string, string>;
}

const encoder = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Turns an HTTP record into an engine record: JSON values are stored as their UTF-8 JSON text with
 * the JSON flag, base64 values as their bytes.
 */
export function toProduceRecord(record: HttpRecordIn, index: number): ProduceRecord {
  const hasValue = Object.hasOwn(record, 'value');
  const hasBase64 = record.valueBase64 !== undefined;
  if (hasValue && hasBase64) {
    throw new InvalidArgumentError(`body.records[${index}] gives both value and valueBase64; give one`);
  }
  if (!hasValue && !hasBase64) {
    throw new InvalidArgumentError(`body.records[${index}] needs value or valueBase64`);
  }
  return {
    key: record.key === undefined || record.key === null ? null : encoder.encode(record.key),
    value: hasBase64
      ? new Uint8Array(Buffer.from(record.valueBase64 as string, 'base64'))
      : encoder.encode(JSON.stringify(record.value)),
    valueIsJson: !hasBase64,
    headers: Object.entries(record.headers ?? {}).map(
      ([name, value]) => [name, encoder.encode(value)] as const,
    ),
    ...(record.partition === undefined ? {} : { partition: record.partition }),
    ...(record.timestamp === undefined ? {} : { timestamp: record.timestamp }),
  };
}

/** The producer identity of an HTTP produce call (a numeric `sequence` is for one-partition calls). */
export function toProducer(body: HttpProduceBody): ProducerIdentity | undefined {
  if (body.producerId === undefined || body.producerEpoch === undefined || body.sequence === undefined) {
    return undefined;
  }
  const sequences =
    typeof body.sequence === 'number'
      ? body.sequence
      : Object.fromEntries(Object.entries(body.sequence).map(([p, s]) => [Number(p), s]));
  return { producerId: body.producerId, epoch: body.producerEpoch, sequences };
}

function text(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

export function toHttpRecord(record: FetchedRecord): HttpRecordOut {
  const headers: Record<string, string> = {};
  for (const [name, value] of record.headers)
    headers[name] = text(value) ?? Buffer.from(value).toString('base64');
  const key = record.key === null ? null : (text(record.key) ?? Buffer.from(record.key).toString('base64'));
  const base = { offset: record.offset, timestamp: record.timestamp, key, headers };
  if (record.valueIsJson) {
    const json = text(record.value);
    if (json !== undefined) {
      try {
        return { ...base, value: JSON.parse(json) };
      } catch {
        // Not JSON after all (written by another client): fall through to binary.
      }
    }
  }
  return { ...base, valueBase64: Buffer.from(record.value).toString('base64') };
}
