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

function envMs(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 0)
    throw new Error(`${name} must be a duration in ms, got ${value}`);
  return parsed;
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
  const intervalMs = options.intervalMs ?? envMs('STREAMBED_SWEEP_INTERVAL_MS', 60_000);
  const graceMs = options.graceMs ?? envMs('STREAMBED_GC_GRACE_MS', LOCAL_GC_GRACE_MS);
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
