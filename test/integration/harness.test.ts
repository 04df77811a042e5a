import assert from 'node:assert/strict';
import { test } from 'node:test';
import { endpointsFromEnv } from '../../lib/harness/services.ts';

test('the harness exposes healthy MinIO and DynamoDB Local endpoints to test files', async () => {
  const endpoints = endpointsFromEnv();
  assert.ok(endpoints, 'endpoints are set by the global setup');
  assert.equal((await fetch(`${endpoints.s3Endpoint}/minio/health/live`)).status, 200);
});
