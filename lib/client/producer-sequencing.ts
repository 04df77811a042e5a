import type { StreambedError } from '../core/errors.ts';
import { nextSequenceAfter } from '../core/producer-state.ts';
import type { ProducerIdentity } from '../core/types.ts';
import { isRetryable } from './errors.ts';
import type { Batch, Identity, Lane } from './producer-buffer.ts';

/**
 * What a failed attempt of a batch leads to: `retry` after a backoff, `reorder` (again once every
 * earlier batch settled), `reset` (an epoch bump, then again), `duplicate` (already appended: settled
 * without offsets), `fenced` (the whole producer fails), `fatal` (the batch fails).
 */
export type Decision = 'retry' | 'reorder' | 'reset' | 'fatal' | 'fenced' | 'duplicate';

/**
 * The decision for a failed attempt. `predecessorsSettled`: every earlier batch of the lane had settled
 * when the attempt was sent.
 */
export function decide(error: unknown, idempotent: boolean, predecessorsSettled: boolean): Decision {
  const code = (error as StreambedError | undefined)?.code;
  if (idempotent) {
    if (code === 'ProducerFenced') return 'fenced';
    if (code === 'UnknownProducerId') return 'reset';
    if (code === 'DuplicateSequence') return 'duplicate';
    // Out of order while an earlier batch was unsettled is pipelining after that batch's failure: it
    // goes again once the earlier ones are in. With every earlier batch settled, the server's state
    // lost track of ours (an earlier batch failed for good, or the state expired): start afresh.
    if (code === 'OutOfOrderSequence') return predecessorsSettled ? 'reset' : 'reorder';
  }
  return isRetryable(error) ? 'retry' : 'fatal';
}

/**
 * Refusals that come before anything of the request is stored (the producer id, the request itself).
 * Two of them can also refuse one partition's append while others of the request were appended:
 * ProducerFenced (a partition saw a later epoch) and UnknownTopic (the topic was deleted meanwhile).
 * Counting them as "nothing appended" resends nothing twice: a fenced producer fails as a whole, and
 * a deleted topic's partitions are gone.
 */
const REFUSED_BEFORE_APPENDING = new Set([
  'UnknownProducerId',
  'ProducerFenced',
  'InvalidArgument',
  'RecordTooLarge',
  'RequestTooLarge',
  'UnknownTopic',
  'UnknownPartition',
]);

/**
 * Certain refusals of one partition's append: the request's other partitions may have been appended.
 * Not PartitionBusy nor Throttled: the server may answer those after a write whose outcome was unclear.
 */
const REFUSED_PER_PARTITION = new Set(['OutOfOrderSequence']);

/**
 * Whether a failed attempt of a batch over `partitions` partitions may have appended any of it: what
 * the server says (`appendedPartitions`) when it says. Otherwise yes for a failure without a certain
 * refusal (network, timeout, 5xx, throttled, busy) and for an out-of-order refusal of a request with
 * several partitions (each partition appends on its own, so others may be in); no for a refusal that
 * comes before anything is stored.
 *
 * @example
 * mayHaveAppended(new OutOfOrderSequenceError('…'), 2) // true: the other partition may be appended
 */
export function mayHaveAppended(error: unknown, partitions: number): boolean {
  // The server says which partitions it appended, when it knows.
  const appended = (error as StreambedError | undefined)?.appendedPartitions;
  if (appended !== undefined) return appended.length > 0;
  const code = (error as StreambedError | undefined)?.code;
  if (typeof code !== 'string') return true;
  if (REFUSED_BEFORE_APPENDING.has(code)) return false;
  if (REFUSED_PER_PARTITION.has(code)) return partitions > 1;
  return true;
}

/** How many records of the batch go to each partition. */
function recordsPerPartition(batch: Batch): Map<number, number> {
  const counts = new Map<number, number>();
  for (const item of batch.items)
    counts.set(item.record.partition, (counts.get(item.record.partition) ?? 0) + 1);
  return counts;
}

/** Gives the batch its first sequence per partition under `identity`. */
export function numberBatch(batch: Batch, identity: Identity | undefined): void {
  const sequences: Record<number, number> = {};
  for (const [partition, count] of recordsPerPartition(batch)) {
    const next = batch.lane.nextSequence.get(partition) ?? 0;
    sequences[partition] = next;
    batch.lane.nextSequence.set(partition, nextSequenceAfter(next, count)); // modulo 2^31, as Kafka
  }
  batch.sequences = sequences;
  batch.identity = identity;
}

/**
 * Gives a batch's sequences back to its lane, when the batch failed for good without anything of it
 * stored (not `mayHaveLanded`), under the current identity, and no later batch was numbered on its
 * partitions: the next batch then starts where it started, and no gap is left. False when that cannot
 * be (the caller starts the producer afresh instead).
 */
export function rewindSequences(batch: Batch, current: Identity | undefined): boolean {
  if (batch.mayHaveLanded || batch.identity === undefined || batch.identity !== current) return false;
  const counts = recordsPerPartition(batch);
  const lane = batch.lane;
  for (const [partition, count] of counts) {
    const first = batch.sequences[partition];
    if (first === undefined || lane.nextSequence.get(partition) !== nextSequenceAfter(first, count)) {
      return false;
    }
  }
  for (const partition of counts.keys())
    lane.nextSequence.set(partition, batch.sequences[partition] as number);
  return true;
}

/** The producer identity an attempt of the batch carries: none unless it was numbered. */
export function producerOf(batch: Batch): ProducerIdentity | undefined {
  return batch.identity === undefined
    ? undefined
    : { producerId: batch.identity.producerId, epoch: batch.identity.epoch, sequences: batch.sequences };
}

/** What {@link Sequencer} needs from its producer. */
export interface SequencerHooks {
  /** A new producer id: InitProducerId, with retries. */
  readonly init: () => Promise<Identity>;
  /** Every lane of the producer (the array grows as topics are first used). */
  readonly lanes: readonly Lane[];
  /** Starts what can be started now, on every lane. */
  readonly pumpAll: () => void;
  /** Fails the producer for good: no producer id. */
  readonly failAll: (error: unknown) => void;
  /** Fails a batch that may have been appended, instead of numbering it afresh (UnknownOutcomeError). */
  readonly abandon: (batch: Batch) => void;
}

/**
 * An idempotent producer's identity and in-flight bookkeeping: the producer id (asked for once, shared
 * by every lane), the count of requests on the wire, and Kafka's epoch bump when the server lost track
 * of our sequences: once nothing is on the wire, a new producer id, and every unsettled batch numbered
 * afresh from 0 under it, in order — except a batch that may have been appended already (in part),
 * which is failed rather than risk appending it twice. Internal to {@link Producer}.
 *
 * @example
 * const sequencer = new Sequencer({ init, lanes, pumpAll, failAll });
 * sequencer.acquire(); // asks for the producer id once
 * sequencer.sending(); // a request goes on the wire …
 * sequencer.sent(); // … and came back
 */
export class Sequencer {
  private readonly hooks: SequencerHooks;
  private issued: Identity | undefined;
  private pending: Promise<void> | undefined;
  private resetRun: Promise<void> | undefined;
  private onWire = 0;
  private wireIdle: (() => void)[] = [];

  constructor(hooks: SequencerHooks) {
    this.hooks = hooks;
  }

  /** The producer id and epoch the server issued, once it has. */
  get identity(): Identity | undefined {
    return this.issued;
  }

  /** While an epoch bump runs: nothing is sent until it settles. */
  get resetting(): Promise<void> | undefined {
    return this.resetRun;
  }

  /** Asks for a producer id unless one is on its way; every lane is pumped once it is issued. */
  acquire(): void {
    if (this.pending !== undefined) return;
    this.pending = this.hooks.init().then(
      (issued) => {
        this.issued = issued;
        this.pending = undefined;
        this.hooks.pumpAll();
      },
      (error: unknown) => {
        this.pending = undefined;
        this.hooks.failAll(error);
      },
    );
  }

  /** A request goes on the wire. */
  sending(): void {
    this.onWire++;
  }

  /** A request came back (answered or failed). */
  sent(): void {
    this.onWire--;
    if (this.onWire === 0) for (const idle of this.wireIdle.splice(0)) idle();
  }

  /**
   * The epoch bump after an attempt under `failed` lost its sequence; nothing when the batches were
   * numbered afresh since that attempt. Resolves once it is done (or has failed the producer).
   */
  reset(failed: Identity | undefined): Promise<void> {
    if (this.resetRun !== undefined) return this.resetRun;
    if (
      failed === undefined ||
      this.issued?.producerId !== failed.producerId ||
      this.issued.epoch !== failed.epoch
    ) {
      return Promise.resolve(); // numbered afresh since that attempt
    }
    this.resetRun = (async () => {
      while (this.onWire > 0) await new Promise<void>((idle) => this.wireIdle.push(idle));
      try {
        this.issued = await this.hooks.init();
      } catch (error) {
        this.hooks.failAll(error);
        return;
      }
      for (const lane of this.hooks.lanes) {
        lane.nextSequence.clear();
        // abandon() settles: iterate over a copy of the batches not yet settled.
        for (const batch of lane.unacked.filter((b) => !b.done)) {
          if (batch.mayHaveLanded) this.hooks.abandon(batch);
          else numberBatch(batch, this.issued);
        }
      }
    })().finally(() => {
      this.resetRun = undefined;
      this.hooks.pumpAll();
    });
    return this.resetRun;
  }
}
