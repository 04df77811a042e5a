import { CorruptSegmentError } from '../errors.ts';
import { asCorrupt, batchExtent } from '../segment/batch.ts';
import { ZstdUnavailableError } from '../segment/compression.ts';
import type { DecodedFetchFrame, FrameBatch, FrameRequest } from './fetch-frame.ts';
import { recordsOfBatches } from './fetch-frame.ts';

/*
 * Batch references: a fetch answer (content type application/vnd.streambed.batch-refs+json) that names
 * the stored batches instead of carrying them, for readers that can reach the bucket. Each batch is read
 * with one GET of `url` sending exactly `Range: <range>` (the header is part of the signature), and is
 * `length` bytes: a stored batch (batch.ts) with its own CRC32C, checked by the reader as in a frame.
 *
 *   {
 *     "highWatermark": 2048, "logStartOffset": 0, "nextOffset": 2048,
 *     "expiresAt": 1764400000000,          // the URLs stop working then (ms since the epoch)
 *     "batches": [                          // in offset order, whole (the first may start below the offset asked)
 *       { "baseOffset": 1024, "appendTime": 1764399700000, "length": 1050123,
 *         "url": "https://bucket.s3.eu-west-1.amazonaws.com/topics/…?X-Amz-Signature=…",
 *         "range": "bytes=8192-1058314" }
 *     ]
 *   }
 */

/** The content type of a batch-references answer. */
export const BATCH_REFS_TYPE = 'application/vnd.streambed.batch-refs+json';

/** One stored batch, by reference. */
export interface BatchRef {
  readonly baseOffset: number;
  readonly appendTime: number;
  /** The batch's size in bytes: what the GET must return. */
  readonly length: number;
  /** A presigned GET URL of the object holding the batch. */
  readonly url: string;
  /** The Range header the URL was signed with. */
  readonly range: string;
}

export interface BatchRefs {
  readonly highWatermark: number;
  readonly logStartOffset: number;
  readonly nextOffset: number;
  readonly expiresAt: number;
  readonly batches: readonly BatchRef[];
}

const isOffset = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/**
 * Checks that a parsed answer is a {@link BatchRefs}; throws CorruptSegmentError naming what is wrong.
 *
 * @example
 * const refs = readBatchRefs(JSON.parse(text));
 */
export function readBatchRefs(value: unknown): BatchRefs {
  const refs = value as Partial<BatchRefs> | null;
  const bad = (what: string) => new CorruptSegmentError(`batch references answer: ${what}`);
  if (refs === null || typeof refs !== 'object') throw bad('not an object');
  for (const field of ['highWatermark', 'logStartOffset', 'nextOffset', 'expiresAt'] as const) {
    if (!isOffset(refs[field])) throw bad(`${field} is not a non-negative integer`);
  }
  if (!Array.isArray(refs.batches)) throw bad('batches is not an array');
  for (const [i, batch] of refs.batches.entries()) {
    const b = batch as Partial<BatchRef> | null;
    if (b === null || typeof b !== 'object') throw bad(`batch ${i} is not an object`);
    if (!isOffset(b.baseOffset) || !isOffset(b.appendTime) || !isOffset(b.length) || b.length < 16) {
      throw bad(`batch ${i} has no valid baseOffset, appendTime or length`);
    }
    if (typeof b.url !== 'string' || !/^https?:\/\//.test(b.url)) throw bad(`batch ${i} has no http(s) url`);
    if (typeof b.range !== 'string' || !/^bytes=\d+-\d+$/.test(b.range)) throw bad(`batch ${i} has no range`);
  }
  return refs as BatchRefs;
}

/**
 * The records of a references answer once the reader fetched every batch's bytes (`bytes[i]` for
 * `refs.batches[i]`): each must be exactly the batch named (its length, `partition`, its CRC32C),
 * else CorruptSegmentError. Same records and `nextOffset` as a frame of the same batches.
 *
 * @example
 * const bytes = await Promise.all(refs.batches.map((b) => get(b.url, b.range)));
 * const { records, nextOffset } = recordsOfRefs(refs, bytes, { offset: 17 }, 0);
 */
export function recordsOfRefs(
  refs: BatchRefs,
  bytes: readonly Uint8Array[],
  request: FrameRequest,
  partition: number,
): DecodedFetchFrame {
  try {
    const batches: FrameBatch[] = refs.batches.map((ref, i) => {
      const got = bytes[i] ?? new Uint8Array();
      const extent = got.length >= 16 ? batchExtent(got, 0) : -1;
      const holds = got.length >= 16 ? new DataView(got.buffer, got.byteOffset).getUint32(12) : -1;
      if (got.length !== ref.length || extent !== ref.length || holds !== partition) {
        throw new CorruptSegmentError(
          `the ${got.length} bytes read for the batch at offset ${ref.baseOffset} are not the ${ref.length}-byte batch of partition ${partition} named`,
        );
      }
      return { baseOffset: ref.baseOffset, appendTime: ref.appendTime, bytes: got };
    });
    const { records, nextOffset } = recordsOfBatches(batches, request, refs.nextOffset);
    return { records, nextOffset, highWatermark: refs.highWatermark, logStartOffset: refs.logStartOffset };
  } catch (error) {
    if (error instanceof ZstdUnavailableError) throw error;
    throw asCorrupt(error, 'referenced batch');
  }
}
