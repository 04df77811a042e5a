import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { StreambedError } from '../../lib/core/errors.ts';

export type ApiEvent = APIGatewayProxyEventV2;
export type ApiResult = APIGatewayProxyStructuredResultV2;

/** HTTP-level failures that the engine never raises. */
export class HttpError extends StreambedError {
  readonly code: string;
  readonly status: number;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const unsupportedMediaType = (got: string | undefined, alternative?: string) =>
  new HttpError(
    415,
    'UnsupportedMediaType',
    `Content-Type must be application/json${alternative === undefined ? '' : ` or ${alternative}`}, got ${got ?? 'none'}`,
  );

/**
 * A binary answer: API Gateway (and `npm start`) send `body` decoded when `isBase64Encoded`.
 *
 * @example
 * return binary(200, FETCH_FRAME_TYPE, encodeFetchFrame(frame));
 */
export function binary(statusCode: number, contentType: string, body: Uint8Array): ApiResult {
  return {
    statusCode,
    headers: { 'content-type': contentType },
    body: Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('base64'),
    isBase64Encoded: true,
  };
}

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): ApiResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}

export function noContent(): ApiResult {
  return { statusCode: 204, headers: {}, body: '' };
}

const TRANSIENT_AWS = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TransactionConflictException',
  'SlowDown',
  'ServiceUnavailable',
]);

/**
 * The error contract: `{"error":{"code","message"}}` with the error's status. Typed errors keep
 * their code and message (except CorruptSegment, whose details stay in the logs); throttling gets
 * 503 with Retry-After; anything else is a 500 that says nothing about internals.
 */
export function errorResult(error: unknown): { result: ApiResult; internal: boolean } {
  if (error instanceof StreambedError) {
    const headers: Record<string, string> = error.retryable ? { 'retry-after': '1' } : {};
    const message =
      error.code === 'CorruptSegment'
        ? 'stored data failed its integrity check; it was not returned'
        : error.message;
    return {
      result: json(
        error.status,
        {
          error: {
            code: error.code,
            message,
            ...(error.appendedPartitions === undefined
              ? {}
              : { appendedPartitions: error.appendedPartitions }),
          },
        },
        headers,
      ),
      internal: error.status >= 500 && !error.retryable,
    };
  }
  if (error instanceof Error && TRANSIENT_AWS.has(error.name)) {
    return {
      result: json(
        503,
        { error: { code: 'Throttled', message: 'storage is busy; retry' } },
        { 'retry-after': '1' },
      ),
      internal: false,
    };
  }
  return {
    result: json(500, { error: { code: 'InternalError', message: 'internal error' } }),
    internal: true,
  };
}
