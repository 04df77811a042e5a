import { setTimeout as sleep } from 'node:timers/promises';
import { retryAfterMs } from './errors.ts';

/** How a client retries retryable failures: exponential backoff with jitter, at least `Retry-After`. */
export interface RetryOptions {
  /** Attempts after the first. @default 5 (the producer: until its delivery timeout) */
  readonly retries?: number;
  /** @default 100 */
  readonly initialDelayMs?: number;
  /** @default 5_000 */
  readonly maxDelayMs?: number;
}

/**
 * The wait before retry number `attempt` (1-based): `initialDelayMs × 2^(attempt−1)`, capped, with
 * ±20% jitter, and never less than what the error's `Retry-After` asked for.
 *
 * @example
 * await sleep(backoffMs(2, error, { initialDelayMs: 100 })); // about 200 ms
 */
export function backoffMs(attempt: number, error: unknown, options: RetryOptions = {}): number {
  const initial = options.initialDelayMs ?? 100;
  const max = options.maxDelayMs ?? 5_000;
  const exponential = Math.min(max, initial * 2 ** Math.max(0, attempt - 1));
  const jittered = exponential * (0.8 + Math.random() * 0.4);
  return Math.max(Math.round(jittered), retryAfterMs(error) ?? 0);
}

/**
 * Runs `work`, retrying it while it fails with a retryable error, up to `retries` times.
 *
 * @example
 * const topics = await withRetry(() => transport.listTopics(), { retries: 3 });
 */
export async function withRetry<T>(
  work: () => Promise<T>,
  options: RetryOptions = {},
  isRetryable: (error: unknown) => boolean = defaultRetryable,
): Promise<T> {
  const retries = options.retries ?? 5;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt > retries || !isRetryable(error)) throw error;
      await sleep(backoffMs(attempt, error, options));
    }
  }
}

function defaultRetryable(error: unknown): boolean {
  return (error as { retryable?: unknown } | null)?.retryable === true;
}
