import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { awsClients, quiet } from '../../lib/adapters/clients.ts';

const names = (client: S3Client | DynamoDBClient) =>
  (client.middlewareStack as S3Client['middlewareStack']).identify().join(' ');

test('quiet removes the SDK logger middleware, which masks every response for a no-op logger', () => {
  const plain = new DynamoDBClient({ region: 'us-east-1' });
  assert.match(names(plain), /loggerMiddleware/);
  assert.doesNotMatch(names(quiet(plain)), /loggerMiddleware/);
  assert.doesNotMatch(names(quiet(new S3Client({ region: 'us-east-1' }))), /loggerMiddleware/);
});

test('the Lambda clients come quiet', () => {
  process.env.AWS_REGION ??= 'us-east-1';
  const { s3, dynamodb } = awsClients();
  assert.doesNotMatch(names(s3), /loggerMiddleware/);
  assert.doesNotMatch(names(dynamodb), /loggerMiddleware/);
});
