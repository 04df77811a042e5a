import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ProducerFencedError, RequestTooLargeError, StreambedClient } from '../../lib/client/index.ts';
import { partitionForKey } from '../../lib/core/partitioner.ts';
import { FakeServer } from '../support/fake-produce-server.ts';

async function sendAll(
  server: FakeServer,
  options: Parameters<StreambedClient['producer']>[0],
  count: number,
  keys = 7,
) {
  const producer = new StreambedClient({ transport: server.transport() }).producer(options);
  const deliveries = [];
  for (let i = 0; i < count; i++) {
    const key = `k${i % keys}`;
    deliveries.push({
      key,
      n: Math.floor(i / keys),
      ...(await producer.send({ topic: 't', key, value: `${key}:${Math.floor(i / keys)}` })),
    });
  }
  return { producer, deliveries };
}

/** Each key's values in the logs: once each, in order, and only those delivered. */
function assertInOrder(server: FakeServer, delivered: Set<string>): void {
  const all = server.logs.flat();
  assert.equal(all.length, new Set(all).size, 'no duplicates');
  assert.deepEqual(new Set(all), delivered);
  for (const log of server.logs) {
    const last = new Map<string, number>();
    for (const value of log) {
      const [key, n] = value.split(':') as [string, string];
      assert.ok(Number(n) > (last.get(key) ?? -1), `${value} after ${last.get(key)}`);
      last.set(key, Number(n));
    }
  }
}

describe('Producer against an in-memory server with the engine idempotence rules', () => {
  test('keys go where the server partitioner would put them, and pipelined requests that overtake each other land in order', async () => {
    const server = new FakeServer(3);
    const { producer, deliveries } = await sendAll(server, { lingerMs: 1, batchRecords: 20 }, 1_000);
    await producer.close();
    for (const d of deliveries) {
      const meta = await d.delivered;
      assert.equal(meta.partition, partitionForKey(new TextEncoder().encode(d.key), 3));
      assert.equal(server.logs[meta.partition]?.[meta.offset], `${d.key}:${d.n}`);
    }
    assertInOrder(server, new Set(deliveries.map((d) => `${d.key}:${d.n}`)));
  });

  test('an expired producer id (UnknownProducerId) gets a new one; every record still lands once, in order', async () => {
    const server = new FakeServer(2);
    server.before = (call) => {
      if (call === 6) server.issued.clear(); // the registration expires
    };
    const { producer, deliveries } = await sendAll(server, { lingerMs: 1, batchRecords: 25 }, 600, 5);
    await producer.close();
    assert.ok(server.nextId > 2, 'a second producer id was issued');
    assertInOrder(server, new Set(deliveries.map((d) => `${d.key}:${d.n}`)));
  });

  test('a request refused for good fails its records; later pipelined ones are renumbered and land once, in order', async () => {
    const server = new FakeServer(2);
    server.before = (call) => {
      if (call === 4) throw new RequestTooLargeError('refused for good');
    };
    const { producer, deliveries } = await sendAll(server, { lingerMs: 1, batchRecords: 30 }, 600, 5);
    await assert.rejects(producer.flush(), AggregateError);
    const outcomes = await Promise.allSettled(deliveries.map((d) => d.delivered));
    const failed = outcomes.filter((o) => o.status === 'rejected');
    assert.equal(failed.length, 30, 'the records of the refused request');
    for (const f of failed) assert.ok((f as PromiseRejectedResult).reason instanceof RequestTooLargeError);
    assert.ok(server.nextId > 2, 'the sequence gap was healed under a new producer id');
    const ok = deliveries.filter((_, i) => outcomes[i]?.status === 'fulfilled');
    assertInOrder(server, new Set(ok.map((d) => `${d.key}:${d.n}`)));
    await producer.close();
  });

  test('a fenced producer fails everything buffered and refuses further sends', async () => {
    const server = new FakeServer(1);
    server.before = (call) => {
      if (call >= 2) throw new ProducerFencedError('fenced by epoch 1');
    };
    const { producer, deliveries } = await sendAll(
      server,
      { lingerMs: 1, batchRecords: 10, maxInFlight: 1 },
      50,
      1,
    );
    await assert.rejects(producer.flush());
    const outcomes = await Promise.allSettled(deliveries.map((d) => d.delivered));
    assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 10);
    await assert.rejects(producer.send({ topic: 't', value: 'late' }), ProducerFencedError);
  });
});
