import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import { localCallerVerifier } from '../../functions/local/sigv4-presigned.ts';
import { createKafkaAuthToken } from '../../lib/client/kafka-token.ts';
import { type KafkaAuthOptions, SaslSession } from '../../lib/kafka/auth/session.ts';
import type { CallerVerifier } from '../../lib/kafka/auth/token.ts';
import { ApiKey, decodeResponse, encodeRequest } from '../../lib/kafka/protocol/api.ts';
import { ALL_APIS, SASL_APIS } from '../../lib/kafka/server/apis/index.ts';
import type { KafkaEngine } from '../../lib/kafka/server/context.ts';
import { dispatch, type Outcome, servedVersions } from '../../lib/kafka/server/dispatch.ts';
import { KafkaError } from '../../lib/kafka/server/error-codes.ts';
import { startKafkaServer } from '../../lib/kafka/server/server.ts';

const credentials = { accessKeyId: 'AKIAUNITGATE00000001', secretAccessKey: 'unit-gate-secret' };
const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
const handlers = new Map([...ALL_APIS, ...SASL_APIS].map((h) => [h.apiKey, h]));
const apis = servedVersions([...ALL_APIS, ...SASL_APIS]);

/** A connection of a server requiring authentication: its session, its clock, what reached the engine. */
function connection(auth: Partial<KafkaAuthOptions> = {}) {
  const clock = { t: T0, now: () => clock.t, sleep: async () => {} };
  const engineCalls: string[] = [];
  const engine = {
    listTopics: async () => {
      engineCalls.push('listTopics');
      return [];
    },
    produce: async () => {
      engineCalls.push('produce');
      throw new Error('must not be called');
    },
  } as unknown as KafkaEngine;
  const sasl = new SaslSession({ verifier: localCallerVerifier({ identity: credentials }), ...auth }, 'c1');
  const ctx = {
    engine,
    broker: { nodeId: 0, host: '127.0.0.1', port: 9092 },
    clusterId: 'c1',
    clock,
    apis,
    signal: new AbortController().signal,
    sasl,
  };
  let correlationId = 0;
  const send = (apiKey: number, apiVersion: number, body: object): Promise<Outcome> =>
    dispatch(
      encodeRequest({ apiKey, apiVersion, correlationId: ++correlationId, clientId: 't' }, body),
      handlers,
      ctx,
    );
  return { clock, engineCalls, sasl, send };
}

const token = (over: Partial<Parameters<typeof createKafkaAuthToken>[0]> = {}) =>
  createKafkaAuthToken({
    clusterId: 'c1',
    region: 'us-east-1',
    credentials,
    now: () => new Date(T0),
    ...over,
  });
const oauth = (t: string) => Buffer.from(`n,,\x01auth=Bearer ${t}\x01\x01`);
const produce = { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [] };
const metadata = { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false };

function body(outcome: Outcome, apiKey: number, version: number) {
  assert.equal(outcome.kind, 'respond', JSON.stringify(outcome));
  return decodeResponse(apiKey, version, (outcome as { bytes: Uint8Array }).bytes).body;
}

async function authenticated(c: ReturnType<typeof connection>, t?: string) {
  body(await c.send(ApiKey.SaslHandshake, 1, { mechanism: 'OAUTHBEARER' }), ApiKey.SaslHandshake, 1);
  return body(
    await c.send(ApiKey.SaslAuthenticate, 2, { authBytes: oauth(t ?? (await token())) }),
    ApiKey.SaslAuthenticate,
    2,
  );
}

describe('the gate: while a connection is not authenticated', () => {
  test('ApiVersions is answered, and lists SaslHandshake 0-1 and SaslAuthenticate 0-2', async () => {
    const c = connection();
    const versions = body(await c.send(ApiKey.ApiVersions, 3, {}), ApiKey.ApiVersions, 3);
    const keys = versions.apiKeys as { apiKey: number; minVersion: number; maxVersion: number }[];
    assert.deepEqual(
      keys.find((k) => k.apiKey === 17),
      { apiKey: 17, minVersion: 0, maxVersion: 1 },
    );
    assert.deepEqual(
      keys.find((k) => k.apiKey === 36),
      { apiKey: 36, minVersion: 0, maxVersion: 2 },
    );
  });

  test('a Produce or a Metadata closes the connection without an answer, and never reaches the engine', async () => {
    for (const [apiKey, version, request] of [
      [ApiKey.Produce, 9, produce],
      [ApiKey.Metadata, 12, metadata],
    ] as const) {
      const c = connection();
      const outcome = await c.send(apiKey, version, request);
      assert.equal(outcome.kind, 'close');
      assert.match(
        (outcome as { reason: string }).reason,
        /during SASL handshake \(authentication is required\)/,
      );
      assert.deepEqual(c.engineCalls, []);
    }
  });

  test('after SaslHandshake, anything but SaslAuthenticate closes the connection', async () => {
    const c = connection();
    body(await c.send(ApiKey.SaslHandshake, 1, { mechanism: 'PLAIN' }), ApiKey.SaslHandshake, 1);
    assert.equal((await c.send(ApiKey.Metadata, 12, metadata)).kind, 'close');
    assert.deepEqual(c.engineCalls, []);
  });

  test('an unknown mechanism gets UNSUPPORTED_SASL_MECHANISM with the served list, then the connection closes', async () => {
    const c = connection();
    const outcome = await c.send(ApiKey.SaslHandshake, 1, { mechanism: 'SCRAM-SHA-512' });
    assert.deepEqual(body(outcome, ApiKey.SaslHandshake, 1), {
      errorCode: KafkaError.UNSUPPORTED_SASL_MECHANISM,
      mechanisms: ['OAUTHBEARER', 'PLAIN'],
    });
    assert.match((outcome as { close?: string }).close ?? '', /SCRAM-SHA-512 is not served/);
  });

  test('a refused token gets SASL_AUTHENTICATION_FAILED with the reason, then the connection closes', async () => {
    const c = connection();
    body(await c.send(ApiKey.SaslHandshake, 1, { mechanism: 'PLAIN' }), ApiKey.SaslHandshake, 1);
    const bad = await token({ credentials: { ...credentials, secretAccessKey: 'wrong' } });
    const outcome = await c.send(ApiKey.SaslAuthenticate, 1, { authBytes: Buffer.from(`\x00aws\x00${bad}`) });
    const answer = body(outcome, ApiKey.SaslAuthenticate, 1);
    assert.equal(answer.errorCode, KafkaError.SASL_AUTHENTICATION_FAILED);
    assert.match(
      String(answer.errorMessage),
      /Authentication failed during authentication with SASL mechanism PLAIN: STS refused/,
    );
    assert.ok((outcome as { close?: string }).close !== undefined);
    assert.equal((await c.send(ApiKey.Metadata, 12, metadata)).kind, 'close');
    assert.deepEqual(c.engineCalls, []);
  });
});

describe('authenticated sessions (KIP-368)', () => {
  test("success: empty bytes and sessionLifetimeMs = the token's remaining lifetime; requests are then served", async () => {
    const c = connection();
    c.clock.t = T0 + 100_000;
    assert.deepEqual(await authenticated(c), {
      errorCode: 0,
      errorMessage: null,
      authBytes: new Uint8Array(),
      sessionLifetimeMs: 800_000n,
    });
    body(await c.send(ApiKey.Metadata, 12, metadata), ApiKey.Metadata, 12);
    assert.deepEqual(c.engineCalls, ['listTopics']);
  });

  test('the session lifetime is capped at maxSessionMs', async () => {
    const c = connection({ maxSessionMs: 60_000 });
    assert.equal(
      (await authenticated(c, await token({ expiresInSeconds: 3600 }))).sessionLifetimeMs,
      60_000n,
    );
  });

  test('past the session lifetime, a request closes the connection; a SaslHandshake re-authenticates and serving goes on', async () => {
    const c = connection();
    await authenticated(c);
    c.clock.t = T0 + 900_000;
    const refused = await c.send(ApiKey.Metadata, 12, metadata);
    assert.equal(refused.kind, 'close');
    assert.match((refused as { reason: string }).reason, /session expired/);

    const d = connection();
    await authenticated(d);
    d.clock.t = T0 + 899_000;
    const again = await authenticated(d, await token({ now: () => new Date(T0 + 899_000) }));
    assert.equal(again.errorCode, 0);
    d.clock.t = T0 + 1_000_000;
    body(await d.send(ApiKey.Metadata, 12, metadata), ApiKey.Metadata, 12);
  });

  test('re-authentication must be by the same principal and the same mechanism', async () => {
    let calls = 0;
    const local = localCallerVerifier({ identity: credentials });
    const changing: CallerVerifier = {
      verifyCaller: async (t, o) => {
        const caller = await local.verifyCaller(t, o);
        return ++calls === 1 ? caller : { ...caller, arn: 'arn:aws:iam::000000000000:user/other' };
      },
    };
    const c = connection({ verifier: changing });
    await authenticated(c);
    const answer = await authenticated(c);
    assert.equal(answer.errorCode, KafkaError.SASL_AUTHENTICATION_FAILED);
    assert.match(String(answer.errorMessage), /same principal/);

    const d = connection();
    await authenticated(d);
    const outcome = await d.send(ApiKey.SaslHandshake, 1, { mechanism: 'PLAIN' });
    assert.equal(body(outcome, ApiKey.SaslHandshake, 1).errorCode, KafkaError.UNSUPPORTED_SASL_MECHANISM);
    assert.ok((outcome as { close?: string }).close !== undefined);
  });

  test('SaslHandshake v0: the token comes as a bare frame, answered by an empty frame', async () => {
    const c = connection();
    body(await c.send(ApiKey.SaslHandshake, 0, { mechanism: 'PLAIN' }), ApiKey.SaslHandshake, 0);
    const raw = await dispatch(Buffer.from(`\x00aws\x00${await token()}`), handlers, {
      engine: {} as KafkaEngine,
      broker: { nodeId: 0, host: 'h', port: 1 },
      clusterId: 'c1',
      clock: c.clock,
      apis,
      signal: new AbortController().signal,
      sasl: c.sasl,
    });
    assert.deepEqual(raw, { kind: 'respond', bytes: new Uint8Array() });
    assert.equal(c.sasl.state, 'authenticated');
  });
});

describe('the TCP server with auth', () => {
  /** Writes `bytes` to a new connection; resolves with what came back once the server closed it. */
  async function exchange(port: number, bytes: Uint8Array): Promise<Buffer> {
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('error', () => {});
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.write(bytes);
    });
    return Buffer.concat(received);
  }
  const framed = (message: Uint8Array) => {
    const out = Buffer.alloc(4 + message.length);
    out.writeInt32BE(message.length, 0);
    out.set(message, 4);
    return out;
  };

  test(
    'a Produce before authentication closes the connection with no answer; more than 512 KiB before it too',
    { timeout: 30_000 },
    async () => {
      const produced: unknown[] = [];
      const server = await startKafkaServer({
        engine: { produce: async (r: unknown) => produced.push(r) } as unknown as KafkaEngine,
        port: 0,
        auth: { verifier: localCallerVerifier({ identity: credentials }) },
      });
      try {
        const request = encodeRequest(
          { apiKey: ApiKey.Produce, apiVersion: 9, correlationId: 1, clientId: 't' },
          produce,
        );
        assert.equal((await exchange(server.broker.port, framed(request))).length, 0);
        // A frame announcing 1 MiB, of which 600 KiB are sent: closed before the frame is whole.
        const big = Buffer.alloc(4 + 600 * 1024);
        big.writeInt32BE(1024 * 1024, 0);
        assert.equal((await exchange(server.broker.port, big)).length, 0);
        assert.deepEqual(produced, []);
      } finally {
        await server.close();
      }
    },
  );
});
