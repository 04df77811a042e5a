import { createStreambed, type StreambedAwsConfig } from '../../lib/adapters/aws.ts';
import { ensureBucket, localClients } from '../../lib/adapters/clients.ts';
import { ensureTables, type TableNames } from '../../lib/adapters/dynamodb/tables.ts';
import type { ServiceEndpoints } from '../../lib/harness/services.ts';
import { useEngine } from '../api/runtime.ts';
import { type LocalAuth, startLocalApi } from './server.ts';

export interface LocalApiOptions {
  readonly endpoints: ServiceEndpoints;
  /** @default 'streambed' */
  readonly bucket?: string;
  /** @default { log: 'streambed-log', meta: 'streambed-meta' } */
  readonly tables?: TableNames;
  /** @default a free port */
  readonly port?: number;
  readonly host?: string;
  /** @default none: unsigned requests are accepted */
  readonly auth?: LocalAuth;
}

/**
 * Creates the bucket and tables on the given services (if missing), points the handlers at them,
 * and serves the HTTP API locally.
 *
 * @example
 * const api = await serveLocalApi({ endpoints, port: 8080 });
 * console.log(api.url);
 */
export async function serveLocalApi(
  options: LocalApiOptions,
): Promise<{ url: string; config: StreambedAwsConfig; close(): Promise<void> }> {
  const bucket = options.bucket ?? 'streambed';
  const tables = options.tables ?? { log: 'streambed-log', meta: 'streambed-meta' };
  const { s3, dynamodb } = localClients(options.endpoints);
  await Promise.all([ensureBucket(s3, bucket), ensureTables(dynamodb, tables)]);
  const config: StreambedAwsConfig = { s3, dynamodb, bucket, tables };
  useEngine(createStreambed(config));
  const api = await startLocalApi({
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.host === undefined ? {} : { host: options.host }),
    ...(options.auth === undefined ? {} : { auth: options.auth }),
  });
  return {
    url: api.url,
    config,
    close: async () => {
      await api.close();
      useEngine(undefined);
      s3.destroy();
      dynamodb.destroy();
    },
  };
}
