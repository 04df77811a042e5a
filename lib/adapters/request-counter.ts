/** The part of an AWS SDK v3 client this needs (both S3Client and DynamoDBClient fit). */
interface MiddlewareClient {
  readonly middlewareStack: {
    add(
      middleware: (
        next: (args: unknown) => Promise<unknown>,
        context: { commandName?: string },
      ) => (args: unknown) => Promise<unknown>,
      options: { step: 'deserialize'; name: string },
    ): void;
  };
}

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
  attach(client: MiddlewareClient, prefix = ''): this {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const name = `${prefix}${(context.commandName ?? 'Unknown').replace(/Command$/, '')}`;
        this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
        return await next(args);
      },
      { step: 'deserialize', name: `streambedRequestCounter${++attached}` },
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
