import { endpointsToEnv, type LocalServices, startLocalServices } from '../lib/harness/services.ts';

let services: LocalServices | undefined;

/** Starts MinIO and DynamoDB Local once for the whole integration run. */
export async function globalSetup(): Promise<void> {
  // Handlers run in-process in HTTP tests: keep Powertools quiet (test files inherit this env).
  process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  services = await startLocalServices({ log: (line) => console.error(`[harness] ${line}`) });
  endpointsToEnv(services);
}

export async function globalTeardown(): Promise<void> {
  await services?.stop();
}
