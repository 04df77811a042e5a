import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  ListStreamsCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { startLocalConsumers } from '../../functions/local/consumers.ts';
import { serveLocalApi } from '../../functions/local/stack.ts';
import { createStreambed } from '../../lib/adapters/aws.ts';
import { localClients } from '../../lib/adapters/clients.ts';
import { RequestCounter } from '../../lib/adapters/request-counter.ts';
import { endpointsFromEnv, type ServiceEndpoints } from '../../lib/harness/services.ts';
import { deliveries } from '../fixtures/arrival-consumer.ts';
import { bytes, type TestStack, testStack } from '../support/stack.ts';

const HANDLER = `${fileURLToPath(new URL('../fixtures/arrival-consumer.ts', import.meta.url))}#handler`;
/** Long enough for the poller's fast reads after activity (10+20+40+80+160 ms) to be over. */
const IDLE_MS = 1_000;
/** No sweep during a test: a record that arrives came through the stream. */
const NO_SWEEP = 600_000;

/** Every (topic, offset) the fixture handler was invoked with, in this test file. */
const seen = new Set<string>();
deliveries.add((topic, _partition, offset) => seen.add(`${topic}@${offset}`));

/** Resolves once the fixture handler has been invoked with (topic, partition 0, offset). */
async function delivered(topic: string, offset: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!seen.has(`${topic}@${offset}`)) {
    if (Date.now() > deadline) throw new Error(`${topic}@${offset} never reached its handler`);
    await sleep(10);
  }
}

function streamsClient(endpoints: ServiceEndpoints): DynamoDBStreamsClient {
  return new DynamoDBStreamsClient({
    endpoint: endpoints.dynamoDbEndpoint,
    region: endpoints.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

describe('arrival: produce acknowledged → local handler invoked', () => {
  let stack: TestStack;
  let endpoints: ServiceEndpoints;
  const dir = mkdtempSync(join(tmpdir(), 'streambed-arrival-'));
  before(async () => {
    stack = await testStack();
    const found = endpointsFromEnv();
    assert.ok(found);
    endpoints = found;
  });
  after(() => {
    stack.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A topic with one partition and a consumers file whose one consumer reads it from the latest offset. */
  async function consumersFile(topic: string): Promise<string> {
    await stack.engine().createTopic({ name: topic, partitions: 1 });
    const file = join(dir, `${topic}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        consumers: [{ group: `g-${topic}`, topic, handler: HANDLER, startingPosition: 'latest' }],
      }),
    );
    return file;
  }

  const produceOne = async (log: ReturnType<TestStack['engine']>, topic: string) =>
    (await log.produce({ topic, records: [{ value: bytes('x') }] })).offsets[0]?.offset ?? -1;

  test('records produced after idle periods are delivered by the wake of their commit, though the poll pauses ten minutes', async () => {
    const topic = 'after-idle';
    const consumers = await startLocalConsumers({
      endpoints,
      config: stack.config,
      file: await consumersFile(topic),
      pollMs: 600_000,
      sweepMs: NO_SWEEP,
      log: () => {},
    });
    try {
      const log = stack.engine();
      for (let i = 0; i < 3; i++) {
        await sleep(IDLE_MS);
        const offset = await produceOne(log, topic);
        assert.equal(offset, i);
        await delivered(topic, offset);
      }
    } finally {
      await consumers.stop();
    }
  });

  test('a record produced over the local HTTP API (npm start wiring) wakes the poller', async () => {
    const api = await serveLocalApi({
      endpoints,
      bucket: `${stack.bucket}-api`,
      tables: { log: `${stack.tables.log}-api`, meta: `${stack.tables.meta}-api` },
    });
    const topic = 'over-http';
    const file = join(dir, `${topic}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        consumers: [{ group: `g-${topic}`, topic, handler: HANDLER, startingPosition: 'latest' }],
      }),
    );
    const post = (path: string, body: unknown) =>
      fetch(`${api.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    assert.equal((await post('/topics', { name: topic, partitions: 1 })).status, 201);
    const consumers = await startLocalConsumers({
      endpoints,
      config: api.config,
      file,
      pollMs: 600_000,
      sweepMs: NO_SWEEP,
      log: () => {},
    });
    try {
      await sleep(IDLE_MS);
      const response = await post(`/topics/${topic}/records`, { records: [{ value: 'hello' }] });
      assert.equal(response.status, 200);
      await delivered(topic, 0);
    } finally {
      await consumers.stop();
      await api.close();
    }
  });

  test('a commit that wakes nobody is delivered by the poll: another client, or wakes turned off', async () => {
    const topic = 'unannounced';
    const consumers = await startLocalConsumers({
      endpoints,
      config: stack.config,
      file: await consumersFile(topic),
      sweepMs: NO_SWEEP,
      log: () => {},
    });
    // An engine over clients of its own: the consumer runner does not watch them.
    const other = localClients(endpoints);
    try {
      const elsewhere = createStreambed({ ...stack.config, s3: other.s3, dynamodb: other.dynamodb });
      for (let i = 0; i < 2; i++) {
        await sleep(IDLE_MS);
        await delivered(topic, await produceOne(elsewhere, topic));
      }
    } finally {
      await consumers.stop();
      other.s3.destroy();
      other.dynamodb.destroy();
    }

    const quiet = 'wake-off';
    const polled = await startLocalConsumers({
      endpoints,
      config: stack.config,
      file: await consumersFile(quiet),
      wakeOnCommit: false,
      sweepMs: NO_SWEEP,
      log: () => {},
    });
    try {
      await sleep(IDLE_MS);
      await delivered(quiet, await produceOne(stack.engine(), quiet));
    } finally {
      await polled.stop();
    }
  });

  test('an idle poller reads no more often than the old fixed 200 ms pause, before and after traffic', async (t) => {
    const streams = streamsClient(endpoints);
    const counter = new RequestCounter().attach(streams as unknown as DynamoDBClient);
    // DescribeTable (shard discovery) goes through the table client; nothing else sends it.
    const tableCounter = new RequestCounter().attach(stack.dynamodb);
    const { StreamDescription } = await streams.send(
      new DescribeStreamCommand({
        StreamArn:
          (await streams.send(new ListStreamsCommand({ TableName: stack.tables.log }))).Streams?.[0]
            ?.StreamArn ?? '',
      }),
    );
    const openShards = (StreamDescription?.Shards ?? []).filter(
      (s) => s.SequenceNumberRange?.EndingSequenceNumber === undefined,
    ).length;
    assert.ok(openShards >= 1);

    /** Requests over an idle window, and the most the old poller could send in it. */
    async function idleWindow(what: string) {
      await sleep(IDLE_MS);
      counter.reset();
      tableCounter.reset();
      const start = performance.now();
      await sleep(4_000);
      const counts = counter.snapshot();
      const describeTable = tableCounter.snapshot().DescribeTable ?? 0;
      const elapsed = performance.now() - start;
      // The old loop: one GetRecords per shard, then 200 ms; shard discovery every 10 rounds.
      const rounds = Math.floor(elapsed / 200) + 1;
      const oldMax = { getRecords: openShards * rounds, discoveries: Math.floor(rounds / 10) + 1 };
      t.diagnostic(
        `${what}: ${JSON.stringify(counts)}, DescribeTable ${describeTable} in ${Math.round(elapsed)} ms ` +
          `(${((1000 * (counts.GetRecords ?? 0)) / elapsed).toFixed(2)} GetRecords/s; old poller at most ${JSON.stringify(oldMax)})`,
      );
      assert.ok((counts.GetRecords ?? 0) <= oldMax.getRecords, `${what}: ${JSON.stringify(counts)}`);
      assert.ok((counts.DescribeStream ?? 0) <= oldMax.discoveries, `${what}: ${JSON.stringify(counts)}`);
      assert.ok(describeTable <= oldMax.discoveries, `${what}: DescribeTable ${describeTable}`);
      assert.equal(counts.GetShardIterator ?? 0, 0, 'no new shards while idle');
    }

    const topic = 'idle-rate';
    const consumers = await startLocalConsumers({
      endpoints,
      config: stack.config,
      file: await consumersFile(topic),
      sweepMs: NO_SWEEP,
      streams,
      log: () => {},
    });
    try {
      await idleWindow('idle since start');
      await delivered(topic, await produceOne(stack.engine(), topic));
      await idleWindow('idle after a delivery');
    } finally {
      await consumers.stop();
      streams.destroy();
    }
  });
});
