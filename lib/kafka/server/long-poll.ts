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
 * passed, sleep (20 ms, then doubling up to 500 ms, never past the deadline) and look again. Each
 * look is a read of the partitions' heads (one consistent DynamoDB read per partition when nothing
 * is new): the engine has no way to be told of new data, so this polls, with backoff rather than a
 * busy loop. Answers at the first look that has enough bytes or an error, or at the deadline with
 * what the last look found.
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
