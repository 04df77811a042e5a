import type { Clock } from './context.ts';

/** What one look at the log found. */
export interface PollAttempt<T> {
  readonly value: T;
  /** Bytes found so far (compared with minBytes). */
  readonly bytes: number;
  /** An error to report: answer now, as Kafka does, whatever minBytes says. */
  readonly failed: boolean;
}

export interface LongPollOptions {
  /** Kafka's fetch max.wait.ms (the request's MaxWaitMs). */
  readonly maxWaitMs: number;
  /** Kafka's fetch.min.bytes (the request's MinBytes); ≤ 0 answers at once. */
  readonly minBytes: number;
  readonly clock: Clock;
  /** Stops waiting (the connection closed); the last attempt is returned. */
  readonly signal?: AbortSignal;
  /** The first pause between looks; doubled after each. @default 20 */
  readonly initialBackoffMs?: number;
  /** @default 500 */
  readonly maxBackoffMs?: number;
}

/**
 * Kafka's fetch wait: look at the log; if fewer than `minBytes` were found and `maxWaitMs` has not
 * passed, sleep (20 ms, then doubling up to 500 ms, never past the deadline) and look again. The
 * engine has no way to be told of new data, so this polls, with backoff rather than a busy loop; a
 * look should be cheap when nothing is new: one read of each partition's head (one consistent
 * DynamoDB read), records read only past what the last look saw ({@link gatedLook}). Answers at the
 * first look that has enough bytes or an error, or at the deadline with what the last look found.
 *
 * @example
 * const result = await longPoll(() => fetchAll(), { maxWaitMs: 500, minBytes: 1, clock: SYSTEM_CLOCK });
 */
export async function longPoll<T>(
  attempt: () => Promise<PollAttempt<T>>,
  options: LongPollOptions,
): Promise<T> {
  const start = options.clock.now();
  const deadline = start + Math.max(0, options.maxWaitMs);
  let backoff = options.initialBackoffMs ?? 20;
  const maxBackoff = options.maxBackoffMs ?? 500;
  for (;;) {
    const look = await attempt();
    if (look.failed || look.bytes >= options.minBytes || options.signal?.aborted === true) return look.value;
    const remaining = deadline - options.clock.now();
    if (remaining <= 0) return look.value;
    await options.clock.sleep(Math.min(backoff, remaining), options.signal);
    backoff = Math.min(backoff * 2, maxBackoff);
  }
}

/** What a gated look is told of each read. */
export interface GatedLookOptions<T> {
  /** The full look: reads records (S3 ranges, decoding, re-encoding). */
  readonly read: () => Promise<T>;
  /** The cheap look: the partition's high watermark now (one DynamoDB read of its head). */
  readonly highWatermark: () => Promise<number | null>;
  /**
   * The high watermark a read's value was found at, when the value may stand in for a later read
   * while the high watermark stays there; undefined when it may not (it failed, or found nothing: a
   * read that finds nothing costs one head read anyway).
   */
  readonly reusableAt: (value: T) => number | undefined;
}

/**
 * One partition's look for {@link longPoll}, made cheap when nothing changed: after a read that found
 * records (too few for minBytes), the next look reads only the high watermark, and reads records
 * again only when it moved; until then the last read stands. Records below an unchanged high
 * watermark do not change (offsets are dense and immutable), so the answer is the same one. A head read
 * that fails is followed by the full read (whose value carries the error, as a look without the gate).
 *
 * @example
 * const look = gatedLook({
 *   read: () => fetchPartition(ctx, topic, p),
 *   highWatermark: () => ctx.engine.listOffsets(topic, p.partition, 'latest'),
 *   reusableAt: (d) => (d.errorCode === 0 && d.records.length > 0 ? Number(d.highWatermark) : undefined),
 * });
 * await longPoll(async () => summarize(await look()), options);
 */
export function gatedLook<T>(options: GatedLookOptions<T>): () => Promise<T> {
  let last: { readonly value: T; readonly at: number } | undefined;
  return async () => {
    // A cheap look that fails falls back to the full one, which reports the error as its value does.
    if (last !== undefined && (await options.highWatermark().catch(() => undefined)) === last.at) {
      return last.value;
    }
    const value = await options.read();
    const at = options.reusableAt(value);
    last = at === undefined ? undefined : { value, at };
    return value;
  };
}
