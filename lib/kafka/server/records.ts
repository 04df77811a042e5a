import type { FetchedRecord, ProduceRecord } from '../../core/types.ts';
import type { KafkaCompression, RecordBatch, RecordBatchInput } from '../protocol/record-batch.ts';

/*
 * Kafka record batches <-> Streambed records.
 *
 *   produce: each record of a batch becomes a ProduceRecord for the batch's partition: key, value
 *            (null stays null: a tombstone), headers (a null header value becomes empty bytes:
 *            Streambed header values are bytes), timestamp = baseTimestamp + timestampDelta
 *            (CreateTime; a negative one, Kafka's "no timestamp", leaves it to the engine: now).
 *   fetch:   the records of one engine fetch become one batch: baseOffset = the first record's
 *            offset, offsetDelta = offset - baseOffset (a compacted log's holes are gaps in the
 *            deltas), baseTimestamp/maxTimestamp = the least/greatest record timestamp, CreateTime,
 *            no producer id (-1), uncompressed unless asked otherwise.
 */

/**
 * The records of a produced batch, each for `partition`.
 *
 * @example toProduceRecords(decodeRecordBatches(partitionData.records)[0], 2) // [{ partition: 2, key, value, headers, timestamp }]
 */
export function toProduceRecords(batch: RecordBatch, partition: number): ProduceRecord[] {
  return batch.records.map((record): ProduceRecord => {
    const timestamp = Number(batch.baseTimestamp) + record.timestampDelta;
    return {
      partition,
      key: record.key,
      value: record.value,
      headers: record.headers.map((h) => [h.key, h.value ?? new Uint8Array(0)] as const),
      ...(Number.isSafeInteger(timestamp) && timestamp >= 0 ? { timestamp } : {}),
    };
  });
}

/**
 * One record batch v2 input holding fetched records (at least one), ready for encodeRecordBatch. With
 * `nextOffset` (the engine's, which steps over a compacted log's holes) past the last record, the batch
 * covers up to it (`lastOffsetDelta`), so a client fetches next at `nextOffset`, not inside the holes.
 *
 * @example encodeRecordBatch(toRecordBatch(result.records, 'none', result.nextOffset)) // baseOffset = result.records[0].offset
 */
export function toRecordBatch(
  records: readonly FetchedRecord[],
  compression: KafkaCompression = 'none',
  nextOffset?: number,
): RecordBatchInput {
  const first = records[0];
  if (first === undefined) throw new Error('toRecordBatch needs at least one record');
  const last = records[records.length - 1] as FetchedRecord;
  const covers = nextOffset !== undefined && nextOffset > last.offset + 1 ? nextOffset - 1 : last.offset;
  let min = first.timestamp;
  let max = first.timestamp;
  for (const r of records) {
    if (r.timestamp < min) min = r.timestamp;
    if (r.timestamp > max) max = r.timestamp;
  }
  return {
    baseOffset: first.offset,
    compression,
    lastOffsetDelta: covers - first.offset,
    baseTimestamp: min,
    maxTimestamp: max,
    records: records.map((r) => ({
      timestampDelta: r.timestamp - min,
      offsetDelta: r.offset - first.offset,
      key: r.key,
      value: r.value,
      headers: r.headers.map(([key, value]) => ({ key, value })),
    })),
  };
}

/**
 * A batch of no records covering `[offset, nextOffset)`: what Kafka's log cleaner leaves when compaction
 * removed every record of a batch. Sent when a fetch met only holes, so the client moves to `nextOffset`
 * instead of asking for the same offset again.
 *
 * @example encodeRecordBatch(emptyBatch(5, 10)) // baseOffset 5, lastOffsetDelta 4, no records
 */
export function emptyBatch(offset: number, nextOffset: number): RecordBatchInput {
  return {
    baseOffset: offset,
    compression: 'none',
    lastOffsetDelta: nextOffset - 1 - offset,
    baseTimestamp: -1,
    maxTimestamp: -1,
    records: [],
  };
}
