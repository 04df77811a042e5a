import { OffsetOutOfRangeError } from '../../../core/errors.ts';
import { ApiKey } from '../../protocol/api.ts';
import { encodeRecordBatch } from '../../protocol/record-batch.ts';
import { type HandlerContext, int64, type KafkaApiHandler } from '../context.ts';
import { KafkaError, toKafkaError } from '../error-codes.ts';
import { gatedLook, longPoll } from '../long-poll.ts';
import { emptyBatch, toRecordBatch } from '../records.ts';

interface FetchRequest {
  readonly maxWaitMs: number;
  readonly minBytes: number;
  readonly maxBytes: number;
  readonly sessionId: number;
  readonly topics: readonly {
    readonly topic: string;
    readonly partitions: readonly {
      readonly partition: number;
      readonly fetchOffset: bigint;
      readonly partitionMaxBytes: number;
    }[];
  }[];
}

interface PartitionData {
  readonly partitionIndex: number;
  readonly errorCode: number;
  readonly highWatermark: bigint;
  readonly lastStableOffset: bigint;
  readonly logStartOffset: bigint;
  readonly abortedTransactions: [];
  readonly preferredReadReplica: number;
  readonly records: Uint8Array;
}

/** The engine's cap on one fetch's bytes (lib/engine/fetch.ts MAX_MAX_BYTES). */
const ENGINE_MAX_BYTES = 64 * 1024 * 1024;
/** The engine's cap on one fetch's records (lib/engine/fetch.ts MAX_MAX_RECORDS). */
const ENGINE_MAX_RECORDS = 10_000;
const EMPTY = new Uint8Array(0);

/**
 * Fetch (key 1), v4-12 (v13+ name topics by id only): per partition, `Streambed.fetch` from the fetch
 * offset, returned as one record batch v2 whose offsets are the log's (baseOffset = the first
 * record's; a compacted log's holes are gaps in the offset deltas), with the high watermark, the log
 * start offset, and last stable offset = high watermark (no transactions). Below the log start, or
 * above the high watermark: OFFSET_OUT_OF_RANGE. Waits up to MaxWaitMs for MinBytes (long-poll.ts).
 * PartitionMaxBytes bounds each partition and MaxBytes the response, softly as Kafka does: the first
 * partition with data returns at least one record; partitions past the budget return none this time.
 * Fetch sessions (KIP-227) are not kept: every response has session id 0, so clients send full
 * fetches, which a stateless server can answer.
 *
 * @example fetch.handle({ maxWaitMs: 500, minBytes: 1, maxBytes: 52428800, topics: [...] }, 11, ctx)
 */
export const fetch: KafkaApiHandler = {
  apiKey: ApiKey.Fetch,
  minVersion: 4,
  maxVersion: 12,
  handle: async (request, _version, ctx) => {
    const req = request as unknown as FetchRequest;
    if (req.sessionId !== 0) {
      return {
        throttleTimeMs: 0,
        errorCode: KafkaError.FETCH_SESSION_ID_NOT_FOUND,
        sessionId: 0,
        responses: [],
      };
    }
    // Each partition's look is one head read while its high watermark stays (long-poll.ts gatedLook).
    const looks = req.topics.map((t) => ({
      topic: t.topic,
      partitions: t.partitions.map((p) =>
        gatedLook({
          read: () => fetchPartition(ctx, t.topic, p),
          highWatermark: () => ctx.engine.listOffsets(t.topic, p.partition, 'latest'),
          reusableAt: (d) =>
            d.errorCode === KafkaError.NONE && d.records.length > 0 ? Number(d.highWatermark) : undefined,
        }),
      ),
    }));
    const responses = await longPoll(
      async () => {
        const looked = await Promise.all(
          looks.map(async (t) => ({
            topic: t.topic,
            partitions: await Promise.all(t.partitions.map((look) => look())),
          })),
        );
        const trimmed = applyMaxBytes(looked, req.maxBytes);
        let bytes = 0;
        let failed = false;
        for (const t of trimmed) {
          for (const p of t.partitions) {
            bytes += p.records.length;
            if (p.errorCode !== KafkaError.NONE) failed = true;
          }
        }
        return { value: trimmed, bytes, failed };
      },
      { maxWaitMs: req.maxWaitMs, minBytes: req.minBytes, clock: ctx.clock, signal: ctx.signal },
    );
    return { throttleTimeMs: 0, errorCode: KafkaError.NONE, sessionId: 0, responses };
  },
};

async function fetchPartition(
  ctx: HandlerContext,
  topic: string,
  p: FetchRequest['topics'][number]['partitions'][number],
): Promise<PartitionData> {
  const offset = int64(p.fetchOffset);
  const base = {
    partitionIndex: p.partition,
    abortedTransactions: [] as [],
    preferredReadReplica: -1,
  };
  try {
    if (!Number.isSafeInteger(offset) || offset < 0) {
      const error = new OffsetOutOfRangeError(Number.isNaN(offset) ? -1 : offset, 0, 0);
      return { ...base, ...failure(toKafkaError(error).errorCode) };
    }
    const result = await ctx.engine.fetch({
      topic,
      partition: p.partition,
      offset,
      maxRecords: ENGINE_MAX_RECORDS,
      maxBytes: Math.min(Math.max(1, p.partitionMaxBytes), ENGINE_MAX_BYTES),
    });
    const marks = {
      highWatermark: BigInt(result.highWatermark),
      lastStableOffset: BigInt(result.highWatermark),
      logStartOffset: BigInt(result.logStartOffset),
    };
    if (offset > result.highWatermark) {
      return { ...base, ...marks, errorCode: KafkaError.OFFSET_OUT_OF_RANGE, records: EMPTY };
    }
    // The engine's nextOffset steps over a compacted log's holes: the batch covers them (or, when only
    // holes were met, an empty batch does), or the client would fetch inside them forever.
    const records =
      result.records.length > 0
        ? encodeRecordBatch(toRecordBatch(result.records, 'none', result.nextOffset))
        : result.nextOffset > offset
          ? encodeRecordBatch(emptyBatch(offset, result.nextOffset))
          : EMPTY;
    return { ...base, ...marks, errorCode: KafkaError.NONE, records };
  } catch (error) {
    const marks =
      error instanceof OffsetOutOfRangeError
        ? {
            highWatermark: BigInt(error.highWatermark),
            lastStableOffset: BigInt(error.highWatermark),
            logStartOffset: BigInt(error.logStartOffset),
          }
        : {};
    return { ...base, ...failure(toKafkaError(error).errorCode), ...marks };
  }
}

function failure(errorCode: number) {
  return { errorCode, highWatermark: -1n, lastStableOffset: -1n, logStartOffset: -1n, records: EMPTY };
}

/** Keeps records while the response's budget lasts; the first partition with records always keeps them. */
function applyMaxBytes<T extends { readonly partitions: readonly PartitionData[] }>(
  topics: readonly T[],
  maxBytes: number,
): T[] {
  let used = 0;
  return topics.map((t) => ({
    ...t,
    partitions: t.partitions.map((p) => {
      if (p.records.length === 0) return p;
      if (used > 0 && used + p.records.length > maxBytes) return { ...p, records: EMPTY };
      used += p.records.length;
      return p;
    }),
  }));
}
