import { CorruptSegmentError } from './errors.ts';
import type { PendingEntry } from './index-entry.ts';
import { OBJECT_ID_BYTES, objectIdFromBytes, objectIdToBytes } from './object-keys.ts';
import { ByteReader } from './segment/reader.ts';
import { readVarint, varintSize, writeVarint } from './segment/varint.ts';

/*
 * One index entry as stored in DynamoDB (a Binary element of a head's `tail` or a page's `ents`),
 * index format v2. Offsets are not stored: a tail entry's offset follows from the head's `lb` and
 * the counts before it, a page entry's from the page's first offset.
 *
 *   bytes   field
 *   6       object id: creation time, ms since the epoch, big-endian
 *   6       object id: random
 *   varint  byte offset of the batch in the object
 *   varint  byte length of the batch
 *   varint  record count (>= 1)
 *   varint  zigzag(append time - object time), ms
 *   varint  zigzag(max record timestamp - append time), ms
 *
 * Typically 19-24 bytes (a 1 KiB batch: 12 + 1 + 2 + 1 + 1 + 2), against ~90 for the v1 map.
 * Varints are unsigned LEB128 (lib/core/segment/varint.ts).
 */

function zigzag(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

function unzigzag(value: number): number {
  return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
}

/**
 * @example
 * const bytes = encodeIndexEntry(entry); // ~20 bytes
 * decodeIndexEntry(bytes) // deep-equals entry
 */
export function encodeIndexEntry(entry: PendingEntry): Uint8Array {
  const id = objectIdToBytes(entry.objectId);
  const objectTime = objectTimeOf(id);
  const fields = [
    entry.byteOffset,
    entry.byteLength,
    entry.recordCount,
    zigzag(entry.appendTime - objectTime),
    zigzag(entry.maxTimestamp - entry.appendTime),
  ];
  for (const value of fields) {
    if (!Number.isSafeInteger(value) || value < 0)
      throw new RangeError(`index entry field ${value} out of range`);
  }
  const out = new Uint8Array(OBJECT_ID_BYTES + fields.reduce((sum, v) => sum + varintSize(v), 0));
  out.set(id, 0);
  let pos = OBJECT_ID_BYTES;
  for (const value of fields) pos = writeVarint(out, pos, value);
  return out;
}

/** Decodes one entry; throws CorruptSegmentError on anything but exactly one well-formed entry. */
export function decodeIndexEntry(bytes: Uint8Array): PendingEntry {
  const r = new ByteReader(bytes);
  r.need(OBJECT_ID_BYTES, 'index entry object id');
  const id = bytes.subarray(0, OBJECT_ID_BYTES);
  r.pos = OBJECT_ID_BYTES;
  const byteOffset = readVarint(r, 'index entry byte offset');
  const byteLength = readVarint(r, 'index entry byte length');
  const recordCount = readVarint(r, 'index entry record count');
  const appendTime = objectTimeOf(id) + unzigzag(readVarint(r, 'index entry append time'));
  const maxTimestamp = appendTime + unzigzag(readVarint(r, 'index entry max timestamp'));
  if (r.remaining !== 0) throw new CorruptSegmentError(`index entry has ${r.remaining} trailing bytes`);
  if (recordCount < 1) throw new CorruptSegmentError('index entry has no records');
  return { objectId: objectIdFromBytes(id), byteOffset, byteLength, recordCount, appendTime, maxTimestamp };
}

function objectTimeOf(id: Uint8Array): number {
  let time = 0;
  for (let i = 0; i < 6; i++) time = time * 256 + (id[i] as number);
  return time;
}
