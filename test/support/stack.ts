import { randomBytes } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { awsPorts, type StreambedAwsConfig } from '../../lib/adapters/aws.ts';
import { ensureBucket, localClients } from '../../lib/adapters/clients.ts';
import { ensureTables, type TableNames } from '../../lib/adapters/dynamodb/tables.ts';
import type { EngineDeps } from '../../lib/engine/context.ts';
import { Streambed } from '../../lib/engine/streambed.ts';
import { endpointsFromEnv } from '../../lib/harness/services.ts';

/** A fresh bucket and tables on the real local services, isolated from other test files. */
export interface TestStack {
  readonly s3: S3Client;
  readonly dynamodb: DynamoDBClient;
  readonly bucket: string;
  readonly tables: TableNames;
  readonly config: StreambedAwsConfig;
  /** A new engine over the stack; `wrap` may replace ports (e.g. to inject a crash). */
  engine(wrap?: (deps: EngineDeps) => EngineDeps): Streambed;
  close(): void;
}

export async function testStack(options: { pageSize?: number } = {}): Promise<TestStack> {
  const endpoints = endpointsFromEnv();
  if (endpoints === undefined) {
    throw new Error(
      'service endpoints are not set: run integration tests through `npm run test:integration`',
    );
  }
  const { s3, dynamodb } = localClients(endpoints);
  const id = randomBytes(4).toString('hex');
  const bucket = `sb-test-${id}`;
  const tables = { log: `sb-${id}-log`, meta: `sb-${id}-meta` };
  await Promise.all([ensureBucket(s3, bucket), ensureTables(dynamodb, tables)]);
  const config: StreambedAwsConfig = {
    s3,
    dynamodb,
    bucket,
    tables,
    ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }),
    onFlushError: (error) => {
      throw error;
    },
  };
  return {
    s3,
    dynamodb,
    bucket,
    tables,
    config,
    engine: (wrap = (deps) => deps) => new Streambed(wrap(awsPorts(config))),
    close: () => {
      s3.destroy();
      dynamodb.destroy();
    },
  };
}

const encoder = new TextEncoder();
export const bytes = (text: string): Uint8Array => encoder.encode(text);
export const text = (data: Uint8Array | null): string | null =>
  data === null ? null : new TextDecoder().decode(data);
