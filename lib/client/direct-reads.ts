import type { BatchRefs } from '../core/wire/batch-refs.ts';
import type { FetchLike } from './node-fetch.ts';

/** A batch named by a references answer could not be read from the bucket (why: `cause`). */
export class DirectReadError extends Error {
  override readonly name = 'DirectReadError';
}

/** GETs in flight per references answer (as the server's own ranged GETs per fetch). */
const CONCURRENCY = 8;

/**
 * Reads every batch a references answer names, straight from the bucket: one GET per batch with its
 * signed Range header, up to 8 at once, each answer exactly the batch's length. Any failure — the
 * bucket unreachable, a URL refused or expired, an object gone (403/404), a short answer — is a
 * {@link DirectReadError}: the caller fetches through the API instead, which knows where the log is now.
 *
 * @example
 * const bytes = await readReferencedBatches(nodeFetch(), refs, 30_000);
 */
export async function readReferencedBatches(
  fetchImpl: FetchLike,
  refs: BatchRefs,
  timeoutMs: number,
): Promise<Uint8Array[]> {
  const out = new Array<Uint8Array>(refs.batches.length);
  let next = 0;
  const worker = async () => {
    while (next < refs.batches.length) {
      const i = next++;
      const ref = refs.batches[i] as BatchRefs['batches'][number];
      let bytes: Uint8Array;
      let status: number;
      try {
        const answer = await fetchImpl(new URL(ref.url), {
          method: 'GET',
          headers: { range: ref.range },
          signal: AbortSignal.timeout(timeoutMs),
        });
        status = answer.status;
        bytes = new Uint8Array(await answer.arrayBuffer());
      } catch (cause) {
        throw new DirectReadError(`reading the batch at offset ${ref.baseOffset} from the bucket failed`, {
          cause,
        });
      }
      if ((status !== 200 && status !== 206) || bytes.length !== ref.length) {
        throw new DirectReadError(
          `the bucket answered ${status} with ${bytes.length} bytes for the ${ref.length}-byte batch at offset ${ref.baseOffset}`,
        );
      }
      out[i] = bytes;
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, refs.batches.length) }, worker));
  return out;
}

/** When a {@link DirectReadsGate} closes, for how long, and its clock (tests pass one). */
export interface DirectReadsGateOptions {
  readonly failuresInARow: number;
  readonly pauseMs: number;
  readonly maxPauseMs: number;
  readonly now?: () => number;
}

/**
 * Whether a transport's fetches ask for batch references, from how its direct reads went: open until
 * `failuresInARow` reads fail in a row, then closed for `pauseMs`; after the pause one fetch tries
 * again (the others wait for its outcome), and a failure then closes it for twice as long (up to
 * `maxPauseMs`). A read that works opens it for good. So a reader that lost the bucket for a while (an
 * outage, a proxy) goes back to it, and one that can never reach it tries once per pause. Failures of
 * reads that started before a pause do not lengthen it.
 *
 * @example
 * const gate = new DirectReadsGate({ failuresInARow: 3, pauseMs: 60_000, maxPauseMs: 1_800_000 });
 * if (gate.open()) { try { ...; gate.succeeded(); } catch { gate.failed(); } }
 * // a probe (gate.probing right after open()) that ends with neither: gate.abandonProbe()
 */
export class DirectReadsGate {
  private failures = 0;
  private pauseMs = 0;
  private pausedUntil = 0;
  /** A fetch after a pause is trying the bucket; the others wait for its outcome. */
  private probe = false;
  private readonly now: () => number;
  private readonly options: DirectReadsGateOptions;

  constructor(options: DirectReadsGateOptions) {
    this.options = options;
    this.now = options.now ?? (() => performance.now()); // monotonic: a clock step changes no pause
  }

  /** Whether this fetch may read directly; after a pause, one fetch at a time tries (the probe). */
  open(): boolean {
    if (this.failures < this.options.failuresInARow) return true;
    if (this.probe || this.now() < this.pausedUntil) return false;
    this.probe = true;
    return true;
  }

  /** Whether a probe is under way: right after `open()` said yes, whether this fetch is it. */
  get probing(): boolean {
    return this.probe;
  }

  /**
   * The probe ended without a word on the bucket (its fetch failed before any direct read, or was
   * answered without references): the next fetch probes instead — else no fetch ever would again.
   */
  abandonProbe(): void {
    this.probe = false;
  }

  succeeded(): void {
    this.failures = 0;
    this.pauseMs = 0;
    this.probe = false;
  }

  failed(): void {
    const paused = this.failures >= this.options.failuresInARow;
    this.failures++;
    if (this.failures < this.options.failuresInARow) return;
    // A read that was under way when the pause began says nothing new about the bucket.
    if (paused && !this.probe) return;
    this.probe = false;
    this.pauseMs =
      this.pauseMs === 0 ? this.options.pauseMs : Math.min(this.pauseMs * 2, this.options.maxPauseMs);
    this.pausedUntil = this.now() + this.pauseMs;
  }
}
