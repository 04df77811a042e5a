import { InvalidArgumentError } from '../core/errors.ts';
import { isCompression, ZstdUnavailableError, zstdAvailable } from '../core/segment/compression.ts';
import type { Compression } from '../core/types.ts';
import type { RetryOptions } from './retry.ts';
import type { TransportLimits } from './transport.ts';

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

/** {@link ProducerOptions} checked, with their defaults, capped by the transport's limits. */
export interface ResolvedProducerOptions {
  readonly idempotent: boolean;
  readonly lingerMs: number;
  readonly batchRecords: number;
  readonly batchBytes: number;
  readonly maxInFlight: number;
  readonly bufferBytes: number;
  readonly deliveryTimeoutMs: number;
  readonly retry: RetryOptions;
  readonly transactionalId: string | undefined;
  readonly compression: Compression;
}

/**
 * Checks a producer's options (InvalidArgumentError naming the option) and fills in the defaults.
 *
 * @example
 * resolveProducerOptions({ lingerMs: 10 }, HTTP_LIMITS).batchBytes // 1_048_576
 */
export function resolveProducerOptions(
  options: ProducerOptions,
  limits: TransportLimits,
): ResolvedProducerOptions {
  const int = (value: number | undefined, name: string, fallback: number, min: number, max: number) => {
    const v = value ?? fallback;
    if (!Number.isSafeInteger(v) || v < min || v > max) {
      throw new InvalidArgumentError(`${name} must be an integer in ${min}..${max}, got ${v}`);
    }
    return v;
  };
  const idempotent = options.idempotent ?? true;
  if (options.transactionalId !== undefined && !idempotent) {
    throw new InvalidArgumentError('transactionalId needs idempotent: true');
  }
  const compression = options.compression ?? 'none';
  if (!isCompression(compression)) {
    throw new InvalidArgumentError(
      `compression must be 'none', 'gzip' or 'zstd', got '${String(compression)}'`,
    );
  }
  if (compression === 'zstd' && !zstdAvailable()) throw new ZstdUnavailableError();
  return {
    idempotent,
    lingerMs: int(options.lingerMs, 'lingerMs', DEFAULT_LINGER_MS, 0, 60_000),
    batchRecords: Math.min(
      int(options.batchRecords, 'batchRecords', 10_000, 1, Number.MAX_SAFE_INTEGER),
      limits.maxRecordsPerRequest,
    ),
    batchBytes: Math.min(
      int(options.batchBytes, 'batchBytes', 1024 * 1024, 1, Number.MAX_SAFE_INTEGER),
      limits.maxRequestPayloadBytes,
    ),
    maxInFlight: int(options.maxInFlight, 'maxInFlight', 5, 1, idempotent ? 5 : 1000),
    bufferBytes: int(options.bufferBytes, 'bufferBytes', 32 * 1024 * 1024, 1, Number.MAX_SAFE_INTEGER),
    deliveryTimeoutMs: int(options.deliveryTimeoutMs, 'deliveryTimeoutMs', 120_000, 1, 86_400_000),
    retry: { initialDelayMs: 100, maxDelayMs: 1_000, ...options.retry },
    transactionalId: options.transactionalId,
    compression,
  };
}
