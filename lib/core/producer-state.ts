import { DuplicateSequenceError, OutOfOrderSequenceError, ProducerFencedError } from './errors.ts';

/**
 * What a partition remembers about an idempotent producer: its epoch and its last appended batch
 * (first sequence, record count, and the base offset it received).
 */
export interface ProducerState {
  readonly epoch: number;
  readonly lastSequence: number;
  readonly lastCount: number;
  readonly lastBaseOffset: number;
}

/** One partition's batch from an idempotent producer. */
export interface ProducerBatch {
  readonly producerId: string;
  readonly epoch: number;
  readonly sequence: number;
  readonly count: number;
}

/** The outcome for a batch whose conditional append was refused. */
export type RefusedBatch =
  | { readonly kind: 'duplicate'; readonly baseOffset: number }
  | { readonly kind: 'retry' }
  | { readonly kind: 'error'; readonly error: Error };

/**
 * Kafka's rules for a batch, given the partition's stored state for the producer:
 * - no state: the first sequence must be 0;
 * - a lower epoch than stored is fenced; a higher one must start at sequence 0;
 * - same epoch: the next sequence is accepted, the last batch again is a duplicate (its original
 *   offsets are returned), anything older is a DuplicateSequence, anything further is a gap.
 *
 * `accepts` says whether the batch may be appended; `classifyRefusal` explains a refused one from
 * the state the failed condition returned.
 */
export function accepts(state: ProducerState | undefined, batch: ProducerBatch): boolean {
  if (state === undefined) return batch.sequence === 0;
  if (batch.epoch > state.epoch) return batch.sequence === 0;
  if (batch.epoch < state.epoch) return false;
  return batch.sequence === state.lastSequence + state.lastCount;
}

/**
 * @example
 * classifyRefusal({ epoch: 0, lastSequence: 5, lastCount: 2, lastBaseOffset: 40 },
 *   { producerId: 'p', epoch: 0, sequence: 5, count: 2 }) // { kind: 'duplicate', baseOffset: 40 }
 */
export function classifyRefusal(state: ProducerState | undefined, batch: ProducerBatch): RefusedBatch {
  const who = `producer '${batch.producerId}'`;
  if (state === undefined) {
    if (batch.sequence === 0) return { kind: 'retry' };
    return {
      kind: 'error',
      error: new OutOfOrderSequenceError(
        `${who} is new to this partition: expected sequence 0, got ${batch.sequence}`,
      ),
    };
  }
  if (batch.epoch < state.epoch) {
    return {
      kind: 'error',
      error: new ProducerFencedError(`${who} epoch ${batch.epoch} is fenced by epoch ${state.epoch}`),
    };
  }
  if (batch.epoch > state.epoch) {
    if (batch.sequence === 0) return { kind: 'retry' };
    return {
      kind: 'error',
      error: new OutOfOrderSequenceError(
        `${who} starts epoch ${batch.epoch}: expected sequence 0, got ${batch.sequence}`,
      ),
    };
  }
  const expected = state.lastSequence + state.lastCount;
  if (batch.sequence === state.lastSequence) {
    if (batch.count === state.lastCount) return { kind: 'duplicate', baseOffset: state.lastBaseOffset };
    return {
      kind: 'error',
      error: new OutOfOrderSequenceError(
        `${who} resent sequence ${batch.sequence} with ${batch.count} records; the original had ${state.lastCount}`,
      ),
    };
  }
  if (batch.sequence === expected) return { kind: 'retry' };
  if (batch.sequence < state.lastSequence) {
    return {
      kind: 'error',
      error: new DuplicateSequenceError(
        `${who} sequence ${batch.sequence} was appended before the last batch (sequence ${state.lastSequence})`,
      ),
    };
  }
  return {
    kind: 'error',
    error: new OutOfOrderSequenceError(`${who} expected sequence ${expected}, got ${batch.sequence}`),
  };
}
