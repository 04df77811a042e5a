import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BucketAlreadyOwnedByYou, CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { ServiceEndpoints } from '../harness/services.ts';

/**
 * SDK clients pointed at local endpoints (MinIO and DynamoDB Local). On AWS, construct the
 * clients with their defaults instead.
 *
 * @example
 * const { s3, dynamodb } = localClients(endpointsFromEnv()!);
 */
export function localClients(endpoints: ServiceEndpoints): { s3: S3Client; dynamodb: DynamoDBClient } {
  const s3 = new S3Client({
    endpoint: endpoints.s3Endpoint,
    region: endpoints.region,
    forcePathStyle: true,
    credentials: { accessKeyId: endpoints.s3AccessKeyId, secretAccessKey: endpoints.s3SecretAccessKey },
  });
  const dynamodb = new DynamoDBClient({
    endpoint: endpoints.dynamoDbEndpoint,
    region: endpoints.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
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
