import { ThrottledError } from '../core/errors.ts';

const TRANSIENT = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TransactionConflictException',
  'SlowDown',
  'InternalError',
  'RequestTimeout',
]);

/** Network failures left over after the SDK's own retries. */
const NETWORK = new Set([
  'TimeoutError',
  'NetworkingError',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
]);

function isTransient(error: Error): boolean {
  if (TRANSIENT.has(error.name) || NETWORK.has(error.name)) return true;
  const code = (error as { code?: string }).code;
  if (code !== undefined && NETWORK.has(code)) return true;
  if ((error as { $retryable?: unknown }).$retryable !== undefined) return true;
  const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons;
  if (error.name === 'TransactionCanceledException' && reasons !== undefined) {
    return reasons.some((r) => r.Code === 'TransactionConflict' || r.Code === 'ThrottlingError');
  }
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status === 500 || status === 502 || status === 503 || status === 504;
}

/** Turns AWS throttling and transient faults into a retryable {@link ThrottledError}; rethrows the rest. */
export function mapAwsError(error: unknown): never {
  if (error instanceof Error && isTransient(error)) {
    throw new ThrottledError(`storage is busy (${error.name}); retry with backoff`, { cause: error });
  }
  throw error;
}
