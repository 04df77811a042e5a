import { endpointsToEnv, type LocalServices, startLocalServices } from '../lib/harness/services.ts';

let services: LocalServices | undefined;

/** Starts MinIO and DynamoDB Local once for the whole integration run. */
export async function globalSetup(): Promise<void> {
  services = await startLocalServices({ log: (line) => console.error(`[harness] ${line}`) });
  endpointsToEnv(services);
}

export async function globalTeardown(): Promise<void> {
  await services?.stop();
}
