import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { localCallerVerifier } from '../../functions/local/sigv4-presigned.ts';
import { main } from '../../lib/cli/main.ts';
import { createKafkaAuthToken, InvalidArgumentError } from '../../lib/client/index.ts';
import { CallerRejectedError } from '../../lib/kafka/auth/errors.ts';
import { parseCallerToken } from '../../lib/kafka/auth/token.ts';

const credentials = { accessKeyId: 'AKIAUNITTOKEN0000001', secretAccessKey: 'unit-token-secret' };

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const token = (over: Partial<Parameters<typeof createKafkaAuthToken>[0]> = {}) =>
  createKafkaAuthToken({
    clusterId: 'c1',
    region: 'eu-west-1',
    credentials,
    now: () => new Date(NOW),
    ...over,
  });
/** A real token's URL with one change. */
async function edited(change: (url: URL) => void): Promise<string> {
  const url = new URL(Buffer.from(await token(), 'base64url').toString('utf8'));
  change(url);
  return Buffer.from(url.toString(), 'utf8').toString('base64url');
}

/** Runs the CLI with these AWS variables in the process environment (the default credential chain reads it). */
async function cli(argv: string[], vars: Record<string, string>) {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  err.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    const code = await main(argv, { stdin: new PassThrough(), stdout: out, stderr: err, env: vars });
    return { code, stdout, stderr };
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe('createKafkaAuthToken', () => {
  test('a presigned GetCallerIdentity for the region, 15 minutes by default, with the session token when there is one', async () => {
    const now = new Date(Date.UTC(2026, 2, 1, 8, 30, 0));
    const t = await createKafkaAuthToken({
      clusterId: 'orders',
      region: 'ap-south-1',
      credentials: { ...credentials, sessionToken: 'FwoG+/session=' },
      now: () => now,
    });
    assert.match(t, /^[A-Za-z0-9_-]+$/);
    const parsed = parseCallerToken(t, { now: now.getTime() });
    assert.equal(parsed.url.host, 'sts.ap-south-1.amazonaws.com');
    assert.equal(parsed.lifetimeSeconds, 900);
    assert.equal(parsed.sessionToken, 'FwoG+/session=');
    assert.equal(parsed.url.searchParams.get('X-Amz-Date'), '20260301T083000Z');
  });

  test('the token verifies only for the cluster it names', async () => {
    const t = await createKafkaAuthToken({ clusterId: 'orders', region: 'us-east-1', credentials });
    const verifier = localCallerVerifier({ identity: credentials });
    assert.equal(
      (await verifier.verifyCaller(t, { clusterId: 'orders', now: Date.now() })).userId,
      credentials.accessKeyId,
    );
    await assert.rejects(
      verifier.verifyCaller(t, { clusterId: 'payments', now: Date.now() }),
      /another cluster than 'payments'/,
    );
  });

  test('a lifetime outside 1-3600 seconds or an empty cluster id is refused', async () => {
    for (const expiresInSeconds of [0, 3601, 1.5]) {
      await assert.rejects(
        createKafkaAuthToken({ clusterId: 'c', region: 'us-east-1', credentials, expiresInSeconds }),
        (e: Error) =>
          e instanceof InvalidArgumentError &&
          /expiresInSeconds must be a whole number from 1 to 3600/.test(e.message),
      );
    }
    await assert.rejects(
      createKafkaAuthToken({ clusterId: '', region: 'us-east-1', credentials }),
      /clusterId must not be empty/,
    );
  });
});

describe('streambed kafka-token', () => {
  const vars = {
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_SESSION_TOKEN: '',
  };
  test('prints one token line, for --cluster-id, --region and --expires-in, signed with the default credential chain', async () => {
    const { code, stdout } = await cli(
      ['kafka-token', '--cluster-id', 'orders', '--region', 'eu-central-1', '--expires-in', '60'],
      vars,
    );
    assert.equal(code, 0);
    assert.match(stdout, /^[A-Za-z0-9_-]+\n$/);
    const parsed = parseCallerToken(stdout.trim(), { now: Date.now() });
    assert.equal(parsed.region, 'eu-central-1');
    assert.equal(parsed.lifetimeSeconds, 60);
    const verifier = localCallerVerifier({ identity: credentials });
    assert.ok(await verifier.verifyCaller(stdout.trim(), { clusterId: 'orders', now: Date.now() }));
  });

  test('the cluster id defaults to STREAMBED_KAFKA_CLUSTER_ID, else streambed (npm start)', async () => {
    const { stdout } = await cli(['kafka-token'], { ...vars, AWS_REGION: 'us-east-1' });
    const verifier = localCallerVerifier({ identity: credentials });
    assert.ok(await verifier.verifyCaller(stdout.trim(), { clusterId: 'streambed', now: Date.now() }));
    const named = await cli(['kafka-token'], { ...vars, STREAMBED_KAFKA_CLUSTER_ID: 'kafka.example.com' });
    assert.ok(
      await verifier.verifyCaller(named.stdout.trim(), { clusterId: 'kafka.example.com', now: Date.now() }),
    );
  });

  test('--expires-in outside 1-3600 is a usage error (exit 2)', async () => {
    const { code, stderr } = await cli(['kafka-token', '--expires-in', '7200'], vars);
    assert.equal(code, 2);
    assert.match(stderr, /--expires-in must be 1 to 3600 seconds, got 7200/);
  });
});

describe('the local verifier (npm start --auth sigv4)', () => {
  const verifier = localCallerVerifier({ identity: credentials, account: '111122223333' });
  test("a token signed with npm start's identity for this cluster is answered as STS would", async () => {
    assert.deepEqual(await verifier.verifyCaller(await token(), { clusterId: 'c1', now: NOW }), {
      arn: 'arn:aws:iam::111122223333:user/local',
      account: '111122223333',
      userId: credentials.accessKeyId,
      expiresAt: NOW + 900_000,
    });
  });
  test('a wrong secret, another cluster, another key, an unexpected session token or a changed URL are refused', async () => {
    const cases = [
      [
        await token({ credentials: { ...credentials, secretAccessKey: 'wrong' } }),
        'c1',
        /SignatureDoesNotMatch/,
      ],
      [await token(), 'c2', /token for another cluster than 'c2'/],
      [
        await token({ credentials: { ...credentials, accessKeyId: 'AKIAOTHER' } }),
        'c1',
        /InvalidClientTokenId/,
      ],
      [await token({ credentials: { ...credentials, sessionToken: 'st' } }), 'c1', /InvalidClientTokenId/],
      [await edited((u) => u.searchParams.set('X-Amz-Expires', '901')), 'c1', /SignatureDoesNotMatch/],
    ] as const;
    for (const [t, clusterId, message] of cases) {
      await assert.rejects(
        verifier.verifyCaller(t, { clusterId, now: NOW }),
        (e: Error) => e instanceof CallerRejectedError && message.test(e.message),
      );
    }
  });
});
