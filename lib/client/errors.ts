import {
  CommitTooLateError,
  CorruptSegmentError,
  DuplicateSequenceError,
  GroupActiveError,
  InvalidArgumentError,
  InvalidProduceReturnError,
  LeaseLostError,
  OffsetOutOfRangeError,
  OffsetResetError,
  OutOfOrderSequenceError,
  PartitionBusyError,
  ProducerFencedError,
  RecordTooLargeError,
  RequestTooLargeError,
  StaleGenerationError,
  StreambedError,
  ThrottledError,
  TopicAlreadyExistsError,
  UnknownGroupError,
  UnknownMemberError,
  UnknownPartitionError,
  UnknownProducerIdError,
  UnknownTopicError,
} from '../core/errors.ts';

/**
 * A failure the server reported with a code the client has no class for (`InternalError`,
 * `UnsupportedMediaType`, `NotFound`, a gateway's own answer), or that the transport itself met
 * (`NetworkError`, `Timeout`). `retryable` is true for network failures, timeouts, 429, 502, 503 and 504.
 *
 * @example
 * try { await admin.listTopics(); }
 * catch (e) { if (e instanceof RemoteError && e.code === 'Timeout') console.warn('slow endpoint'); }
 */
export class RemoteError extends StreambedError {
  readonly code: string;
  readonly status: number;
  override readonly retryable: boolean;
  constructor(
    code: string,
    status: number,
    message: string,
    retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = code;
    this.status = status;
    this.retryable = retryable;
  }
}

/**
 * An idempotent producer's batch that may have been appended — whole, or some partitions of it: one
 * request carries every partition's batch and the server appends each partition on its own — when the
 * producer had to start its sequences afresh (a new producer id, after the server lost track of the
 * old one). Sent again under the new id it could be appended twice, so its records fail with this
 * instead; `cause` is the last attempt's failure. Read the partitions back to see what landed.
 *
 * @example
 * try { await (await producer.send(record)).delivered; }
 * catch (e) { if (e instanceof UnknownOutcomeError) await reconcile(record); }
 */
export class UnknownOutcomeError extends StreambedError {
  readonly code = 'UnknownOutcome';
  readonly status = 500;
}

const RETRY_AFTER = Symbol.for('streambed.retryAfterMs');

/**
 * How long the server asked the client to wait before retrying (`Retry-After`), in ms; undefined when
 * it did not say.
 *
 * @example
 * await sleep(retryAfterMs(error) ?? 100);
 */
export function retryAfterMs(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const value = (error as Record<symbol, unknown>)[RETRY_AFTER];
  return typeof value === 'number' ? value : undefined;
}

/** Parses `Retry-After` (delta seconds or an HTTP date) into ms from `now`. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(header.trim())) return Math.round(Number(header) * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** What the client knows about the request an error answered: the fields the typed errors carry. */
export interface ErrorContext {
  readonly topic?: string;
  readonly partition?: number;
  readonly offset?: number;
  readonly group?: string;
}

const number = (message: string, pattern: RegExp): number => {
  const match = pattern.exec(message);
  return match?.[1] === undefined ? Number.NaN : Number(match[1]);
};

type Factory = (message: string, context: ErrorContext) => StreambedError;

/**
 * The server's stable codes and the classes of lib/core/errors.ts they come from: an HTTP answer is
 * turned back into the error the engine threw, so `instanceof` and `code` mean the same on both
 * transports. Fields the JSON error does not carry come from the request (topic, group, offset) or
 * from the message (log start and high watermark of OffsetOutOfRange, the new offsets of
 * OffsetReset); GroupActive's member list is empty over HTTP.
 */
const FACTORIES: Readonly<Record<string, Factory>> = {
  InvalidArgument: (m) => new InvalidArgumentError(m),
  TopicAlreadyExists: (_, c) => new TopicAlreadyExistsError(c.topic ?? ''),
  UnknownTopic: (_, c) => new UnknownTopicError(c.topic ?? ''),
  UnknownPartition: (m, c) =>
    new UnknownPartitionError(c.topic ?? '', c.partition ?? -1, number(m, /partitions 0\.\.(\d+)/) + 1),
  OffsetOutOfRange: (m, c) =>
    new OffsetOutOfRangeError(
      c.offset ?? number(m, /^offset (\d+)/),
      number(m, /log start offset (\d+)/),
      number(m, /high watermark (\d+)/),
    ),
  CorruptSegment: (m) => new CorruptSegmentError(m),
  RecordTooLarge: (m) => new RecordTooLargeError(m),
  UnknownProducerId: (m) => new UnknownProducerIdError(m),
  OutOfOrderSequence: (m) => new OutOfOrderSequenceError(m),
  DuplicateSequence: (m) => new DuplicateSequenceError(m),
  ProducerFenced: (m) => new ProducerFencedError(m),
  StaleGeneration: (m) => new StaleGenerationError(m),
  Throttled: (m) => new ThrottledError(m),
  PartitionBusy: (m) => new PartitionBusyError(m),
  RequestTooLarge: (m) => new RequestTooLargeError(m),
  UnknownGroup: (_, c) => new UnknownGroupError(c.group ?? ''),
  OffsetReset: (m) =>
    new OffsetResetError(
      m,
      [...m.matchAll(/partition (\d+) to (\d+)/g)].map((x) => ({
        partition: Number(x[1]),
        offset: Number(x[2]),
      })),
    ),
  GroupActive: (_, c) => new GroupActiveError(c.group ?? '', c.topic ?? '', []),
  LeaseLost: (m) => new LeaseLostError(m),
  UnknownMember: (m) => new UnknownMemberError(m),
  CommitTooLate: (m) => new CommitTooLateError(m),
  InvalidProduceReturn: (m) => new InvalidProduceReturnError(m),
};

/** Statuses a client may retry whatever the body says (gateways answer them without our error body). */
const RETRYABLE_STATUS = new Set([408, 429, 502, 503, 504]);

/**
 * Turns an HTTP error answer into a typed error: the class of lib/core/errors.ts for a known
 * `{"error":{"code","message"}}` (with the server's message), else a {@link RemoteError}. A
 * `Retry-After` header is kept for {@link retryAfterMs}.
 *
 * @example
 * const error = errorFromResponse(404, { error: { code: 'UnknownTopic', message: "topic 'x' does not exist" } }, null, { topic: 'x' });
 * error instanceof UnknownTopicError; // true
 */
export function errorFromResponse(
  status: number,
  body: unknown,
  retryAfter: string | null,
  context: ErrorContext = {},
  gatewayErrorType?: string | null,
): StreambedError {
  const detail = (body as { error?: { code?: unknown; message?: unknown } } | null | undefined)?.error;
  // API Gateway's own refusals (IAM authorization: InvalidSignatureException, …) name themselves in
  // x-amzn-ErrorType ("Type:detail" on some services), not in the body.
  const gatewayCode = gatewayErrorType?.split(':')[0]?.trim() || undefined;
  const code = typeof detail?.code === 'string' ? detail.code : gatewayCode;
  const gatewayMessage = (body as { message?: unknown } | null | undefined)?.message;
  const message =
    typeof detail?.message === 'string'
      ? detail.message
      : typeof gatewayMessage === 'string'
        ? gatewayMessage
        : `HTTP ${status}`;
  const factory = code === undefined ? undefined : FACTORIES[code];
  let error: StreambedError;
  if (factory !== undefined) {
    error = factory(message, context);
    if (error.message !== message) {
      const first = `${error.name}: ${error.message}`;
      error.message = message;
      if (error.stack?.startsWith(first))
        error.stack = `${error.name}: ${message}${error.stack.slice(first.length)}`;
    }
  } else {
    const fallback = status === 429 ? 'Throttled' : status >= 500 ? 'InternalError' : 'HttpError';
    error = new RemoteError(code ?? fallback, status, message, RETRYABLE_STATUS.has(status));
  }
  const wait = parseRetryAfter(retryAfter);
  if (wait !== undefined) Object.defineProperty(error, RETRY_AFTER, { value: wait, enumerable: false });
  const appended = (detail as { appendedPartitions?: unknown } | undefined)?.appendedPartitions;
  if (Array.isArray(appended) && appended.every((p) => Number.isSafeInteger(p) && p >= 0)) {
    error.appendedPartitions = appended as number[];
  }
  return error;
}

/** A request that got no answer: the connection failed, or no answer came within the timeout. Retryable. */
export function networkError(cause: unknown, timedOut: boolean): RemoteError {
  return timedOut
    ? new RemoteError('Timeout', 0, 'no answer within the request timeout', true, { cause })
    : new RemoteError(
        'NetworkError',
        0,
        `the request failed: ${(cause as Error)?.message ?? String(cause)}`,
        true,
        {
          cause,
        },
      );
}

/** AWS SDK error names that mean "busy, try again" (the HTTP API answers them 503 Throttled). */
const TRANSIENT_AWS = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TransactionConflictException',
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'RequestTimeout',
  'TimeoutError',
]);

/**
 * An error thrown by the engine in-process, as the HTTP transport would report it: Streambed's own
 * errors unchanged, AWS throttling and timeouts as a retryable ThrottledError, anything else as a
 * RemoteError `InternalError` (status 500) with the original as its `cause`.
 *
 * @example
 * try { await engine.fetch(req); } catch (e) { throw normalizeEngineError(e); }
 */
export function normalizeEngineError(error: unknown): StreambedError {
  if (error instanceof StreambedError) return error;
  const name = (error as { name?: unknown } | null)?.name;
  const sdkRetryable = (error as { $retryable?: unknown } | null)?.$retryable !== undefined;
  if ((typeof name === 'string' && TRANSIENT_AWS.has(name)) || sdkRetryable) {
    return new ThrottledError(`storage is busy; retry (${String(name)})`, { cause: error });
  }
  return new RemoteError(
    'InternalError',
    500,
    `internal error: ${(error as Error)?.message ?? String(error)}`,
    false,
    {
      cause: error,
    },
  );
}

/** True when `error` says the same request may succeed later. */
export function isRetryable(error: unknown): boolean {
  return error instanceof StreambedError && error.retryable;
}
