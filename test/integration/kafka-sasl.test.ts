import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { Producer as PlatformaticProducer, stringSerializers } from '@platformatic/kafka';
import { Kafka, type KafkaConfig, logLevel } from 'kafkajs';
import { main as cli } from '../../lib/cli/main.ts';
import { createKafkaAuthToken, StreambedClient } from '../../lib/client/index.ts';
import { canRun, freePort } from '../../lib/harness/process.ts';
import { ApiKey, encodeRequest } from '../../lib/kafka/protocol/api.ts';
import { startLocal, stopLocal } from '../support/local-start.ts';

const credentials = {
  accessKeyId: 'AKIALOCALKAFKASASL01',
  secretAccessKey: 'local-kafka-sasl-test-secret-00000000000',
};
const region = 'eu-west-1';
const env = {
  AWS_ACCESS_KEY_ID: credentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
  AWS_SESSION_TOKEN: '',
  AWS_REGION: region,
  STREAMBED_AUTH: '',
  STREAMBED_KAFKA_CLUSTER_ID: '',
};
const token = (over: Partial<Parameters<typeof createKafkaAuthToken>[0]> = {}) =>
  createKafkaAuthToken({ clusterId: 'streambed', region, credentials, ...over });

function kcat(
  args: readonly string[],
  input = '',
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile('kcat', args, { timeout: 30_000, encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve({
        code: error === null ? 0 : typeof error.code === 'number' ? error.code : null,
        stdout,
        stderr,
      });
    });
    child.stdin?.end(input);
  });
}

describe('the Kafka door of npm start -- --auth sigv4 (SASL with a presigned STS GetCallerIdentity token)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'streambed-kafka-sasl-'));
  let child: Awaited<ReturnType<typeof startLocal>>['child'] | undefined;
  let output: () => string = () => '';
  let broker = '';
  let kafkaPort = 0;
  let http: StreambedClient;
  const kafkaWith = (sasl: KafkaConfig['sasl'] | undefined, extra: Partial<KafkaConfig> = {}) =>
    new Kafka({
      brokers: [broker],
      clientId: 'sasl-test',
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
      ...(sasl === undefined ? {} : { sasl }),
      ...extra,
    });
  const highWatermark = async (topic: string) =>
    [...(await http.admin().listOffsets(topic, 'latest')).values()].reduce(
      (n: number, end) => n + (end ?? 0),
      0,
    );

  before(async () => {
    const port = await freePort();
    kafkaPort = await freePort();
    const started = await startLocal(port, dataDir, env, [
      '--auth',
      'sigv4',
      '--kafka-port',
      String(kafkaPort),
    ]);
    child = started.child;
    output = started.output;
    broker = `127.0.0.1:${kafkaPort}`;
    http = new StreambedClient({ endpoint: `http://127.0.0.1:${port}`, auth: 'sigv4', region, credentials });
    await http.admin().createTopic({ name: 'secured', partitions: 1 });
  });
  after(async () => {
    await http?.close();
    if (child !== undefined) await stopLocal(child);
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('the banner says the Kafka port requires a token', () => {
    assert.match(output(), /Kafka protocol: 127\.0\.0\.1:\d+ \(SASL OAUTHBEARER or PLAIN/);
  });

  test('kafkajs with OAUTHBEARER and createKafkaAuthToken produces and consumes in a group', async () => {
    let tokens = 0;
    const kafka = kafkaWith({
      mechanism: 'oauthbearer',
      oauthBearerProvider: async () => {
        tokens++;
        return { value: await token() };
      },
    });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: 'secured',
      messages: [
        { key: 'a', value: 'one' },
        { key: 'b', value: 'two' },
      ],
    });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: 'sasl-readers' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'secured', fromBeginning: true });
    const seen: string[] = [];
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message }) => {
            seen.push(String(message.value));
            if (seen.length === 2) resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    assert.deepEqual(seen, ['one', 'two']);
    assert.ok(tokens >= 1);
    assert.match(output(), /authenticated arn:aws:iam::000000000000:user\/local \(OAUTHBEARER\)/);
  });

  test('kafkajs re-authenticates on its connection before the session the server gave it ends (KIP-368)', async () => {
    let tokens = 0;
    // kafkajs re-authenticates once (elapsed + threshold) reaches the session lifetime the server
    // sent (the token's ~900 s): with this threshold, any request a second or more later.
    const kafka = kafkaWith(
      {
        mechanism: 'oauthbearer',
        oauthBearerProvider: async () => {
          tokens++;
          return { value: await token() };
        },
      },
      { reauthenticationThreshold: 899_000 },
    );
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'secured', messages: [{ value: 'before' }] });
    const before = tokens;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await producer.send({ topic: 'secured', messages: [{ value: 'after' }] });
    await producer.disconnect();
    assert.ok(tokens > before, `a new token was asked for (${before} then ${tokens})`);
    assert.match(output(), /re-authenticated arn:aws:iam::000000000000:user\/local/);
  });

  for (const [name, make] of [
    [
      'a token signed with a wrong secret',
      () => token({ credentials: { ...credentials, secretAccessKey: 'wrong' } }),
    ],
    ['an expired token', () => token({ now: () => new Date(Date.now() - 20 * 60_000) })],
    ['a token for another cluster', () => token({ clusterId: 'another-cluster' })],
    [
      'a token of another access key',
      () => token({ credentials: { ...credentials, accessKeyId: 'AKIAOTHERKEY00000000' } }),
    ],
  ] as const) {
    test(`${name} is refused with SASL_AUTHENTICATION_FAILED and nothing is written`, async () => {
      const before = await highWatermark('secured');
      const kafka = kafkaWith({
        mechanism: 'oauthbearer',
        oauthBearerProvider: async () => ({ value: await make() }),
      });
      const producer = kafka.producer();
      await assert.rejects(
        async () => {
          await producer.connect();
          await producer.send({ topic: 'secured', messages: [{ value: 'must not land' }] });
        },
        (error: Error) => {
          assert.equal(error.name, 'KafkaJSSASLAuthenticationError');
          assert.match(error.message, /Authentication failed/);
          return true;
        },
      );
      await producer.disconnect().catch(() => undefined);
      assert.equal(await highWatermark('secured'), before);
    });
  }

  test('kafkajs without SASL is refused: the connection closes at its first request after ApiVersions', async () => {
    const before = await highWatermark('secured');
    const producer = kafkaWith(undefined).producer();
    await assert.rejects(async () => {
      await producer.connect();
      await producer.send({ topic: 'secured', messages: [{ value: 'must not land' }] });
    });
    await producer.disconnect().catch(() => undefined);
    assert.equal(await highWatermark('secured'), before);
  });

  test('a Metadata request before authentication gets no answer: the connection is closed', async () => {
    const socket = connect(kafkaPort, '127.0.0.1');
    const request = encodeRequest(
      { apiKey: ApiKey.Metadata, apiVersion: 1, correlationId: 1, clientId: 'raw' },
      { topics: null },
    );
    const sized = Buffer.alloc(4 + request.length);
    sized.writeInt32BE(request.length, 0);
    sized.set(request, 4);
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.write(sized);
    });
    assert.equal(Buffer.concat(received).length, 0);
  });

  test(
    'kcat (librdkafka) with PLAIN and a `streambed kafka-token` password produces and consumes',
    { skip: canRun('kcat', ['-V']) ? false : 'kcat is not installed' },
    async () => {
      const stdout = new PassThrough();
      let printed = '';
      stdout.on('data', (chunk: Buffer) => {
        printed += chunk.toString();
      });
      // The token is signed with the default credential chain, which reads the process's environment.
      const saved = { ...process.env };
      Object.assign(process.env, env);
      const code = await cli(['kafka-token', '--region', region], {
        stdin: new PassThrough(),
        stdout,
        stderr: new PassThrough(),
        env: { ...env, STREAMBED_KAFKA_CLUSTER_ID: 'streambed' },
      }).finally(() => {
        for (const name of Object.keys(env)) {
          if (saved[name] === undefined) delete process.env[name];
          else process.env[name] = saved[name];
        }
      });
      assert.equal(code, 0);
      const password = printed.trim();
      const sasl = [
        '-X',
        'security.protocol=SASL_PLAINTEXT',
        '-X',
        'sasl.mechanism=PLAIN',
        '-X',
        'sasl.username=aws',
      ];
      await http.admin().createTopic({ name: 'kcat-secured', partitions: 1 });
      const produced = await kcat(
        ['-b', broker, ...sasl, '-X', `sasl.password=${password}`, '-P', '-t', 'kcat-secured', '-K:'],
        'k1:v1\nk2:v2\n',
      );
      assert.equal(produced.code, 0, produced.stderr);
      const consumed = await kcat([
        '-b',
        broker,
        ...sasl,
        '-X',
        `sasl.password=${password}`,
        '-C',
        '-t',
        'kcat-secured',
        '-e',
        '-f',
        '%k=%s\n',
      ]);
      assert.equal(consumed.code, 0, consumed.stderr);
      assert.equal(consumed.stdout, 'k1=v1\nk2=v2\n');
      const refused = await kcat(
        ['-b', broker, ...sasl, '-X', 'sasl.password=not-a-token', '-P', '-t', 'kcat-secured'],
        'x\n',
      );
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /Authentication failed|SASL authentication error/i);
      assert.equal(await highWatermark('kcat-secured'), 2);
    },
  );

  for (const mechanism of ['PLAIN', 'OAUTHBEARER'] as const) {
    test(`@platformatic/kafka with SASL ${mechanism} and the token produces; a wrong token is refused`, async () => {
      const sasl = async (t: string) =>
        mechanism === 'PLAIN' ? { mechanism, username: 'aws', password: t } : { mechanism, token: t };
      const producer = new PlatformaticProducer({
        clientId: 'platformatic-sasl',
        bootstrapBrokers: [broker],
        serializers: stringSerializers,
        sasl: await sasl(await token()),
      });
      const before = await highWatermark('secured');
      try {
        await producer.send({ messages: [{ topic: 'secured', key: 'p', value: mechanism }] });
        assert.equal(await highWatermark('secured'), before + 1);
      } finally {
        await producer.close();
      }
      const refused = new PlatformaticProducer({
        clientId: 'platformatic-sasl-refused',
        bootstrapBrokers: [broker],
        serializers: stringSerializers,
        retries: 0,
        sasl: await sasl(await token({ clusterId: 'another-cluster' })),
      });
      try {
        await assert.rejects(refused.send({ messages: [{ topic: 'secured', value: 'must not land' }] }));
      } finally {
        await refused.close().catch(() => undefined);
      }
      assert.equal(await highWatermark('secured'), before + 1);
    });
  }
});
