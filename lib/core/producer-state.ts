import { DuplicateSequenceError, OutOfOrderSequenceError, ProducerFencedError } from './errors.ts';

/** Kafka keeps the last 5 batches of each producer per partition (max.in.flight.requests = 5). */
export const PRODUCER_WINDOW = 5;

/**
 * Kafka's sequence numbers are int32 counted modulo 2^31: after 2,147,483,647 comes 0, and a batch may
 * straddle the wrap (about 2.1 billion records from one producer id on one partition).
 */
export const SEQUENCE_MODULUS = 2 ** 31;

/**
 * The sequence `count` after `sequence`, modulo 2^31.
 *
 * @example nextSequenceAfter(2_147_483_640, 20) // 12
 */
export function nextSequenceAfter(sequence: number, count: number): number {
  return (sequence + count) % SEQUENCE_MODULUS;
}

/** How far `later` is past `earlier` going forward modulo 2^31, in [0, 2^31). */
function forward(earlier: number, later: number): number {
  return (((later - earlier) % SEQUENCE_MODULUS) + SEQUENCE_MODULUS) % SEQUENCE_MODULUS;
}

/** One of a producer's last batches on a partition. */
export interface WindowBatch {
  /** First sequence number of the batch. */
  readonly sequence: number;
  readonly count: number;
  /** The segment object holding it: the index entry with this object id is the batch. */
  readonly objectId: string;
  /** An offset at or below the batch's base offset (where a search for its entry may start). */
  readonly bound: number;
}

/** What a partition remembers about an idempotent producer. */
export interface ProducerState {
  readonly epoch: number;
  /** The sequence the next batch must start with. */
  readonly nextSequence: number;
  /** The last batches, oldest first, at most {@link PRODUCER_WINDOW}. */
  readonly window: readonly WindowBatch[];
  /** When the producer last appended here (ms); state idle longer than the expiration is gone. */
  readonly lastAppend: number;
}

/** One partition's batch from an idempotent producer. */
export interface ProducerBatch {
  readonly producerId: string;
  readonly epoch: number;
  readonly sequence: number;
  readonly count: number;
}

export type ProducerDecision =
  | { readonly kind: 'append' }
  | { readonly kind: 'duplicate'; readonly batch: WindowBatch }
  | { readonly kind: 'error'; readonly error: Error };

/**
 * Kafka's rules for a batch, given the partition's state for the producer (undefined when it has
 * none, or when it expired):
 * - no state: the first sequence must be 0;
 * - a lower epoch than stored is fenced; a higher one must start at sequence 0;
 * - same epoch: the next sequence is appended; a batch equal to one of the last 5 is a duplicate
 *   (its original offsets are returned); older than those is a DuplicateSequence; anything else
 *   (a gap, or a resend with another record count) is OutOfOrderSequence.
 *
 * @example
 * decide({ epoch: 0, nextSequence: 7, window: [{ sequence: 5, count: 2, objectId, bound: 40 }], lastAppend },
 *   { producerId: '9', epoch: 0, sequence: 5, count: 2 }) // { kind: 'duplicate', batch: { sequence: 5, ... } }
 */
export function decide(state: ProducerState | undefined, batch: ProducerBatch): ProducerDecision {
  const who = `producer ${batch.producerId}`;
  const outOfOrder = (message: string, ahead = false, noState = false) => ({
    kind: 'error' as const,
    error: new OutOfOrderSequenceError(`${who} ${message}`, { ahead, noState }),
  });
  if (state === undefined) {
    if (batch.sequence === 0) return { kind: 'append' };
    return outOfOrder(
      `has no state on this partition (new, or idle past the expiration): expected sequence 0, got ${batch.sequence}`,
      true,
      true,
    );
  }
  if (batch.epoch < state.epoch) {
    return {
      kind: 'error',
      error: new ProducerFencedError(`${who} epoch ${batch.epoch} is fenced by epoch ${state.epoch}`),
    };
  }
  if (batch.epoch > state.epoch) {
    if (batch.sequence === 0) return { kind: 'append' };
    return outOfOrder(`starts epoch ${batch.epoch}: expected sequence 0, got ${batch.sequence}`);
  }
  const same = state.window.find((b) => b.sequence === batch.sequence);
  if (same !== undefined) {
    if (same.count === batch.count) return { kind: 'duplicate', batch: same };
    return outOfOrder(
      `resent sequence ${batch.sequence} with ${batch.count} records; the original had ${same.count}`,
    );
  }
  if (batch.sequence === state.nextSequence) return { kind: 'append' };
  const oldest = state.window[0]?.sequence ?? state.nextSequence;
  // Modulo 2^31: a batch up to half the sequence space behind the next one is behind (appended before);
  // anything else is ahead (a gap). Plain `<` would take the first batch after a wrap for an old one.
  const half = SEQUENCE_MODULUS / 2;
  const behindNext = forward(batch.sequence, state.nextSequence);
  const behindOldest = forward(batch.sequence, oldest);
  if (behindOldest > 0 && behindOldest <= half) {
    return {
      kind: 'error',
      error: new DuplicateSequenceError(
        `${who} sequence ${batch.sequence} is older than the last ${PRODUCER_WINDOW} batches (from sequence ${oldest}): ` +
          'it was appended before, and its offsets are no longer known',
      ),
    };
  }
  return outOfOrder(`expected sequence ${state.nextSequence}, got ${batch.sequence}`, behindNext > half);
}

/** The state after appending `batch` (which {@link decide} accepted). */
export function afterAppend(
  state: ProducerState | undefined,
  batch: ProducerBatch,
  appended: { readonly objectId: string; readonly bound: number; readonly now: number },
): ProducerState {
  const previous = state !== undefined && state.epoch === batch.epoch ? state.window : [];
  const window = [
    ...previous,
    { sequence: batch.sequence, count: batch.count, objectId: appended.objectId, bound: appended.bound },
  ].slice(-PRODUCER_WINDOW);
  return {
    epoch: batch.epoch,
    nextSequence: nextSequenceAfter(batch.sequence, batch.count),
    window,
    lastAppend: appended.now,
  };
}
