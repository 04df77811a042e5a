import type { ConsumerRecord } from '../client/index.ts';
import { UsageError } from './exit-codes.ts';

/** Turns a consumed record into the bytes `consume` writes for it. */
export type RecordFormatter = (record: ConsumerRecord) => Buffer;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 text, or undefined when the bytes are not valid UTF-8. */
function text(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

const bytesOf = (bytes: Uint8Array | null): Buffer =>
  bytes === null ? Buffer.alloc(0) : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

type Part = (record: ConsumerRecord) => Buffer;

const TOKENS: Readonly<Record<string, Part>> = {
  t: (r) => Buffer.from(r.topic),
  p: (r) => Buffer.from(String(r.partition)),
  o: (r) => Buffer.from(String(r.offset)),
  T: (r) => Buffer.from(String(r.timestamp)),
  k: (r) => bytesOf(r.key),
  K: (r) => Buffer.from(String(r.key === null ? -1 : r.key.byteLength)),
  s: (r) => bytesOf(r.value),
  S: (r) => Buffer.from(String(r.value === null ? -1 : r.value.byteLength)),
  h: (r) =>
    Buffer.from(
      r.headers
        .map(([name, value]) => `${name}=${text(value) ?? Buffer.from(value).toString('base64')}`)
        .join(','),
    ),
};

const ESCAPES: Readonly<Record<string, string>> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '0': '\0' };

/**
 * A kcat-style format string as a formatter: `%t` topic, `%p` partition, `%o` offset, `%k` key,
 * `%K` key length, `%s` value, `%S` value length, `%T` timestamp (ms), `%h` headers (`name=value`
 * separated by commas), `%%` a percent sign; `\n`, `\t`, `\r`, `\\`, `\0` escapes. A null key or
 * value prints as nothing (its length as -1). Unknown tokens are a UsageError.
 *
 * @example
 * const format = kcatFormatter('%t[%p]@%o %k=%s\n');
 * format(record).toString(); // 'orders[0]@12 customer-42={"total":12}\n'
 */
export function kcatFormatter(format: string): RecordFormatter {
  const parts: Part[] = [];
  let literal = '';
  const flush = () => {
    if (literal === '') return;
    const bytes = Buffer.from(literal);
    parts.push(() => bytes);
    literal = '';
  };
  for (let i = 0; i < format.length; i++) {
    const c = format[i] as string;
    const next = format[i + 1];
    if (c === '%' || c === '\\') {
      if (next === undefined) throw new UsageError(`the format ends with a lone '${c}'`);
      i++;
      if (c === '\\') {
        const escaped = ESCAPES[next];
        if (escaped === undefined) throw new UsageError(`unknown escape '\\${next}' in the format`);
        literal += escaped;
      } else if (next === '%') literal += '%';
      else {
        const token = TOKENS[next];
        if (token === undefined) {
          throw new UsageError(
            `unknown token '%${next}' in the format; the tokens are %t %p %o %k %K %s %S %T %h %%`,
          );
        }
        flush();
        parts.push(token);
      }
    } else literal += c;
  }
  flush();
  return (record) => Buffer.concat(parts.map((part) => part(record)));
}

/**
 * A record as one line of JSON: `topic`, `partition`, `offset`, `timestamp`, `key` (text, or
 * `keyBase64` when not UTF-8), `value` (the JSON value when produced as JSON, text when UTF-8, null
 * for a tombstone) or `valueBase64`, and `headers` (name → text).
 *
 * @example
 * jsonLine(record); // '{"topic":"orders","partition":0,"offset":12,"timestamp":1717200000000,"key":"c-42","value":{"total":12},"headers":{}}\n'
 */
export function jsonLine(record: ConsumerRecord): string {
  const out: Record<string, unknown> = {
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    timestamp: record.timestamp,
  };
  if (record.key === null) out.key = null;
  else {
    const key = text(record.key);
    if (key === undefined) out.keyBase64 = Buffer.from(record.key).toString('base64');
    else out.key = key;
  }
  if (record.value === null) out.value = null;
  else {
    const value = text(record.value);
    let parsed: { json: unknown } | undefined;
    if (value !== undefined && record.valueIsJson) {
      try {
        parsed = { json: JSON.parse(value) };
      } catch {
        // Marked JSON but not JSON: shown as text.
      }
    }
    if (parsed !== undefined) out.value = parsed.json;
    else if (value !== undefined) out.value = value;
    else out.valueBase64 = Buffer.from(record.value).toString('base64');
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of record.headers)
    headers[name] = text(value) ?? Buffer.from(value).toString('base64');
  out.headers = headers;
  return `${JSON.stringify(out)}\n`;
}

/**
 * The formatter for `consume --format`: `json`, a kcat format string (anything with `%`), or, when
 * absent, the value alone followed by a newline.
 *
 * @example
 * formatterFor(undefined)(record).toString(); // '{"total":12}\n'
 * formatterFor('json'); formatterFor('%k\t%s\n');
 */
export function formatterFor(format: string | undefined): RecordFormatter {
  if (format === undefined) return kcatFormatter('%s\n');
  if (format === 'json') return (record) => Buffer.from(jsonLine(record));
  if (!format.includes('%')) {
    throw new UsageError(
      `--format takes 'json' or a format string with %-tokens (e.g. '%k %s\\n'), got '${format}'`,
    );
  }
  return kcatFormatter(format);
}
