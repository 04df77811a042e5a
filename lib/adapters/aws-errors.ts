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

/** Turns AWS throttling and transient faults into a retryable {@link ThrottledError}; rethrows the rest. */
export function mapAwsError(error: unknown): never {
  if (error instanceof Error && TRANSIENT.has(error.name)) {
    throw new ThrottledError(`storage is busy (${error.name}); retry with backoff`, { cause: error });
  }
  throw error;
}
