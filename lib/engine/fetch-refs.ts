import { OffsetOutOfRangeError, StreambedError } from '../core/errors.ts';
import { entryEnd } from '../core/index-entry.ts';
import { segmentKey } from '../core/object-keys.ts';
import type { ObjectStore, PartitionRef } from '../core/ports.ts';
import type { FetchRequest, TopicRecord } from '../core/types.ts';
import type { BatchRefs } from '../core/wire/batch-refs.ts';
import type { EngineContext } from './context.ts';
import { mapLimit, withTopic } from './context.ts';
import { fetchLimits, head, rereadOnMissing } from './fetch.ts';
import { pickBatches } from './fetch-batches.ts';

/**
 * Batches named per references answer. A URL is ~1–2 KB (with a session token), so 1,000 of them stay
 * well under Lambda's 6 MB answer however small the batches are (10,000 one-record batches would not).
 */
export const MAX_REFERENCED_BATCHES = 1_000;

/** How long the URLs of a references answer work: long enough to read them at once, no more. */
export const BATCH_REF_TTL_SECONDS = 300;

/** The object store hands out no URLs (a test double, or a store without presigning). */
export class DirectReadsUnavailableError extends StreambedError {
  readonly code = 'DirectReadsUnavailable';
  readonly status = 501;
  constructor() {
    super('this object store cannot presign reads: fetch the batches themselves instead');
  }
}

/** True when {@link fetchBatchRefs} can answer (the object store presigns reads). */
export function canReferenceBatches(ctx: EngineContext): boolean {
  return ctx.objects.presignRange !== undefined;
}

/**
 * The batches a fetch from `offset` would send, by reference: for each, a presigned URL that reads
 * exactly its bytes (valid {@link BATCH_REF_TTL_SECONDS}), so the reader GETs them from the bucket
 * itself and the server reads none of their bytes. Whole batches, as in a frame, except that one
 * larger than `maxBytes` is named whole too (nothing has to fit in a Lambda answer). Below the log
 * start: OffsetOutOfRangeError; at or past the high watermark: no batches. A reader that finds an
 * object gone (retention, compaction) asks again: the new answer says where the log is now.
 *
 * @example
 * const refs = await fetchBatchRefs(ctx, { topic: 'orders', partition: 0, offset: 17 });
 */
export async function fetchBatchRefs(ctx: EngineContext, request: FetchRequest): Promise<BatchRefs> {
  const presign = ctx.objects.presignRange?.bind(ctx.objects);
  if (presign === undefined) throw new DirectReadsUnavailableError();
  const { offset, maxRecords, maxBytes } = fetchLimits(request);
  return await withTopic(ctx, request.topic, async (topic) => {
    const ref = ctx.partitionRef(topic, request.partition);
    // Index pages may be swapped by compaction while they are read: read again, as fetch does.
    return await rereadOnMissing(ctx, ref, offset, () =>
      refsFrom(ctx, topic, ref, offset, maxRecords, maxBytes, presign),
    );
  });
}

async function refsFrom(
  ctx: EngineContext,
  topic: TopicRecord,
  ref: PartitionRef,
  offset: number,
  maxRecords: number,
  maxBytes: number,
  presign: NonNullable<ObjectStore['presignRange']>,
): Promise<BatchRefs> {
  const h = await head(ctx, ref);
  const expiresAt = ctx.now() + BATCH_REF_TTL_SECONDS * 1000;
  const base = { highWatermark: h.highWatermark, logStartOffset: h.logStartOffset, expiresAt };
  if (offset < h.logStartOffset) throw new OffsetOutOfRangeError(offset, h.logStartOffset, h.highWatermark);
  if (offset >= h.highWatermark) return { ...base, nextOffset: offset, batches: [] };
  const { picked, oversized, cursor } = await pickBatches(
    ctx,
    ref,
    h,
    offset,
    maxRecords,
    maxBytes,
    MAX_REFERENCED_BATCHES,
  );
  const entries = oversized === undefined ? picked : [oversized];
  const nextOffset = oversized === undefined ? cursor : entryEnd(oversized);
  const batches = await mapLimit(entries, ctx.fetchConcurrency, async (entry) => {
    const key = segmentKey(topic.name, topic.id, entry.objectId);
    const signed = await presign(key, entry.byteOffset, entry.byteLength, BATCH_REF_TTL_SECONDS);
    return {
      baseOffset: entry.baseOffset,
      appendTime: entry.appendTime,
      length: entry.byteLength,
      ...signed,
    };
  });
  return { ...base, nextOffset, batches };
}
