import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';

let attached = 0;

/** Requests sent, by command name (each HTTP attempt counts, retries included). */
export class RequestCounter {
  private readonly counts = new Map<string, number>();

  /**
   * Counts every request the client sends from now on. Retries count: the middleware sits in the
   * `deserialize` step, below the SDK's retry middleware.
   *
   * @example
   * const counter = new RequestCounter().attach(s3).attach(dynamodb);
   * await log.produce(request);
   * counter.snapshot(); // { PutObject: 1, UpdateItem: 1 }
   */
  attach(client: S3Client | DynamoDBClient, prefix = ''): this {
    const count = (commandName: string | undefined) => {
      const name = `${prefix}${(commandName ?? 'Unknown').replace(/Command$/, '')}`;
      this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
    };
    const options = { step: 'deserialize', name: `streambedRequestCounter${++attached}` } as const;
    // Both clients share smithy's middleware stack; only its input/output type parameters differ.
    const stack = client.middlewareStack as S3Client['middlewareStack'];
    stack.add(
      (next, context) => async (args) => {
        count(context.commandName);
        return await next(args);
      },
      options,
    );
    return this;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }

  total(): number {
    let sum = 0;
    for (const value of this.counts.values()) sum += value;
    return sum;
  }

  reset(): void {
    this.counts.clear();
  }
}
