import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { freePort } from '../../lib/harness/process.ts';
import { startLocal, stopLocal } from '../support/local-start.ts';

describe('kafkajs 2.2.4 against the Kafka door of npm start', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'streambed-kafkajs-'));
  let child: Awaited<ReturnType<typeof startLocal>>['child'] | undefined;
  let http = '';
  let kafka: Kafka;
  let admin: Admin;

  before(async () => {
    const [port, kafkaPort] = [await freePort(), await freePort()];
    const started = await startLocal(port, dataDir, {}, ['--kafka-port', String(kafkaPort)]);
    child = started.child;
    http = `http://127.0.0.1:${port}`;
    kafka = new Kafka({
      brokers: [`127.0.0.1:${kafkaPort}`],
      clientId: 'interop',
      logLevel: logLevel.NOTHING,
      retry: { retries: 2, initialRetryTime: 100 },
    });
    admin = kafka.admin();
    await admin.connect();
  });
  after(async () => {
    await admin?.disconnect();
    if (child !== undefined) await stopLocal(child);
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('admin creates a topic with Kafka configs, describes them under Kafka names, and deletes it', async () => {
    const created = await admin.createTopics({
      topics: [
        { topic: 'admin-a', numPartitions: 4, configEntries: [{ name: 'retention.ms', value: '3600000' }] },
      ],
    });
    assert.equal(created, true);
    const meta = await admin.fetchTopicMetadata({ topics: ['admin-a'] });
    assert.equal(meta.topics[0]?.partitions.length, 4);
    const described = await admin.describeConfigs({
      resources: [{ type: 2, name: 'admin-a', configNames: ['retention.ms', 'cleanup.policy'] }],
      includeSynonyms: false,
    });
    const entries = Object.fromEntries(
      (described.resources[0]?.configEntries ?? []).map((e) => [e.configName, e.configValue]),
    );
    assert.deepEqual(entries, { 'retention.ms': '3600000', 'cleanup.policy': 'delete' });
    const topicsOverHttp = (await (await fetch(`${http}/topics/admin-a`)).json()) as {
      config: { retentionMs: number };
    };
    assert.equal(topicsOverHttp.config.retentionMs, 3_600_000);
    await admin.deleteTopics({ topics: ['admin-a'] });
    assert.ok(!(await admin.listTopics()).includes('admin-a'));
  });

  test('admin createTopics for an existing topic creates nothing, and createPartitions is refused with INVALID_REQUEST', async () => {
    await admin.createTopics({ topics: [{ topic: 'admin-b', numPartitions: 2 }] });
    // kafkajs reads TOPIC_ALREADY_EXISTS as "nothing created": false.
    assert.equal(await admin.createTopics({ topics: [{ topic: 'admin-b', numPartitions: 2 }] }), false);
    await assert.rejects(
      admin.createPartitions({ topicPartitions: [{ topic: 'admin-b', count: 4 }] }),
      // kafkajs shows the code's text; the response's errorMessage (unit-tested) says topics cannot grow.
      (error: Error & { type?: string }) => error.type === 'INVALID_REQUEST',
    );
  });

  test('an idempotent producer with retries appends each record once; offsets by timestamp and latest match what was produced', async () => {
    await admin.createTopics({ topics: [{ topic: 'idem', numPartitions: 2 }] });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: { retries: 5 } });
    await producer.connect();
    try {
      const before = Date.now();
      for (let i = 0; i < 5; i++) {
        await producer.send({
          topic: 'idem',
          messages: [
            { key: `k${i}`, value: `v${i}`, partition: 0, headers: { n: String(i) } },
            { key: `j${i}`, value: `w${i}`, partition: 1 },
          ],
        });
      }
      const offsets = await admin.fetchTopicOffsets('idem');
      assert.deepEqual(
        offsets.map((o) => [o.partition, o.low, o.high]),
        [
          [0, '0', '5'],
          [1, '0', '5'],
        ],
      );
      const byTime = await admin.fetchTopicOffsetsByTimestamp('idem', before - 1000);
      assert.deepEqual(
        byTime.map((o) => [o.partition, o.offset]),
        [
          [0, '0'],
          [1, '0'],
        ],
      );
      // Over HTTP, the same records with the producer's headers and the producer's id recorded once each.
      const body = (await (await fetch(`${http}/topics/idem/partitions/0/records?offset=0`)).json()) as {
        records: { key: string; headers: Record<string, string> }[];
      };
      assert.deepEqual(
        body.records.map((r) => [r.key, r.headers.n]),
        [0, 1, 2, 3, 4].map((i) => [`k${i}`, String(i)]),
      );
    } finally {
      await producer.disconnect();
    }
  });

  test('producing to a topic that does not exist fails with UNKNOWN_TOPIC_OR_PARTITION and creates nothing', async () => {
    const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 1 } });
    await producer.connect();
    try {
      await assert.rejects(
        producer.send({ topic: 'missing-topic', messages: [{ value: 'x' }] }),
        /does not host this topic-partition|UNKNOWN_TOPIC|not exist/i,
      );
    } finally {
      await producer.disconnect();
    }
    assert.ok(!(await admin.listTopics()).includes('missing-topic'));
  });

  test('a transactional producer is refused at once with a clear error (no transactions), and appends nothing', async () => {
    await admin.createTopics({ topics: [{ topic: 'txn-refused', numPartitions: 1 }] });
    const producer = kafka.producer({ transactionalId: 'tx-1', maxInFlightRequests: 1, idempotent: true });
    try {
      // kafkajs looks for the transaction coordinator first; FindCoordinator key type 1 is answered
      // INVALID_REQUEST ("Streambed has no transactions"), which it does not retry: no hang.
      await assert.rejects(
        (async () => {
          await producer.connect();
          const transaction = await producer.transaction();
          await transaction.send({ topic: 'txn-refused', messages: [{ value: 'x' }] });
          await transaction.commit();
        })(),
        /coordinator/i,
      );
    } finally {
      await producer.disconnect();
    }
    const described = (await (await fetch(`${http}/topics/txn-refused`)).json()) as {
      partitionStates: { highWatermark: number }[];
    };
    assert.equal(described.partitionStates[0]?.highWatermark, 0);
  });
});
