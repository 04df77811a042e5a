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
