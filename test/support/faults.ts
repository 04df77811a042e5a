import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';

let installed = 0;

/**
 * The next `command` request reaches the service and succeeds there, but its response is lost: the
 * SDK sees a timeout and retries it, as it would after a dropped connection.
 */
export function loseNextResponse(client: S3Client | DynamoDBClient, command: string): void {
  let armed = true;
  const stack = client.middlewareStack as S3Client['middlewareStack'];
  stack.add(
    (next, context) => async (args) => {
      const out = await next(args);
      if (armed && context.commandName === command) {
        armed = false;
        throw Object.assign(new Error('response lost'), { name: 'TimeoutError', $metadata: {} });
      }
      return out;
    },
    { step: 'deserialize', name: `loseNextResponse${++installed}` },
  );
}

/**
 * The next `command` request is applied by the service, then `meanwhile` runs (other writers
 * commit), and only then is the response lost: the SDK sees a timeout.
 */
export function loseResponseAfter(
  client: DynamoDBClient,
  command: string,
  meanwhile: () => Promise<void>,
): void {
  let armed = true;
  const stack = client.middlewareStack as S3Client['middlewareStack'];
  stack.add(
    (next, context) => async (args) => {
      if (!armed || context.commandName !== command) return await next(args);
      armed = false;
      await next(args);
      await meanwhile();
      throw Object.assign(new Error('response lost'), { name: 'TimeoutError', $metadata: {} });
    },
    { step: 'deserialize', name: `loseResponseAfter${++installed}` },
  );
}

/**
 * The next `command` request never reaches the service (it is held back) and the caller sees a
 * timeout. Returns the held-back request's input, to deliver it late as a slow network would.
 */
export function delayNextRequest(client: DynamoDBClient, command: string): () => Record<string, unknown> {
  let armed = true;
  let input: Record<string, unknown> | undefined;
  const stack = client.middlewareStack as S3Client['middlewareStack'];
  stack.add(
    (next, context) => async (args) => {
      if (!armed || context.commandName !== command) return await next(args);
      armed = false;
      input = structuredClone(args.input as Record<string, unknown>);
      throw Object.assign(new Error('request timed out'), { name: 'TimeoutError', $metadata: {} });
    },
    { step: 'deserialize', name: `delayNextRequest${++installed}` },
  );
  return () => {
    if (input === undefined) throw new Error('no request was held back');
    return input;
  };
}
