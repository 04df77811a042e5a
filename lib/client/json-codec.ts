import { InvalidArgumentError } from '../core/errors.ts';
import type {
  RecordOffset,
  TransportFetchRequest,
  TransportFetchResult,
  TransportProduceRequest,
  TransportRecord,
} from './transport.ts';

/** A produce body, ready to send. */
export interface EncodedProduce {
  readonly contentType: string;
  readonly body: string | Uint8Array;
  /** Request headers the body needs (a binary body's producer identity). */
  readonly headers?: Readonly<Record<string, string>>;
  /** The answer's offsets (in body order) put back in the request's record order. */
  readonly toRequestOrder?: (offsets: readonly RecordOffset[]) => RecordOffset[];
}

/**
 * How produce and fetch bodies travel over HTTP: {@link binaryCodec} (the default: segment objects
 * and fetch frames, CRC32C-protected) or {@link jsonCodec} (what curl users send).
 *
 * @example
 * const { contentType, body } = jsonCodec.encodeProduce({ topic: 'orders', records });
 */
export interface BodyCodec {
  /** Sent as `Accept` on fetch. */
  readonly fetchAccept: string;
  encodeProduce(request: TransportProduceRequest): EncodedProduce;
  /** Decodes a fetch answer of either content type; `request` says where the reader asked to start. */
  decodeFetch(
    contentType: string | null,
    body: Uint8Array,
    request: TransportFetchRequest,
  ): TransportFetchResult;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

function utf8(bytes: Uint8Array, what: string): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new InvalidArgumentError(
      `${what} is not valid UTF-8; JSON bodies carry keys and header values as text (binary ones need a binary codec)`,
    );
  }
}

interface JsonRecordOut {
  offset: number;
  timestamp: number;
  key: string | null;
  value?: unknown;
  valueBase64?: string;
  headers?: Record<string, string>;
}

/**
 * The HTTP API's JSON bodies: values produced as JSON travel as JSON (`value`), other values as
 * base64 (`valueBase64`), a null value as `value: null` (a tombstone). Keys and header values must be
 * UTF-8 text, and header names unique.
 *
 * @example
 * new HttpTransport({ endpoint, auth: 'none', codec: jsonCodec });
 */
export const jsonCodec: BodyCodec = {
  fetchAccept: 'application/json',
  encodeProduce(request) {
    const records = request.records.map((r, i) => {
      const where = `records[${i}]`;
      const headers: Record<string, string> = {};
      for (const [name, value] of r.headers ?? []) {
        if (Object.hasOwn(headers, name)) {
          throw new InvalidArgumentError(
            `${where}.headers has '${name}' twice; JSON bodies need unique header names`,
          );
        }
        headers[name] = utf8(value, `${where}.headers['${name}']`);
      }
      const out: Record<string, unknown> = {
        key: r.key === undefined || r.key === null ? null : utf8(r.key, `${where}.key`),
      };
      if (r.value === null) out.value = null;
      else if (r.valueIsJson === true) out.value = JSON.parse(utf8(r.value, `${where}.value`));
      else
        out.valueBase64 = Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength).toString(
          'base64',
        );
      if (Object.keys(headers).length > 0) out.headers = headers;
      if (r.partition !== undefined) out.partition = r.partition;
      if (r.timestamp !== undefined) out.timestamp = r.timestamp;
      return out;
    });
    const producer = request.producer;
    const body = {
      records,
      ...(producer === undefined
        ? {}
        : { producerId: producer.producerId, producerEpoch: producer.epoch, sequence: producer.sequences }),
    };
    return { contentType: 'application/json', body: JSON.stringify(body) };
  },
  decodeFetch(_contentType, body) {
    const parsed = JSON.parse(
      Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'),
    ) as {
      records: JsonRecordOut[];
      nextOffset: number;
      highWatermark: number;
      logStartOffset?: number;
    };
    const records = parsed.records.map(
      (r): TransportRecord => ({
        offset: r.offset,
        timestamp: r.timestamp,
        key: r.key === null ? null : encoder.encode(r.key),
        value:
          r.valueBase64 !== undefined
            ? new Uint8Array(Buffer.from(r.valueBase64, 'base64'))
            : r.value === null || r.value === undefined
              ? null
              : encoder.encode(JSON.stringify(r.value)),
        valueIsJson: r.valueBase64 === undefined && r.value !== null && r.value !== undefined,
        headers: Object.entries(r.headers ?? {}).map(
          ([name, value]) => [name, encoder.encode(value)] as const,
        ),
      }),
    );
    return {
      records,
      nextOffset: parsed.nextOffset,
      highWatermark: parsed.highWatermark,
      logStartOffset: parsed.logStartOffset ?? 0,
    };
  },
};
