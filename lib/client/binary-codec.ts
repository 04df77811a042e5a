import { InvalidArgumentError } from '../core/errors.ts';
import { type BatchInput, encodeSegment, type LogRecord } from '../core/segment/index.ts';
import type { FetchResult } from '../core/types.ts';
import { decodeFetchFrame, FETCH_FRAME_TYPE } from '../core/wire/fetch-frame.ts';
import { producerHeaders, SEGMENT_TYPE } from '../core/wire/produce-headers.ts';
import { type BodyCodec, type EncodedProduce, jsonCodec } from './json-codec.ts';
import type {
  RecordOffset,
  TransportFetchResult,
  TransportProduceRequest,
  TransportRecord,
} from './transport.ts';

/**
 * Binary bodies (the SDK's default over HTTP). Produce sends one segment object (segment.ts: one
 * batch per partition, each CRC32C-protected, compressed as the producer asks), which the server
 * checks and stores as it is; fetch asks for a fetch frame (fetch-frame.ts): the stored batches as
 * they are, verified here. Keys, values and header values are any bytes; header names may repeat.
 * A server that answers a fetch in JSON is read as JSON.
 *
 * @example
 * new HttpTransport({ endpoint, auth: 'sigv4', codec: binaryCodec });
 */
export const binaryCodec: BodyCodec = {
  fetchAccept: `${FETCH_FRAME_TYPE}, application/json;q=0.5`,
  encodeProduce: encodeSegmentBody,
  decodeFetch(contentType, body, request) {
    if (contentType?.split(';')[0]?.trim().toLowerCase() !== FETCH_FRAME_TYPE) {
      return jsonCodec.decodeFetch(contentType, body, request);
    }
    return transportResultOf(
      decodeFetchFrame(body, {
        offset: request.offset,
        ...(request.maxRecords === undefined ? {} : { maxRecords: request.maxRecords }),
      }),
    );
  },
};

function encodeSegmentBody(request: TransportProduceRequest): EncodedProduce {
  const now = Date.now();
  const byPartition = new Map<number, { records: LogRecord[]; indexes: number[] }>();
  request.records.forEach((record, index) => {
    const partition = record.partition;
    if (partition === undefined) {
      throw new InvalidArgumentError(
        `records[${index}] has no partition; a binary body names every record's partition (the producer chooses it)`,
      );
    }
    let group = byPartition.get(partition);
    if (group === undefined) {
      group = { records: [], indexes: [] };
      byPartition.set(partition, group);
    }
    group.records.push({
      key: record.key ?? null,
      value: record.value,
      valueIsJson: record.valueIsJson ?? false,
      headers: record.headers ?? [],
      timestamp: record.timestamp ?? now,
    });
    group.indexes.push(index);
  });
  const partitions = [...byPartition.keys()];
  const batches: BatchInput[] = partitions.map((partition) => ({
    partition,
    records: (byPartition.get(partition) as { records: LogRecord[] }).records,
    compression: request.compression ?? 'none',
  }));
  const { bytes } = encodeSegment(batches);
  const order = partitions.flatMap((p) => (byPartition.get(p) as { indexes: number[] }).indexes);
  return {
    contentType: SEGMENT_TYPE,
    body: bytes,
    ...(request.producer === undefined ? {} : { headers: producerHeaders(request.producer, partitions) }),
    toRequestOrder(offsets: readonly RecordOffset[]): RecordOffset[] {
      if (offsets.length !== order.length) {
        throw new InvalidArgumentError(
          `the server acknowledged ${offsets.length} records of the ${order.length} sent`,
        );
      }
      const out = new Array<RecordOffset>(order.length);
      order.forEach((requestIndex, bodyIndex) => {
        out[requestIndex] = offsets[bodyIndex] as RecordOffset;
      });
      return out;
    },
  };
}

/** A fetch's records (a decoded frame, batches read by reference, the engine's) as a transport's result. */
export function transportResultOf(frame: FetchResult): TransportFetchResult {
  const records = frame.records.map(
    (r): TransportRecord => ({
      offset: r.offset,
      timestamp: r.timestamp,
      key: r.key,
      value: r.value,
      valueIsJson: r.valueIsJson,
      headers: r.headers,
    }),
  );
  return {
    records,
    nextOffset: frame.nextOffset,
    highWatermark: frame.highWatermark,
    logStartOffset: frame.logStartOffset,
  };
}
