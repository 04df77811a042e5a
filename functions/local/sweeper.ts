import { createStreambed, type StreambedAwsConfig } from '../../lib/adapters/aws.ts';
import { MIN_GC_GRACE_MS } from '../../lib/core/retention.ts';
import type { SweepReport } from '../../lib/engine/sweep.ts';

/**
 * On one machine every clock is the same, so an object needs to outlive the proof it is
 * unreferenced only by the commit limit and a request's flight: the least grace allowed, 2 minutes.
 */
export const LOCAL_GC_GRACE_MS = MIN_GC_GRACE_MS;

export interface LocalSweeperOptions {
  readonly config: StreambedAwsConfig;
  /** @default STREAMBED_SWEEP_INTERVAL_MS or 60000 */
  readonly intervalMs?: number;
  /** @default STREAMBED_GC_GRACE_MS or {@link LOCAL_GC_GRACE_MS} */
  readonly graceMs?: number;
  readonly onReport?: (report: SweepReport) => void;
  readonly onError?: (error: unknown) => void;
}

function envMs(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const value = env[name];
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 0)
    throw new Error(`${name} must be a duration in ms, got ${value}`);
  return parsed;
}

/**
 * The sweep's interval and grace from `STREAMBED_SWEEP_INTERVAL_MS` and `STREAMBED_GC_GRACE_MS`,
 * checked, so `npm start` refuses a bad value before it starts anything (a grace under the minimum
 * would fail every sweep, and nothing would be retired).
 *
 * @example localSweepSettings({ STREAMBED_GC_GRACE_MS: '180000' }) // { intervalMs: 60000, graceMs: 180000 }
 */
export function localSweepSettings(env: NodeJS.ProcessEnv = process.env): {
  intervalMs: number;
  graceMs: number;
} {
  return { intervalMs: intervalFromEnv(env), graceMs: graceFromEnv(env) };
}

function intervalFromEnv(env: NodeJS.ProcessEnv): number {
  const intervalMs = envMs(env, 'STREAMBED_SWEEP_INTERVAL_MS', 60_000);
  if (intervalMs < 1) throw new Error('STREAMBED_SWEEP_INTERVAL_MS must be at least 1 ms, got 0');
  return intervalMs;
}

function graceFromEnv(env: NodeJS.ProcessEnv): number {
  const graceMs = envMs(env, 'STREAMBED_GC_GRACE_MS', LOCAL_GC_GRACE_MS);
  if (graceMs < MIN_GC_GRACE_MS) {
    throw new Error(
      `STREAMBED_GC_GRACE_MS must be at least ${MIN_GC_GRACE_MS} ms (twice the commit limit: an object outlives every request that may still point at it), got ${graceMs}`,
    );
  }
  return graceMs;
}

/**
 * The lifecycle sweep of `npm start`: what the scheduled function does on AWS, every
 * `STREAMBED_SWEEP_INTERVAL_MS` (default 60000). One pass at a time.
 *
 * @example
 * const sweeper = startLocalSweeper({ config });
 * await sweeper.stop();
 */
export function startLocalSweeper(options: LocalSweeperOptions): { stop(): Promise<void> } {
  // The environment only for what the options leave out.
  const intervalMs = options.intervalMs ?? intervalFromEnv(process.env);
  const graceMs = options.graceMs ?? graceFromEnv(process.env);
  const log = createStreambed(options.config);
  let running: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    running = running
      .then(async () => {
        const report = await log.sweep({ graceMs, deadline: Date.now() + intervalMs });
        options.onReport?.(report);
      })
      .catch((error: unknown) => options.onError?.(error));
  }, intervalMs);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
