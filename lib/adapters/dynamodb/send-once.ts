import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/**
 * A write whose outcome is unknown: the request may or may not have been applied (its response
 * was lost, the connection dropped, or the service answered 5xx). It deliberately carries neither
 * `cause` nor `$metadata`, so the SDK's retry strategy never resends it blindly; the caller
 * resolves it by reading (docs/design.md §3, "Retries of a commit").
 */
export class AmbiguousWriteError extends Error {
  readonly original: unknown;
  constructor(original: unknown) {
    super(
      `the outcome of a write is unknown: ${original instanceof Error ? original.message : String(original)}`,
    );
    this.name = 'AmbiguousWriteError';
    this.original = original;
  }
}

/** True when the service answered that it refused the request (a 4xx): nothing was applied. */
export function definitelyRefused(error: unknown): boolean {
  const e = error as { $fault?: string; $metadata?: { httpStatusCode?: number } } | null;
  const status = e?.$metadata?.httpStatusCode;
  return e?.$fault === 'client' && typeof status === 'number' && status >= 400 && status < 500;
}

let installed = 0;

/**
 * Sends `command` with the SDK's retries limited to failures that prove nothing was applied
 * (throttling, conflicts: 4xx answers). Any other failure — a lost response, a reset connection, a
 * 5xx — surfaces at once as {@link AmbiguousWriteError}, since resending could apply it twice.
 *
 * @example
 * try { await sendWithoutBlindRetry(client, new UpdateItemCommand(input)); }
 * catch (e) { if (e instanceof AmbiguousWriteError) await resolveByReading(); }
 */
export async function sendWithoutBlindRetry<Output>(
  client: DynamoDBClient,
  // biome-ignore lint/suspicious/noExplicitAny: any DynamoDB command; the output type comes from the caller.
  command: any,
): Promise<Output> {
  command.middlewareStack.add(
    // biome-ignore lint/suspicious/noExplicitAny: smithy's middleware signature.
    (next: (args: any) => Promise<any>) => async (args: any) => {
      try {
        return await next(args);
      } catch (error) {
        if (definitelyRefused(error)) throw error;
        throw new AmbiguousWriteError(error);
      }
    },
    // Inside the SDK's retry middleware (finalizeRequest, priority high), so each attempt is checked.
    { step: 'finalizeRequest', priority: 'low', name: `streambedNoBlindRetry${++installed}` },
  );
  return (await client.send(command)) as Output;
}
