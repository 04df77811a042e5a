import assert from 'node:assert/strict';
import { type ChildProcess, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { keyText, RemoteError, StreambedClient, sigv4Signer, valueJson } from '../../lib/client/index.ts';
import { freePort } from '../../lib/harness/process.ts';
import { startLocal, stopLocal } from '../support/local-start.ts';

const credentials = {
  accessKeyId: 'AKIALOCALSIGV4TEST01',
  secretAccessKey: 'local-sigv4-test-secret-0000000000000000',
};
const region = 'eu-west-1';
/** What npm start reads; AWS_SESSION_TOKEN emptied so a token in the developer's shell cannot leak in. */
const env = {
  AWS_ACCESS_KEY_ID: credentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
  AWS_SESSION_TOKEN: '',
  AWS_REGION: region,
  STREAMBED_AUTH: '',
};

async function gatewayAnswer(
  response: Response,
): Promise<{ status: number; errorType: string | null; body: unknown }> {
  return {
    status: response.status,
    errorType: response.headers.get('x-amzn-errortype'),
    body: await response.json(),
  };
}

describe('npm start -- --auth sigv4', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'streambed-sigv4-'));
  let child: ChildProcess | undefined;
  let output: () => string = () => '';
  let endpoint = '';

  before(async () => {
    const port = await freePort();
    const started = await startLocal(port, dataDir, env, ['--auth', 'sigv4']);
    child = started.child;
    output = started.output;
    endpoint = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    if (child !== undefined) await stopLocal(child);
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('the banner says authorization is on and names the access key id it accepts', () => {
    assert.match(output(), /Authorization is ON \(SigV4/);
    assert.match(output(), new RegExp(`eu-west-1/execute-api with access key id ${credentials.accessKeyId}`));
    assert.doesNotMatch(output(), /Authorization is OFF/);
    assert.doesNotMatch(output(), new RegExp(credentials.secretAccessKey));
  });

  test('the SDK with auth sigv4 creates a topic, produces binary segment bodies and consumes through the signed path', async () => {
    // Every request the SDK sends, with its content type and the answer's status.
    const seen: { method: string; path: string; contentType: string | null; status: number }[] = [];
    const recording: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      seen.push({
        method: init?.method ?? 'GET',
        path: new URL(String(input)).pathname,
        contentType: new Headers(init?.headers).get('content-type'),
        status: response.status,
      });
      return response;
    };
    const client = new StreambedClient({ endpoint, auth: 'sigv4', region, credentials, fetch: recording });
    try {
      const admin = client.admin();
      await admin.createTopic({ name: 'signed', partitions: 2 });
      const producer = client.producer({ lingerMs: 0 });
      for (let i = 0; i < 10; i++) await producer.send({ topic: 'signed', key: `k${i}`, json: { i } });
      await producer.send({ topic: 'signed', key: 'bytes', value: new Uint8Array([0, 255, 1, 254, 13, 10]) });
      await producer.close();

      const consumer = client.consumer({
        group: 'signed-readers',
        topic: 'signed',
        autoOffsetReset: 'earliest',
      });
      const got: string[] = [];
      const deadline = Date.now() + 30_000;
      while (got.length < 11 && Date.now() < deadline) {
        for (const record of await consumer.poll({ timeoutMs: 500 })) {
          got.push(
            keyText(record) === 'bytes'
              ? `bytes:${Buffer.from(record.value ?? []).toString('hex')}`
              : `json:${(valueJson<{ i: number }>(record) as { i: number }).i}`,
          );
        }
      }
      await consumer.close();
      assert.deepEqual(
        got.sort(),
        [...[...Array(10).keys()].map((i) => `json:${i}`), 'bytes:00ff01fe0d0a'].sort(),
      );
    } finally {
      await client.close();
    }
  });

  test('the CLI with --auth sigv4 signs from the environment (produce, consume); with a wrong secret it exits 1 naming InvalidSignatureException', () => {
    const run = (args: string[], secret = credentials.secretAccessKey, input?: string) =>
      spawnSync(process.execPath, ['lib/cli/main.ts', '--endpoint', endpoint, '--auth', 'sigv4', ...args], {
        encoding: 'utf8',
        input,
        env: { ...process.env, ...env, AWS_SECRET_ACCESS_KEY: secret, AWS_PROFILE: '' },
      });
    assert.equal(run(['topics', 'create', 'cli-signed', '--partitions', '1']).status, 0);
    const produced = run(['produce', 'cli-signed'], undefined, 'one\ntwo\n');
    assert.equal(produced.status, 0, produced.stderr);
    const consumed = run(['consume', 'cli-signed', '--from-beginning', '-e']);
    assert.deepEqual([consumed.status, consumed.stdout], [0, 'one\ntwo\n']);
    const refused = run(['topics', 'list'], 'not-the-secret');
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /error InvalidSignatureException: The request signature we calculated/);
  });

  test('a client with a wrong secret gets a 403 RemoteError with API Gateway’s message, and changes nothing', async () => {
    const wrong = new StreambedClient({
      endpoint,
      auth: 'sigv4',
      region,
      credentials: { ...credentials, secretAccessKey: 'not-the-secret' },
    });
    const right = new StreambedClient({ endpoint, auth: 'sigv4', region, credentials });
    try {
      const error = await wrong
        .admin()
        .createTopic({ name: 'never', partitions: 1 })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(error instanceof RemoteError, `a RemoteError, got ${String(error)}`);
      assert.equal(error.status, 403);
      assert.equal(error.code, 'InvalidSignatureException'); // from x-amzn-ErrorType
      assert.equal(error.retryable, false);
      assert.match(
        error.message,
        /^The request signature we calculated does not match the signature you provided/,
      );
      assert.ok(!(await right.admin().listTopics()).some((t) => t.name === 'never'), 'no topic was created');
    } finally {
      await wrong.close();
      await right.close();
    }
  });

  test('a client signing for another region is told which region its credential is scoped to', async () => {
    const elsewhere = new StreambedClient({ endpoint, auth: 'sigv4', region: 'us-east-1', credentials });
    try {
      await assert.rejects(elsewhere.admin().listTopics(), (e: unknown) => {
        assert.ok(e instanceof RemoteError);
        assert.equal(e.status, 403);
        assert.match(e.message, /Credential should be scoped to a valid region, not 'us-east-1'/);
        return true;
      });
    } finally {
      await elsewhere.close();
    }
  });

  test('an unsigned request (as curl sends it) gets 403 {"message":"Forbidden"}, MissingAuthenticationTokenException', async () => {
    const response = await fetch(`${endpoint}/topics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'unsigned', partitions: 1 }),
    });
    assert.deepEqual(await gatewayAnswer(response), {
      status: 403,
      errorType: 'MissingAuthenticationTokenException',
      body: { message: 'Forbidden' },
    });
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  });

  test('a signed produce whose body was changed in transit is refused before the handler: nothing is appended', async () => {
    const client = new StreambedClient({ endpoint, auth: 'sigv4', region, credentials });
    try {
      await client.admin().createTopic({ name: 'tampered', partitions: 1 });
      const url = new URL(`${endpoint}/topics/tampered/records`);
      const body = JSON.stringify({ records: [{ value: 'original' }] });
      const headers = await sigv4Signer({ region, credentials }).sign({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/json' },
        body,
      });
      const { host: _, ...sent } = headers;
      const send = (payload: string) => fetch(url, { method: 'POST', headers: sent, body: payload });

      const refused = await gatewayAnswer(await send(body.replace('original', 'forged!!')));
      assert.equal(refused.status, 403);
      assert.equal(refused.errorType, 'InvalidSignatureException');
      assert.match(
        (refused.body as { message: string }).message,
        /^The request signature we calculated does not match/,
      );
      assert.equal(await client.transport.listOffsets('tampered', 0, 'latest'), 0);

      const accepted = await send(body);
      assert.equal(accepted.status, 200, await accepted.clone().text());
      assert.equal(await client.transport.listOffsets('tampered', 0, 'latest'), 1);
    } finally {
      await client.close();
    }
  });
});

describe('npm start without --auth', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'streambed-noauth-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  test('still accepts unsigned requests and says authorization is off', async (t) => {
    const port = await freePort();
    const { child, output } = await startLocal(port, dataDir, env);
    t.after(() => stopLocal(child));
    assert.match(output(), /Authorization is OFF locally/);
    const response = await fetch(`http://127.0.0.1:${port}/topics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'open', partitions: 1 }),
    });
    assert.equal(response.status, 201, await response.clone().text());
    assert.equal(await stopLocal(child), 0);
  });
});
