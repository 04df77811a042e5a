/**
 * When a stream poller reads again. After a round that found records, or after a wake, it reads at
 * once; then each empty round doubles the pause, from `activeMs` up to `idleMs`, where it stays. So a
 * poller that sees nothing for long enough reads exactly as often as one that always paused `idleMs`,
 * and a short burst of fast reads only follows activity.
 */
export interface PollSchedule {
  /** The pause after the first empty round following activity. */
  readonly activeMs: number;
  /** The longest pause, and the pause once idle. */
  readonly idleMs: number;
}

/** Today's idle cadence (a Lambda event source mapping reads a shard about 4 times a second) and a fast start. */
export const DEFAULT_POLL_SCHEDULE: PollSchedule = { activeMs: 10, idleMs: 200 };

/**
 * The pause after a round, given how many rounds in a row have been empty since the poller last saw
 * records or was woken (0: this round saw some, or a wake came: read again at once).
 *
 * @example
 * pollDelay(0, { activeMs: 10, idleMs: 200 }); // 0
 * pollDelay(1, { activeMs: 10, idleMs: 200 }); // 10
 * pollDelay(4, { activeMs: 10, idleMs: 200 }); // 80
 * pollDelay(9, { activeMs: 10, idleMs: 200 }); // 200
 */
export function pollDelay(emptyRounds: number, schedule: PollSchedule): number {
  if (!(emptyRounds >= 1)) return 0;
  const idle = Math.max(0, schedule.idleMs);
  // At least 1 ms while idleMs allows it: a zero start would never grow into a pause.
  const active = Math.min(Math.max(1, schedule.activeMs), idle);
  // 2 ** 30 is far past any idleMs a caller would pick; Infinity (never active yet) lands here too.
  return Math.min(idle, active * 2 ** Math.min(emptyRounds - 1, 30));
}

/**
 * Whether a poller may look for new shards now: at most once per `everyRounds` rounds and once per
 * `everyMs`, so fast reads after activity never make discovery more frequent than an idle poller's.
 *
 * @example
 * discoveryDue({ rounds: 10, sinceMs: 2_050 }, { everyRounds: 10, everyMs: 2_000 }); // true
 * discoveryDue({ rounds: 10, sinceMs: 300 }, { everyRounds: 10, everyMs: 2_000 }); // false
 */
export function discoveryDue(
  since: { readonly rounds: number; readonly sinceMs: number },
  every: { readonly everyRounds: number; readonly everyMs: number },
): boolean {
  return since.rounds >= every.everyRounds && since.sinceMs >= every.everyMs;
}
