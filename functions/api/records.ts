import { InvalidArgumentError } from '../../lib/core/errors.ts';
import type { ProduceRecord, ProducerIdentity } from '../../lib/core/types.ts';

export { type HttpRecordOut, toHttpRecord } from '../../lib/core/record-json.ts';

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

const encoder = new TextEncoder();

/**
 * Turns an HTTP record into an engine record: JSON values are stored as their UTF-8 JSON text with
 * the JSON flag, base64 values as their bytes, `value: null` as a null value (a tombstone).
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
  if (hasBase64 && (record.valueBase64 as string).length % 4 !== 0) {
    throw new InvalidArgumentError(`body.records[${index}].valueBase64 must be padded base64 (RFC 4648)`);
  }
  const tombstone = hasValue && record.value === null;
  return {
    key: record.key === undefined || record.key === null ? null : encoder.encode(record.key),
    value: tombstone
      ? null
      : hasBase64
        ? new Uint8Array(Buffer.from(record.valueBase64 as string, 'base64'))
        : encoder.encode(JSON.stringify(record.value)),
    valueIsJson: !hasBase64 && !tombstone,
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
