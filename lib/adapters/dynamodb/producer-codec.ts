import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { CorruptSegmentError } from '../../core/errors.ts';
import { OBJECT_ID_BYTES, objectIdFromBytes, objectIdToBytes } from '../../core/object-keys.ts';
import type { ProducerState, WindowBatch } from '../../core/producer-state.ts';
import { ByteReader } from '../../core/segment/reader.ts';
import { readVarint, varintSize, writeVarint } from '../../core/segment/varint.ts';
import { type Item, N, num, optNum, S } from './attributes.ts';
import { FORMAT_VERSION, producersKey } from './head-codec.ts';

/*
 * One batch of a producer's window (an element of the producer item's `w`, see head-codec.ts):
 *
 *   varint  first sequence
 *   varint  record count
 *   12      object id (as in an index entry)
 *   varint  bound: an offset at or below the batch's base offset
 */
export function encodeWindowBatch(batch: WindowBatch): AttributeValue {
  const fields = [batch.sequence, batch.count];
  const size =
    varintSize(batch.sequence) + varintSize(batch.count) + OBJECT_ID_BYTES + varintSize(batch.bound);
  const out = new Uint8Array(size);
  let pos = 0;
  for (const value of fields) pos = writeVarint(out, pos, value);
  out.set(objectIdToBytes(batch.objectId), pos);
  writeVarint(out, pos + OBJECT_ID_BYTES, batch.bound);
  return { B: out };
}

export function decodeWindowBatch(bytes: Uint8Array): WindowBatch {
  const r = new ByteReader(bytes);
  const sequence = readVarint(r, 'window sequence');
  const count = readVarint(r, 'window count');
  r.need(OBJECT_ID_BYTES, 'window object id');
  const objectId = objectIdFromBytes(bytes.subarray(r.pos, r.pos + OBJECT_ID_BYTES));
  r.pos += OBJECT_ID_BYTES;
  const bound = readVarint(r, 'window bound');
  if (r.remaining !== 0) throw new CorruptSegmentError('window batch has trailing bytes');
  return { sequence, count, objectId, bound };
}

export function producerItemKey(topicId: string, partition: number, producerId: string): Item {
  return { pk: S(producersKey(topicId, partition)), sk: { N: producerId } };
}

/** A stored producer state with the version that pins it. */
export interface StoredProducer {
  readonly state: ProducerState;
  readonly version: number;
}

export function decodeProducer(item: Item | undefined): StoredProducer | undefined {
  if (item === undefined || item.e === undefined) return undefined;
  return {
    version: num(item, 'ver'),
    state: {
      epoch: num(item, 'e'),
      nextSequence: num(item, 'ns'),
      window: (item.w?.L ?? []).map((value) => decodeWindowBatch(value.B ?? new Uint8Array())),
      lastAppend: optNum(item, 't') ?? 0,
    },
  };
}

/** The attributes an idempotent append writes (SET), as expression values. */
export function producerValues(state: ProducerState, version: number, expirationMs: number): Item {
  return {
    ':pv': N(FORMAT_VERSION),
    ':pe': N(state.epoch),
    ':pns': N(state.nextSequence),
    ':pw': { L: state.window.map(encodeWindowBatch) },
    ':pt': N(state.lastAppend),
    ':pttl': N(Math.ceil((state.lastAppend + expirationMs) / 1000) + 3600),
    ':pver': N(version),
  };
}
