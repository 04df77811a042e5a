import type { FetchedRecord } from './types.ts';

/**
 * Records as JSON, the way the HTTP API and consumer functions see them: a record produced with a
 * JSON `value` comes back with `value` (the same JSON), one produced as binary comes back with
 * `valueBase64`, a tombstone (null value) with `value: null`. Keys and header values are UTF-8 strings (base64 if they are not valid UTF-8).
 */
export interface HttpRecordOut {
  readonly offset: number;
  readonly timestamp: number;
  readonly key: string | null;
  readonly value?: unknown;
  readonly valueBase64?: string;
  readonly headers: Record<string, string>;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function text(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * @example
 * toHttpRecord(record) // { offset: 7, timestamp: 1700000000000, key: 'k', headers: {}, value: { total: 12 } }
 */
export function toHttpRecord(record: FetchedRecord): HttpRecordOut {
  const headers: Record<string, string> = {};
  for (const [name, value] of record.headers)
    headers[name] = text(value) ?? Buffer.from(value).toString('base64');
  const key = record.key === null ? null : (text(record.key) ?? Buffer.from(record.key).toString('base64'));
  const base = { offset: record.offset, timestamp: record.timestamp, key, headers };
  if (record.value === null) return { ...base, value: null };
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
