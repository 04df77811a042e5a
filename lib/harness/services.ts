import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DynamoDbLocalServer, startDynamoDbLocal } from './dynamodb-local.ts';
import { type MinioServer, startMinio } from './minio.ts';

/** Connection details of the local services, as plain data (safe to pass through env vars). */
export interface ServiceEndpoints {
  readonly s3Endpoint: string;
  readonly s3AccessKeyId: string;
  readonly s3SecretAccessKey: string;
  readonly dynamoDbEndpoint: string;
  readonly region: string;
}

export interface LocalServices extends ServiceEndpoints {
  stop(): Promise<void>;
}

export interface StartServicesOptions {
  /** Keep data here across restarts; a fresh temporary directory (removed on stop) when absent. */
  readonly dataDir?: string;
  readonly s3Port?: number;
  readonly dynamoDbPort?: number;
  readonly log?: (line: string) => void;
}

/**
 * Starts MinIO and DynamoDB Local side by side on loopback ports and health-checks both.
 *
 * @example
 * const services = await startLocalServices();
 * process.env.STREAMBED_S3_ENDPOINT = services.s3Endpoint;
 * await services.stop();
 */
export async function startLocalServices(options: StartServicesOptions = {}): Promise<LocalServices> {
  const temporary = options.dataDir === undefined;
  const root = options.dataDir ?? mkdtempSync(join(tmpdir(), 'streambed-'));
  let minio: MinioServer | undefined;
  let ddb: DynamoDbLocalServer | undefined;
  const stopAll = async () => {
    await Promise.allSettled([minio?.stop(), ddb?.stop()]);
    if (temporary) rmSync(root, { recursive: true, force: true });
  };
  try {
    [minio, ddb] = await Promise.all([
      startMinio({
        dataDir: join(root, 's3'),
        ...(options.s3Port === undefined ? {} : { port: options.s3Port }),
        ...(options.log === undefined ? {} : { log: options.log }),
      }),
      startDynamoDbLocal({
        ...(temporary ? {} : { dataDir: join(root, 'dynamodb') }),
        ...(options.dynamoDbPort === undefined ? {} : { port: options.dynamoDbPort }),
      }),
    ]);
  } catch (error) {
    await stopAll();
    throw error;
  }
  return {
    s3Endpoint: minio.endpoint,
    s3AccessKeyId: minio.accessKeyId,
    s3SecretAccessKey: minio.secretAccessKey,
    dynamoDbEndpoint: ddb.endpoint,
    region: 'us-east-1',
    stop: stopAll,
  };
}

const ENV_KEYS = {
  s3Endpoint: 'STREAMBED_S3_ENDPOINT',
  s3AccessKeyId: 'STREAMBED_S3_ACCESS_KEY_ID',
  s3SecretAccessKey: 'STREAMBED_S3_SECRET_ACCESS_KEY',
  dynamoDbEndpoint: 'STREAMBED_DYNAMODB_ENDPOINT',
  region: 'AWS_REGION',
} as const satisfies Record<keyof ServiceEndpoints, string>;

/** Writes the endpoints into environment variables read by {@link endpointsFromEnv}. */
export function endpointsToEnv(endpoints: ServiceEndpoints, env: NodeJS.ProcessEnv = process.env): void {
  for (const [field, name] of Object.entries(ENV_KEYS))
    env[name] = endpoints[field as keyof ServiceEndpoints];
}

/** Reads endpoints written by {@link endpointsToEnv}; undefined when they are not set. */
export function endpointsFromEnv(env: NodeJS.ProcessEnv = process.env): ServiceEndpoints | undefined {
  const s3Endpoint = env[ENV_KEYS.s3Endpoint];
  const dynamoDbEndpoint = env[ENV_KEYS.dynamoDbEndpoint];
  if (s3Endpoint === undefined || dynamoDbEndpoint === undefined) return undefined;
  return {
    s3Endpoint,
    dynamoDbEndpoint,
    s3AccessKeyId: env[ENV_KEYS.s3AccessKeyId] ?? '',
    s3SecretAccessKey: env[ENV_KEYS.s3SecretAccessKey] ?? '',
    region: env[ENV_KEYS.region] ?? 'us-east-1',
  };
}
