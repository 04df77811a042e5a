import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DeleteItemCommand } from '@aws-sdk/client-dynamodb';
import { createStreambed } from '../../lib/adapters/aws.ts';
import { HttpTransport } from '../../lib/client/http-transport.ts';
import { StreambedClient, UnknownOutcomeError } from '../../lib/client/index.ts';
import { OutOfOrderSequenceError } from '../../lib/core/errors.ts';
import type { Streambed } from '../../lib/engine/streambed.ts';
import { call, localApi } from '../support/http.ts';
import { bytes } from '../support/stack.ts';

/**
 * One produce request carries every partition's batch, and each partition appends on its own: when
 * one partition refuses, the others may be in. The server says which (`appendedPartitions`), and the
 * SDK's idempotent producer never sends such a request again under a new producer id.
 */
describe('a produce request refused on one partition and appended on another (MinIO + DynamoDB Local)', () => {
  let api: Awaited<ReturnType<typeof localApi>>;
  let url: string;
  let engine: Streambed;
  before(async () => {
    api = await localApi();
    url = api.url;
    engine = createStreambed(api.config);
  });
  after(() => api.close());

  const values = async (topic: string, partition: number) => {
    const { records } = await engine.fetch({ topic, partition, offset: 0, maxRecords: 1000 });
    return records.map((r) => new TextDecoder().decode(r.value));
  };

  test('the engine names the partitions it appended on the error it throws', async () => {
    const log = engine;
    await log.createTopic({ name: 'split', partitions: 2 });
    const p = await log.initProducer();
    const request = (sequences: Record<number, number>, tag: string) => ({
      topic: 'split',
      records: [
        { value: bytes(`${tag}-p0`), partition: 0 },
        { value: bytes(`${tag}-p1`), partition: 1 },
      ],
      producer: { producerId: p.producerId, epoch: p.epoch, sequences },
    });
    await log.produce(request({ 0: 0, 1: 0 }, 'a'));
    // Partition 0 is given a gap (sequence 5, expected 1); partition 1 is in order.
    const error = await log.produce(request({ 0: 5, 1: 1 }, 'b')).catch((e: unknown) => e);
    assert.ok(error instanceof OutOfOrderSequenceError, String(error));
    assert.deepEqual(error.appendedPartitions, [1]);
    assert.deepEqual(await values('split', 0), ['a-p0']);
    assert.deepEqual(await values('split', 1), ['a-p1', 'b-p1']);
    // Refused on both: none appended.
    const both = await log.produce(request({ 0: 9, 1: 9 }, 'c')).catch((e: unknown) => e);
    assert.deepEqual((both as OutOfOrderSequenceError).appendedPartitions, []);
  });

  test('the HTTP error says appendedPartitions, as the OpenAPI document describes it', async () => {
    const p = (await call(url, 'POST', '/producers', { json: {} })).body as {
      producerId: string;
      producerEpoch: number;
    };
    const body = (sequence: Record<string, number>, tag: string) => ({
      records: [
        { value: `${tag}-p0`, partition: 0 },
        { value: `${tag}-p1`, partition: 1 },
      ],
      producerId: p.producerId,
      producerEpoch: p.producerEpoch,
      sequence,
    });
    assert.equal(
      (await call(url, 'POST', '/topics/split/records', { json: body({ 0: 0, 1: 0 }, 'h') })).status,
      200,
    );
    const refused = await call(url, 'POST', '/topics/split/records', { json: body({ 0: 7, 1: 1 }, 'i') });
    assert.equal(refused.status, 409);
    const error = (refused.body as { error: { code: string; appendedPartitions?: number[] } }).error;
    assert.equal(error.code, 'OutOfOrderSequence');
    assert.deepEqual(error.appendedPartitions, [1]);
  });

  test('the SDK producer over HTTP: a request appended in part fails with UnknownOutcome, lands once, and the producer goes on', async () => {
    await engine.createTopic({ name: 'sdk-split', partitions: 2 });
    const client = new StreambedClient({ transport: new HttpTransport({ endpoint: url, auth: 'none' }) });
    const producer = client.producer({ lingerMs: 0 });
    const send = async (tag: string) =>
      await Promise.all([
        producer.send({ topic: 'sdk-split', partition: 0, value: `${tag}-p0` }),
        producer.send({ topic: 'sdk-split', partition: 1, value: `${tag}-p1` }),
      ]);
    // lingerMs 0 still puts the two records in one request when they are sent together.
    for (const r of await send('a')) await r.delivered;
    // Partition 0 forgets the producer (its state item gone, as after the expiration).
    const topicId = (await engine.describeTopic('sdk-split')).id;
    const producerId = (producer as unknown as { sequencer: { identity: { producerId: string } } }).sequencer
      .identity.producerId;
    await api.config.dynamodb.send(
      new DeleteItemCommand({
        TableName: api.tables.log,
        Key: { pk: { S: `${topicId}#0#p` }, sk: { N: producerId } },
      }),
    );
    const outcomes = await Promise.all(
      (await send('b')).map((r) =>
        r.delivered.then(
          () => 'ok',
          (e: unknown) => e,
        ),
      ),
    );
    const lost = outcomes.filter((o) => o !== 'ok');
    assert.ok(lost.length > 0, 'the request that partition 0 refused failed');
    for (const e of lost) assert.ok(e instanceof UnknownOutcomeError, String(e));
    for (const r of await send('c')) await r.delivered;
    await producer.close();
    await client.close();
    const p0 = await values('sdk-split', 0);
    const p1 = await values('sdk-split', 1);
    for (const log of [p0, p1]) assert.equal(new Set(log).size, log.length, `no duplicates: ${log}`);
    assert.deepEqual(p0, ['a-p0', 'c-p0']);
    assert.deepEqual(p1, ['a-p1', 'b-p1', 'c-p1']);
  });
});
