/**
 * The timing loop shared by every suite: `concurrency` workers issue calls back to back until the
 * time budget or the call budget runs out (whichever comes first), each call timed on its own with
 * `performance.now()`. Throughput is the bytes of the calls that succeeded over the wall time from
 * the first call to the last completion.
 */

/** What one call reports: the payload bytes and records it moved. */
export interface CallResult {
  readonly bytes: number;
  readonly records: number;
}

export interface LoadOptions {
  readonly concurrency: number;
  /** Stop issuing calls after this many ms... */
  readonly budgetMs: number;
  /** ...or after this many calls, whichever comes first. */
  readonly maxCalls: number;
  /** Keep going past the time budget until this many calls were issued. @default concurrency */
  readonly minCalls?: number;
}

export interface LoadResult {
  readonly calls: number;
  readonly errors: number;
  readonly wallMs: number;
  readonly bytes: number;
  readonly records: number;
  /** Per successful call, in ms, in completion order. */
  readonly latenciesMs: number[];
  readonly firstError?: string;
}

/**
 * Runs `call` under load. `call(i)` gets a unique index (0, 1, ...) per call.
 *
 * @example
 * const result = await runLoad({ concurrency: 8, budgetMs: 3000, maxCalls: 10_000 }, () => produceOnce());
 */
export async function runLoad(
  options: LoadOptions,
  call: (index: number, worker: number) => Promise<CallResult>,
): Promise<LoadResult> {
  const minCalls = options.minCalls ?? options.concurrency;
  const latenciesMs: number[] = [];
  let issued = 0;
  let errors = 0;
  let bytes = 0;
  let records = 0;
  let firstError: string | undefined;
  const start = performance.now();
  const more = () =>
    issued < options.maxCalls && (performance.now() - start < options.budgetMs || issued < minCalls);
  await Promise.all(
    Array.from({ length: options.concurrency }, async (_, worker) => {
      while (more()) {
        const index = issued++;
        const t0 = performance.now();
        try {
          const result = await call(index, worker);
          latenciesMs.push(performance.now() - t0);
          bytes += result.bytes;
          records += result.records;
        } catch (error) {
          errors++;
          firstError ??= describeError(error);
        }
      }
    }),
  );
  const wallMs = performance.now() - start;
  return {
    calls: issued,
    errors,
    wallMs,
    bytes,
    records,
    latenciesMs,
    ...(firstError === undefined ? {} : { firstError }),
  };
}

/** Several runs of the same cell (rounds) as one: sums, with wall times added. */
export function mergeLoads(results: readonly LoadResult[]): LoadResult {
  const firstError = results.find((r) => r.firstError !== undefined)?.firstError;
  return {
    calls: sum(results.map((r) => r.calls)),
    errors: sum(results.map((r) => r.errors)),
    wallMs: sum(results.map((r) => r.wallMs)),
    bytes: sum(results.map((r) => r.bytes)),
    records: sum(results.map((r) => r.records)),
    latenciesMs: results.flatMap((r) => r.latenciesMs),
    ...(firstError === undefined ? {} : { firstError }),
  };
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 300);
  return String(error).slice(0, 300);
}

export function sum(values: readonly number[]): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}

/** Nearest-rank percentile of unsorted samples; NaN when there are none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/** The figures every throughput cell reports. */
export interface Throughput {
  readonly calls: number;
  readonly errors: number;
  readonly seconds: number;
  readonly callsPerSec: number;
  readonly recordsPerSec: number;
  readonly mibPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly firstError?: string;
}

export function throughput(result: LoadResult): Throughput {
  const seconds = result.wallMs / 1000;
  return {
    calls: result.calls,
    errors: result.errors,
    seconds: round(seconds, 3),
    callsPerSec: round((result.calls - result.errors) / seconds, 1),
    recordsPerSec: round(result.records / seconds, 1),
    mibPerSec: round(result.bytes / MiB / seconds, 2),
    p50Ms: round(percentile(result.latenciesMs, 50), 2),
    p99Ms: round(percentile(result.latenciesMs, 99), 2),
    ...(result.firstError === undefined ? {} : { firstError: result.firstError }),
  };
}

export function round(value: number, digits: number): number {
  if (!Number.isFinite(value)) return value;
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** a / b, or NaN when b is 0 or either is not finite. */
export function ratio(a: number, b: number, digits = 3): number {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return Number.NaN;
  return round(a / b, digits);
}
