import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildJar, KAFKA_CLIENTS_VERSION, scenario } from '../java/interop.ts';
import { type LocalKafka, startLocalKafka } from '../support/local-start.ts';

describe(`what the Kafka door does not serve, as the Java client (kafka-clients ${KAFKA_CLIENTS_VERSION}) meets it`, () => {
  let local: LocalKafka | undefined;
  let bootstrap = '';
  let http = '';

  before(async () => {
    buildJar();
    local = await startLocalKafka('kafka-java-unsupported');
    ({ http, bootstrap } = local);
  });
  after(async () => {
    await local?.stop();
  });

  test('transactions, KIP-848 consumer groups and share groups each fail at once with a clear error, never a hang, and nothing is written', async () => {
    const res = await fetch(`${http}/topics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'java-unsupported', partitions: 1 }),
    });
    assert.equal(res.status, 201);
    const lines = await scenario(bootstrap, 'unsupported', 'java-unsupported');
    const by = new Map(lines.map((l) => [l.feature, l]));
    // A hang would end in the client's own TimeoutException after 15 s; these are the server's answers.
    // initTransactions: FindCoordinator for a transaction coordinator is refused (INVALID_REQUEST, with why).
    assert.equal(by.get('transactions')?.error, 'KafkaException');
    assert.match(String(by.get('transactions')?.message), /Streambed has no transactions/);
    // The new consumer protocol and share groups: their APIs are not in ApiVersions, so the client refuses.
    assert.equal(by.get('consumer-protocol')?.error, 'UnsupportedVersionException');
    assert.match(String(by.get('consumer-protocol')?.message), /CONSUMER_GROUP_HEARTBEAT/);
    assert.equal(by.get('share-group')?.error, 'UnsupportedVersionException');
    assert.match(String(by.get('share-group')?.message), /SHARE_GROUP_HEARTBEAT/);
    const described = (await (await fetch(`${http}/topics/java-unsupported`)).json()) as {
      partitionStates: { highWatermark: number }[];
    };
    assert.equal(described.partitionStates[0]?.highWatermark, 0);
  });
});
