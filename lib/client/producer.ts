import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError, RecordTooLargeError, UnknownPartitionError } from '../core/errors.ts';
import { partitionForKey } from '../core/partitioner.ts';
import type { RecordOffset } from '../core/types.ts';
import { UnknownOutcomeError } from './errors.ts';
import {
  type Batch,
  BufferMemory,
  cut,
  drain,
  enqueue,
  type Identity,
  type Item,
  type Lane,
  newItem,
  newLane,
  RECORD_OVERHEAD,
} from './producer-buffer.ts';
import {
  type ProducerOptions,
  type ResolvedProducerOptions,
  resolveProducerOptions,
} from './producer-options.ts';
import {
  decide,
  mayHaveAppended,
  numberBatch,
  producerOf,
  rewindSequences,
  Sequencer,
} from './producer-sequencing.ts';
import { type ProducerRecord, type RecordMetadata, toWireRecord } from './records.ts';
import { backoffMs, withRetry } from './retry.ts';
import type { Transport } from './transport.ts';

export { DEFAULT_LINGER_MS, type ProducerOptions } from './producer-options.ts';

/** A record in the producer's buffer; `delivered` settles when the server acknowledged it (or gave up). */
export interface SendReceipt {
  readonly delivered: Promise<RecordMetadata>;
}

/**
 * Kafka's producer on Streambed: records are grouped per topic into requests (one per `lingerMs`, or
 * as soon as `batchRecords`/`batchBytes` fill), partitioned on the client with Kafka's murmur2 (or
 * sticky for keyless records), sent with up to `maxInFlight` requests of a topic in flight, and retried
 * with backoff. Idempotent by default: a producer id from the server and per-partition sequence
 * numbers make retries append exactly once and keep each partition's order, even with several requests
 * in flight. `send` waits while `bufferBytes` of records are unacknowledged.
 *
 * @example
 * const producer = client.producer({ lingerMs: 10 });
 * const { delivered } = await producer.send({ topic: 'orders', key: 'customer-42', json: { total: 12 } });
 * await producer.flush();
 * console.log(await delivered); // { topic: 'orders', partition: 1, offset: 17 }
 * await producer.close();
 */
export class Producer {
  private readonly transport: Transport;
  /** The options, checked, with their defaults. */
  private readonly config: ResolvedProducerOptions;
  private readonly lanes = new Map<string, Promise<Lane>>();
  private readonly ready: Lane[] = [];
  private readonly outstanding = new Set<Item>();
  private readonly memory: BufferMemory;
  private readonly sequencer: Sequencer;
  private flushing = 0;
  private fatal: unknown;
  private closed = false;
  /** The flush of `close()`, once it was called. */
  private closing: Promise<void> | undefined;

  /** Use `client.producer(options)`; this constructor is for a transport of your own. */
  constructor(transport: Transport, options: ProducerOptions = {}) {
    this.transport = transport;
    this.config = resolveProducerOptions(options, transport.limits);
    this.memory = new BufferMemory(this.config.bufferBytes);
    this.sequencer = new Sequencer({
      init: () =>
        withRetry(
          () =>
            this.transport.initProducer(
              this.config.transactionalId === undefined
                ? {}
                : { transactionalId: this.config.transactionalId },
            ),
          { ...this.config.retry, retries: 10 },
        ),
      lanes: this.ready,
      pumpAll: () => {
        for (const lane of this.ready) this.pump(lane);
      },
      failAll: (error) => this.failAll(error),
      abandon: (batch) =>
        this.settle(
          batch,
          undefined,
          new UnknownOutcomeError(
            `a request of ${batch.items.length} records to '${batch.lane.topic}' may have been appended (in part) ` +
              'before the producer had to start its sequences afresh; it is not sent again, to never append it twice',
            { cause: batch.lastFailure },
          ),
        ),
    });
  }

  /** Bytes of records in the buffer: sent, not yet acknowledged or failed. */
  get bufferedBytes(): number {
    return this.memory.bytes;
  }

  /** The producer id and epoch the server issued (idempotent producers, after the first request). */
  get producerIdentity(): Identity | undefined {
    return this.sequencer.identity;
  }

  /**
   * Adds a record to the buffer, waiting while the buffer is full; resolves once it is buffered, to a
   * receipt whose `delivered` resolves to where the record landed. Fails at once for an unknown topic
   * or partition, a record larger than the topic's `maxRecordBytes`, or a closed producer. If nobody
   * awaits `delivered`, a failure is still reported by {@link flush}.
   *
   * @example
   * for (const order of orders) await producer.send({ topic: 'orders', key: order.customer, json: order });
   * await producer.flush();
   */
  async send(record: ProducerRecord): Promise<SendReceipt> {
    this.checkOpen();
    const { record: wire, size } = toWireRecord(record, Date.now());
    const lane = await this.lane(record.topic);
    if (
      wire.partition !== undefined &&
      (!Number.isSafeInteger(wire.partition) || wire.partition < 0 || wire.partition >= lane.partitions)
    ) {
      throw new UnknownPartitionError(lane.topic, wire.partition, lane.partitions);
    }
    if (size > lane.maxRecordBytes) {
      throw new RecordTooLargeError(
        `the record has ${size} bytes; topic '${lane.topic}' takes at most ${lane.maxRecordBytes} (maxRecordBytes)`,
      );
    }
    const cost = size + RECORD_OVERHEAD;
    const admission = this.memory.reserve(cost);
    if (admission !== undefined) await admission;
    try {
      this.checkOpen();
    } catch (error) {
      this.release(cost);
      throw error;
    }
    const partition =
      wire.partition ??
      (wire.key === null || wire.key === undefined
        ? lane.sticky
        : partitionForKey(wire.key, lane.partitions));
    const { item, delivered } = newItem(lane.topic, { ...wire, partition }, cost);
    this.outstanding.add(item);
    enqueue(
      lane,
      item,
      {
        maxRecords: this.config.batchRecords,
        maxBytes: this.config.batchBytes,
        lingerMs: this.config.lingerMs,
      },
      () => this.pump(lane),
    );
    this.pump(lane);
    return { delivered };
  }

  /**
   * Sends every buffered record now and waits until each record sent before the call is acknowledged
   * or has failed. Rejects with an AggregateError of the failures, if any.
   *
   * @example
   * await producer.flush();
   */
  async flush(): Promise<void> {
    const waiting = [...this.outstanding];
    this.flushing++;
    try {
      for (const lane of this.ready) this.pump(lane);
      const outcomes = await Promise.all(waiting.map((item) => item.settled));
      const errors = outcomes.filter((outcome) => outcome !== undefined);
      if (errors.length > 0) {
        throw new AggregateError(errors, `${errors.length} of ${waiting.length} records were not delivered`);
      }
    } finally {
      this.flushing--;
    }
  }

  /**
   * Refuses further sends, then flushes: every record sent before the call is acknowledged or has
   * failed when it resolves (a send that races it is refused, never left behind). Does not close the
   * transport (the client does).
   *
   * @example
   * process.on('SIGTERM', () => producer.close());
   */
  close(): Promise<void> {
    if (this.closing === undefined) {
      this.closed = true;
      this.closing = this.flush();
    }
    return this.closing;
  }

  private checkOpen(): void {
    if (this.fatal !== undefined) throw this.fatal;
    if (this.closed) throw new InvalidArgumentError('the producer is closed');
  }

  private lane(topic: string): Promise<Lane> {
    let lane = this.lanes.get(topic);
    if (lane === undefined) {
      lane = withRetry(() => this.transport.describeTopic(topic), { ...this.config.retry, retries: 5 }).then(
        (description): Lane => {
          const created = newLane(description);
          this.ready.push(created);
          return created;
        },
      );
      this.lanes.set(topic, lane);
      lane.catch(() => this.lanes.delete(topic));
    }
    return lane;
  }

  /** Cuts and starts requests while the lane has records ready and room in flight. */
  private pump(lane: Lane): void {
    while (this.canSend(lane)) {
      const batch = cut(lane, this.config.batchRecords, this.config.batchBytes);
      if (this.config.idempotent) numberBatch(batch, this.sequencer.identity);
      void this.run(batch);
    }
  }

  private canSend(lane: Lane): boolean {
    if (lane.pending.length === 0 || this.fatal !== undefined || this.sequencer.resetting !== undefined) {
      return false;
    }
    if (!lane.lingered && this.flushing === 0 && !this.closed) return false;
    const oldest = lane.unacked[0];
    if (oldest !== undefined && lane.nextBatchId - oldest.id >= this.config.maxInFlight) return false;
    if (this.config.idempotent && this.sequencer.identity === undefined) {
      this.sequencer.acquire();
      return false;
    }
    return true;
  }

  private async run(batch: Batch): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      while (this.sequencer.resetting !== undefined) await this.sequencer.resetting;
      if (batch.done) return;
      const predecessorsSettled = batch.lane.unacked.every((b) => b.id >= batch.id || b.done);
      const producer = producerOf(batch);
      this.sequencer.sending();
      let offsets: RecordOffset[] | undefined;
      let failure: unknown;
      try {
        offsets = (
          await this.transport.produce({
            topic: batch.lane.topic,
            records: batch.items.map((item) => item.record),
            ...(producer === undefined ? {} : { producer }),
            ...(this.config.compression === 'none' ? {} : { compression: this.config.compression }),
          })
        ).offsets;
      } catch (error) {
        failure = error;
      } finally {
        this.sequencer.sent();
      }
      if (batch.done) return;
      if (offsets !== undefined) return this.settle(batch, offsets);
      batch.lastFailure = failure;
      if (producer !== undefined && mayHaveAppended(failure, Object.keys(producer.sequences).length)) {
        batch.mayHaveLanded = true;
      }
      const decision = decide(failure, this.config.idempotent, predecessorsSettled);
      if (decision === 'fenced') return this.failAll(failure);
      if (decision === 'duplicate') return this.settle(batch, undefined);
      if (decision === 'fatal' || Date.now() - batch.createdAt > this.config.deliveryTimeoutMs) {
        // Its sequences are a gap the server would refuse every later batch for. Nothing stored and
        // no later batch numbered on its partitions: hand its sequences to the next batch. Else
        // (Kafka bumps the epoch here too) start afresh before anything else of this producer is
        // sent — the reset begins before the settling pumps the lane.
        if (producer !== undefined && !rewindSequences(batch, this.sequencer.identity)) {
          void this.sequencer.reset(producer);
        }
        return this.settle(batch, undefined, failure);
      }
      // Retries keep each partition's order: a batch goes again only after every earlier one settled.
      await Promise.all(batch.lane.unacked.filter((b) => b.id < batch.id).map((b) => b.finished));
      if (decision === 'reset') await this.sequencer.reset(producer);
      else if (decision === 'retry') await sleep(backoffMs(attempt, failure, this.config.retry));
    }
  }

  /** Settles a batch: offsets for its records, or an error, or (a duplicate older than the window) −1. */
  private settle(batch: Batch, offsets: readonly RecordOffset[] | undefined, error?: unknown): void {
    if (batch.done) return;
    batch.done = true;
    batch.succeeded = error === undefined;
    batch.items.forEach((item, i) => {
      this.outstanding.delete(item);
      if (error !== undefined) item.reject(error);
      else
        item.resolve({
          topic: batch.lane.topic,
          partition: offsets?.[i]?.partition ?? item.record.partition,
          offset: offsets?.[i]?.offset ?? -1,
        });
    });
    this.release(batch.bytes);
    const lane = batch.lane;
    while (lane.unacked[0]?.done === true) lane.unacked.shift();
    batch.finish();
    this.pump(lane);
  }

  private release(bytes: number): void {
    this.memory.release(bytes);
  }

  /** A fatal producer error (fenced, or no producer id): every buffered record fails with it. */
  private failAll(error: unknown): void {
    if (this.fatal === undefined) this.fatal = error;
    for (const lane of this.ready) {
      // settle() shifts settled batches off lane.unacked: iterate over a copy.
      for (const batch of [...lane.unacked]) this.settle(batch, undefined, error);
      for (const item of drain(lane)) {
        this.outstanding.delete(item);
        item.reject(error);
        this.release(item.size);
      }
    }
    this.memory.admitAll();
  }
}
