import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ensureBucket, localClients } from '../../lib/adapters/clients.ts';
import { ensureTables } from '../../lib/adapters/dynamodb/tables.ts';
import { endpointsFromEnv } from '../../lib/harness/services.ts';

describe('the CLI with --direct: straight to MinIO + DynamoDB Local, no HTTP API', () => {
  const endpoints = endpointsFromEnv();
  const id = randomBytes(4).toString('hex');
  const env = {
    ...process.env,
    STREAMBED_BUCKET: `sb-cli-${id}`,
    STREAMBED_LOG_TABLE: `sb-cli-${id}-log`,
    STREAMBED_META_TABLE: `sb-cli-${id}-meta`,
    AWS_ENDPOINT_URL_S3: endpoints?.s3Endpoint ?? '',
    AWS_ENDPOINT_URL_DYNAMODB: endpoints?.dynamoDbEndpoint ?? '',
    AWS_ACCESS_KEY_ID: endpoints?.s3AccessKeyId ?? '',
    AWS_SECRET_ACCESS_KEY: endpoints?.s3SecretAccessKey ?? '',
    AWS_SESSION_TOKEN: '',
    AWS_PROFILE: '',
    AWS_REGION: endpoints?.region ?? 'us-east-1',
    STREAMBED_ENDPOINT: 'http://127.0.0.1:1', // never used with --direct
  };
  const cli = (args: string[], input?: string, extra: Record<string, string> = {}) =>
    spawnSync(process.execPath, ['lib/cli/main.ts', '--direct', ...args], {
      encoding: 'utf8',
      input,
      env: { ...env, ...extra },
      timeout: 60_000,
    });
  const clients = endpoints === undefined ? undefined : localClients(endpoints);

  before(async () => {
    assert.ok(endpoints && clients, 'run through npm run test:integration');
    await Promise.all([
      ensureBucket(clients.s3, env.STREAMBED_BUCKET),
      ensureTables(clients.dynamodb, { log: env.STREAMBED_LOG_TABLE, meta: env.STREAMBED_META_TABLE }),
    ]);
  });
  after(() => {
    clients?.s3.destroy();
    clients?.dynamodb.destroy();
  });

  test('topics, produce, consume with a group, and describe the lag — then exits (its SDK clients closed)', () => {
    assert.equal(cli(['topics', 'create', 'direct', '--partitions', '2']).status, 0);
    const produced = cli(['produce', 'direct', '--key-separator', ':'], 'a:1\nb:2\nc:3\n');
    assert.equal(produced.status, 0, produced.stderr);
    const consumed = cli([
      'consume',
      'direct',
      '--group',
      'g',
      '--from-beginning',
      '-e',
      '--format',
      '%k=%s\n',
    ]);
    assert.equal(consumed.status, 0, consumed.stderr);
    assert.deepEqual(consumed.stdout.trim().split('\n').sort(), ['a=1', 'b=2', 'c=3']);
    const described = cli(['groups', 'describe', 'g', '--topic', 'direct']);
    assert.equal(described.status, 0, described.stderr);
    assert.match(described.stdout, /total lag: 0 records/);
    assert.match(cli(['topics', 'list']).stdout, /^direct$/m);
  });

  test('without the bucket and tables in the environment: a usage error (exit 2) naming what is missing', () => {
    const refused = cli(['topics', 'list'], undefined, { STREAMBED_BUCKET: '', STREAMBED_META_TABLE: '' });
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /--direct needs STREAMBED_BUCKET, STREAMBED_META_TABLE/);
  });
});
