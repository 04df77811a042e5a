import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BucketAlreadyOwnedByYou, CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { ServiceEndpoints } from '../harness/services.ts';

/**
 * Removes the SDK's logger middleware from a client. With the default no-op logger it still walks
 * every request and response to mask sensitive fields before calling a logger that drops them: on
 * an append that returns the partition head (~1 KB of binary entries) that walk is ~5% of the
 * produce path's CPU. Streambed logs its own events, never SDK calls.
 *
 * @example
 * const dynamodb = quiet(new DynamoDBClient({}));
 */
export function quiet<T extends S3Client | DynamoDBClient>(client: T): T {
  (client.middlewareStack as S3Client['middlewareStack']).remove('loggerMiddleware');
  return client;
}

/** SDK clients for Lambda: the defaults (region and credentials from the environment), {@link quiet}. */
export function awsClients(): { s3: S3Client; dynamodb: DynamoDBClient } {
  return { s3: quiet(new S3Client({})), dynamodb: quiet(new DynamoDBClient({})) };
}

/**
 * SDK clients pointed at local endpoints (MinIO and DynamoDB Local). On AWS, construct the
 * clients with their defaults instead.
 *
 * @example
 * const { s3, dynamodb } = localClients(endpointsFromEnv()!);
 */
export function localClients(endpoints: ServiceEndpoints): { s3: S3Client; dynamodb: DynamoDBClient } {
  const s3 = quiet(
    new S3Client({
      endpoint: endpoints.s3Endpoint,
      region: endpoints.region,
      forcePathStyle: true,
      credentials: { accessKeyId: endpoints.s3AccessKeyId, secretAccessKey: endpoints.s3SecretAccessKey },
    }),
  );
  const dynamodb = quiet(
    new DynamoDBClient({
      endpoint: endpoints.dynamoDbEndpoint,
      region: endpoints.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
  );
  return { s3, dynamodb };
}

/** Creates the bucket unless it exists (local stacks and tests). */
export async function ensureBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    if (error instanceof BucketAlreadyOwnedByYou) return;
    if (error instanceof Error && error.name === 'BucketAlreadyExists') return;
    throw error;
  }
}
