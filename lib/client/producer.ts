import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError, RecordTooLargeError, UnknownPartitionError } from '../core/errors.ts';
import { partitionForKey } from '../core/partitioner.ts';
import { isCompression, ZstdUnavailableError, zstdAvailable } from '../core/segment/compression.ts';
import type { Compression, RecordOffset } from '../core/types.ts';
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
import { decide, numberBatch, producerOf, Sequencer } from './producer-sequencing.ts';
import { type ProducerRecord, type RecordMetadata, toWireRecord } from './records.ts';
import { backoffMs, type RetryOptions, withRetry } from './retry.ts';
import type { Transport } from './transport.ts';

/** The default `lingerMs`: a cost choice, explained on {@link ProducerOptions.lingerMs}. */
export const DEFAULT_LINGER_MS = 500;

/** Kafka's producer knobs, with Kafka's defaults where they carry over (not `lingerMs`: see there). */
export interface ProducerOptions {
  /**
   * How long a record may wait for others to share its request (Kafka's linger.ms). Unlike Kafka's 5 ms
   * default, 500: every request is an S3 PUT (and, over HTTP, an API Gateway request and a Lambda
   * invocation), about $10 per million requests, so the request count decides the bill. At 1 record/ms
   * 500 ms makes ~500 records per request, about $0.02 per million 1 KiB records; 5 ms makes ~5, about
   * $1.15 (docs/bench.md, "Client SDK"). Kinesis's KPL waits 100 ms, WarpStream's agents 250 ms, for
   * the same reason. Lower it when latency matters more than cost. `flush()` and `close()` never wait.
   * @default 500
   */
  readonly lingerMs?: number;
  /** Most records per request (capped by the transport: 10,000). @default 10_000 */
  readonly batchRecords?: number;
  /**
   * Most payload bytes (keys, values, headers, and 64 bytes per record) per request (Kafka's
   * batch.size, per request rather than per partition: one request carries every partition's batch of
   * a topic, one S3 object). Capped by the transport (3 MiB over HTTP). @default 1_048_576
   */
  readonly batchBytes?: number;
  /**
   * Requests of one topic that may be unacknowledged at once (Kafka's
   * max.in.flight.requests.per.connection); at most 5 when idempotent, the server's dedup window.
   * @default 5
   */
  readonly maxInFlight?: number;
  /** Bytes of records sent but not yet acknowledged before `send` waits (Kafka's buffer.memory). @default 33_554_432 */
  readonly bufferBytes?: number;
  /**
   * Kafka's enable.idempotence: a producer id from the server and per-partition sequence numbers, so
   * retries append exactly once and in order. @default true
   */
  readonly idempotent?: boolean;
  /** A stable producer name: the same id at the next epoch, fencing older holders (idempotent only). */
  readonly transactionalId?: string;
  /** A record not acknowledged this long after `send` fails (Kafka's delivery.timeout.ms). @default 120_000 */
  readonly deliveryTimeoutMs?: number;
  /**
   * How each request's batches are compressed (Kafka's compression.type), with binary bodies (the
   * HTTP transport's default); JSON bodies and the direct transport store what the topic's
   * `compression` says. 'zstd' needs Node ≥ 22.15. @default 'none'
   */
  readonly compression?: Compression;
  /** Backoff between retries. @default { initialDelayMs: 100, maxDelayMs: 1_000 } */
  readonly retry?: Omit<RetryOptions, 'retries'>;
}

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
  private readonly lingerMs: number;
  private readonly batchRecords: number;
  private readonly batchBytes: number;
  private readonly maxInFlight: number;
  private readonly idempotent: boolean;
  private readonly transactionalId: string | undefined;
  private readonly deliveryTimeoutMs: number;
  private readonly compression: Compression;
  private readonly retry: RetryOptions;
  private readonly lanes = new Map<string, Promise<Lane>>();
  private readonly ready: Lane[] = [];
  private readonly outstanding = new Set<Item>();
  private readonly memory: BufferMemory;
  private readonly sequencer: Sequencer;
  private flushing = 0;
  private fatal: unknown;
  private closed = false;

  /** Use `client.producer(options)`; this constructor is for a transport of your own. */
  constructor(transport: Transport, options: ProducerOptions = {}) {
    const int = (value: number | undefined, name: string, fallback: number, min: number, max: number) => {
      const v = value ?? fallback;
      if (!Number.isSafeInteger(v) || v < min || v > max) {
        throw new InvalidArgumentError(`${name} must be an integer in ${min}..${max}, got ${v}`);
      }
      return v;
    };
    this.transport = transport;
    this.idempotent = options.idempotent ?? true;
    this.lingerMs = int(options.lingerMs, 'lingerMs', DEFAULT_LINGER_MS, 0, 60_000);
    this.batchRecords = Math.min(
      int(options.batchRecords, 'batchRecords', 10_000, 1, Number.MAX_SAFE_INTEGER),
      transport.limits.maxRecordsPerRequest,
    );
    this.batchBytes = Math.min(
      int(options.batchBytes, 'batchBytes', 1024 * 1024, 1, Number.MAX_SAFE_INTEGER),
      transport.limits.maxRequestPayloadBytes,
    );
    this.maxInFlight = int(options.maxInFlight, 'maxInFlight', 5, 1, this.idempotent ? 5 : 1000);
    this.memory = new BufferMemory(
      int(options.bufferBytes, 'bufferBytes', 32 * 1024 * 1024, 1, Number.MAX_SAFE_INTEGER),
    );
    this.deliveryTimeoutMs = int(options.deliveryTimeoutMs, 'deliveryTimeoutMs', 120_000, 1, 86_400_000);
    this.retry = { initialDelayMs: 100, maxDelayMs: 1_000, ...options.retry };
    if (options.transactionalId !== undefined && !this.idempotent) {
      throw new InvalidArgumentError('transactionalId needs idempotent: true');
    }
    this.transactionalId = options.transactionalId;
    const compression = options.compression ?? 'none';
    if (!isCompression(compression)) {
      throw new InvalidArgumentError(
        `compression must be 'none', 'gzip' or 'zstd', got '${String(compression)}'`,
      );
    }
    if (compression === 'zstd' && !zstdAvailable()) throw new ZstdUnavailableError();
    this.compression = compression;
    this.sequencer = new Sequencer({
      init: () =>
        withRetry(
          () =>
            this.transport.initProducer(
              this.transactionalId === undefined ? {} : { transactionalId: this.transactionalId },
            ),
          { ...this.retry, retries: 10 },
        ),
      lanes: this.ready,
      pumpAll: () => {
        for (const lane of this.ready) this.pump(lane);
      },
      failAll: (error) => this.failAll(error),
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
      { maxRecords: this.batchRecords, maxBytes: this.batchBytes, lingerMs: this.lingerMs },
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
   * Flushes, then refuses further sends. Does not close the transport (the client does).
   *
   * @example
   * process.on('SIGTERM', () => producer.close());
   */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.flush();
    } finally {
      this.closed = true;
    }
  }

  private checkOpen(): void {
    if (this.fatal !== undefined) throw this.fatal;
    if (this.closed) throw new InvalidArgumentError('the producer is closed');
  }

  private lane(topic: string): Promise<Lane> {
    let lane = this.lanes.get(topic);
    if (lane === undefined) {
      lane = withRetry(() => this.transport.describeTopic(topic), { ...this.retry, retries: 5 }).then(
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
      const batch = cut(lane, this.batchRecords, this.batchBytes);
      if (this.idempotent) numberBatch(batch, this.sequencer.identity);
      void this.run(batch);
    }
  }

  private canSend(lane: Lane): boolean {
    if (lane.pending.length === 0 || this.fatal !== undefined || this.sequencer.resetting !== undefined) {
      return false;
    }
    if (!lane.lingered && this.flushing === 0 && !this.closed) return false;
    const oldest = lane.unacked[0];
    if (oldest !== undefined && lane.nextBatchId - oldest.id >= this.maxInFlight) return false;
    if (this.idempotent && this.sequencer.identity === undefined) {
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
            ...(this.compression === 'none' ? {} : { compression: this.compression }),
          })
        ).offsets;
      } catch (error) {
        failure = error;
      } finally {
        this.sequencer.sent();
      }
      if (batch.done) return;
      if (offsets !== undefined) return this.settle(batch, offsets);
      const decision = decide(failure, this.idempotent, predecessorsSettled);
      if (decision === 'fenced') return this.failAll(failure);
      if (decision === 'duplicate') return this.settle(batch, undefined);
      if (decision === 'fatal' || Date.now() - batch.createdAt > this.deliveryTimeoutMs) {
        return this.settle(batch, undefined, failure);
      }
      // Retries keep each partition's order: a batch goes again only after every earlier one settled.
      await Promise.all(batch.lane.unacked.filter((b) => b.id < batch.id).map((b) => b.finished));
      if (decision === 'reset') await this.sequencer.reset(producer);
      else if (decision === 'retry') await sleep(backoffMs(attempt, failure, this.retry));
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
      for (const batch of lane.unacked) this.settle(batch, undefined, error);
      for (const item of drain(lane)) {
        this.outstanding.delete(item);
        item.reject(error);
        this.release(item.size);
      }
    }
    this.memory.admitAll();
  }
}
