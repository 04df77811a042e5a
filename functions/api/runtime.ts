import { createStreambed } from '../../lib/adapters/aws.ts';
import { awsClients } from '../../lib/adapters/clients.ts';
import type { Streambed } from '../../lib/engine/streambed.ts';

let engine: Streambed | undefined;

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`environment variable ${name} is not set`);
  return value;
}

/**
 * The engine of this container, made once from the environment (`STREAMBED_BUCKET`,
 * `STREAMBED_LOG_TABLE`, `STREAMBED_META_TABLE`) with default SDK clients, unless one was injected.
 */
export function engineFromEnv(): Streambed {
  engine ??= createStreambed({
    ...awsClients(),
    bucket: required('STREAMBED_BUCKET'),
    tables: { log: required('STREAMBED_LOG_TABLE'), meta: required('STREAMBED_META_TABLE') },
  });
  return engine;
}

/** Injects the engine the handlers use (the local server and tests). */
export function useEngine(injected: Streambed | undefined): void {
  engine = injected;
}
