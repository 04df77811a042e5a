import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { localClients } from '../../lib/adapters/clients.ts';
import { call, localApi } from '../support/http.ts';

describe('the HTTP API end to end over real HTTP (local stack on MinIO + DynamoDB Local)', () => {
  let api: Awaited<ReturnType<typeof localApi>>;
  let url: string;
  before(async () => {
    api = await localApi();
    url = api.url;
  });
  after(async () => await api.close());

  test('topics: create, list, describe, delete', async () => {
    const created = await call(url, 'POST', '/topics', {
      json: { name: 'e2e', partitions: 3, config: { compression: 'gzip' } },
    });
    assert.equal(created.status, 201);
    assert.equal(created.body.name, 'e2e');
    assert.equal(created.body.config.compression, 'gzip');
    const listed = await call(url, 'GET', '/topics');
    assert.deepEqual(
      listed.body.topics.map((t: { name: string }) => t.name),
      ['e2e'],
    );
    const described = await call(url, 'GET', '/topics/e2e');
    assert.equal(described.status, 200);
    assert.equal(described.body.partitionStates.length, 3);
    const dup = await call(url, 'POST', '/topics', { json: { name: 'e2e', partitions: 1 } });
    assert.deepEqual([dup.status, dup.body.error.code], [409, 'TopicAlreadyExists']);
    const deleted = await call(url, 'DELETE', '/topics/e2e');
    assert.equal(deleted.status, 204);
    const gone = await call(url, 'GET', '/topics/e2e');
    assert.deepEqual([gone.status, gone.body.error.code], [404, 'UnknownTopic']);
  });

  test('DeleteRecords moves the log start: reads below answer 416 naming the earliest offset', async () => {
    await call(url, 'POST', '/topics', { json: { name: 'trimmed', partitions: 1 } });
    await call(url, 'POST', '/topics/trimmed/records', {
      json: { records: ['a', 'b', 'c', 'd'].map((value) => ({ value })) },
    });
    const deleted = await call(url, 'DELETE', '/topics/trimmed/partitions/0/records?before=2');
    assert.deepEqual([deleted.status, deleted.body], [200, { logStartOffset: 2 }]);
    const below = await call(url, 'GET', '/topics/trimmed/partitions/0/records?offset=1');
    assert.deepEqual([below.status, below.body.error.code], [416, 'OffsetOutOfRange']);
    assert.match(below.body.error.message, /log start offset 2, the earliest offset/);
    const read = await call(url, 'GET', '/topics/trimmed/partitions/0/records?offset=2');
    assert.deepEqual(
      read.body.records.map((r: { value: string }) => r.value),
      ['c', 'd'],
    );
    const all = await call(url, 'DELETE', '/topics/trimmed/partitions/0/records?before=-1');
    assert.deepEqual([all.status, all.body], [200, { logStartOffset: 4 }]);
  });

  test('produce then fetch: JSON values come back as JSON, binary as base64, offsets in request order', async () => {
    await call(url, 'POST', '/topics', { json: { name: 'orders', partitions: 4 } });
    const values = [{ total: 12, items: ['a', 'é'] }, 'text', 42, null, [1, 2], true];
    const produced = await call(url, 'POST', '/topics/orders/records', {
      json: {
        records: [
          ...values.map((value, i) => ({
            value,
            partition: 1,
            headers: { i: String(i) },
            timestamp: 1000 + i,
          })),
          { valueBase64: Buffer.from([0, 1, 2, 255]).toString('base64'), partition: 1, key: 'bin' },
          { key: 'customer-42', value: { keyed: true } },
        ],
      },
    });
    assert.equal(produced.status, 200);
    assert.deepEqual(
      produced.body.offsets.slice(0, 7).map((o: { offset: number }) => o.offset),
      [0, 1, 2, 3, 4, 5, 6],
    );
    const fetched = await call(url, 'GET', '/topics/orders/partitions/1/records?offset=0');
    assert.equal(fetched.status, 200);
    assert.deepEqual(
      fetched.body.records.slice(0, 6).map((r: { value: unknown }) => r.value),
      values,
    );
    assert.deepEqual(fetched.body.records[0].headers, { i: '0' });
    assert.equal(fetched.body.records[0].timestamp, 1000);
    assert.equal(fetched.body.records[0].key, null);
    const binary = fetched.body.records[6];
    assert.equal(binary.value, undefined);
    assert.equal(binary.valueBase64, Buffer.from([0, 1, 2, 255]).toString('base64'));
    assert.equal(binary.key, 'bin');
    const mid = await call(url, 'GET', '/topics/orders/partitions/1/records?offset=4&maxRecords=2');
    assert.deepEqual(
      mid.body.records.map((r: { offset: number }) => r.offset),
      [4, 5],
    );
    assert.equal(mid.body.nextOffset, 6);
    const past = await call(url, 'GET', '/topics/orders/partitions/1/records?offset=100');
    const onPartition1 = produced.body.offsets.filter((o: { partition: number }) => o.partition === 1).length;
    assert.deepEqual([past.body.records.length, past.body.highWatermark], [0, onPartition1]);
  });

  test('a compacted topic: created with cleanupPolicy, a tombstone is produced and fetched as value null', async () => {
    const created = await call(url, 'POST', '/topics', {
      json: {
        name: 'profiles',
        partitions: 1,
        config: { cleanupPolicy: 'delete,compact', deleteRetentionMs: 60_000 },
      },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const described = await call(url, 'GET', '/topics/profiles');
    assert.equal(described.body.config.cleanupPolicy, 'compact,delete');
    assert.equal(described.body.config.deleteRetentionMs, 60_000);
    const produced = await call(url, 'POST', '/topics/profiles/records', {
      json: {
        records: [
          { key: 'u1', value: { name: 'Ada' } },
          { key: 'u1', value: null },
        ],
      },
    });
    assert.equal(produced.status, 200, JSON.stringify(produced.body));
    const fetched = await call(url, 'GET', '/topics/profiles/partitions/0/records?offset=0');
    assert.deepEqual(
      fetched.body.records.map((r: { key: string; value: unknown }) => [r.key, r.value]),
      [
        ['u1', { name: 'Ada' }],
        ['u1', null],
      ],
    );
    assert.equal(fetched.body.records[1].valueBase64, undefined);
  });

  test('list offsets: earliest, latest, by timestamp', async () => {
    await call(url, 'POST', '/topics', { json: { name: 'clock', partitions: 1 } });
    await call(url, 'POST', '/topics/clock/records', {
      json: { records: [100, 200, 300].map((timestamp) => ({ value: timestamp, timestamp })) },
    });
    const at = async (spec: string) =>
      (await call(url, 'GET', `/topics/clock/partitions/0/offsets?at=${spec}`)).body.offset;
    assert.equal(await at('earliest'), 0);
    assert.equal(await at('latest'), 3);
    assert.equal(await at('150'), 1);
    assert.equal(await at('301'), null);
  });

  test('below the log start a fetch is 416 OffsetOutOfRange', async () => {
    await call(url, 'POST', '/topics', { json: { name: 'trimmed', partitions: 1 } });
    await call(url, 'POST', '/topics/trimmed/records', { json: { records: [{ value: 1 }, { value: 2 }] } });
    const topic = (await call(url, 'GET', '/topics/trimmed')).body;
    const { dynamodb } = localClients(api.endpoints);
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: api.tables.log,
        Key: { pk: { S: `${topic.id}#0` }, sk: { N: '-1' } },
        UpdateExpression: 'SET #s = :s',
        ExpressionAttributeNames: { '#s': 'start' },
        ExpressionAttributeValues: { ':s': { N: '1' } },
      }),
    );
    dynamodb.destroy();
    const below = await call(url, 'GET', '/topics/trimmed/partitions/0/records?offset=0');
    assert.deepEqual([below.status, below.body.error.code], [416, 'OffsetOutOfRange']);
  });

  test('POST /producers issues ids; a transactionalId bumps its epoch and fences the previous holder', async () => {
    const a = await call(url, 'POST', '/producers', { json: {} });
    const b = await call(url, 'POST', '/producers', { json: {} });
    assert.equal(a.status, 200);
    assert.match(a.body.producerId, /^[1-9][0-9]*$/);
    assert.equal(a.body.producerEpoch, 0);
    assert.notEqual(a.body.producerId, b.body.producerId);
    const t0 = await call(url, 'POST', '/producers', { json: { transactionalId: 'billing-writer' } });
    const t1 = await call(url, 'POST', '/producers', { json: { transactionalId: 'billing-writer' } });
    assert.deepEqual(t1.body, { producerId: t0.body.producerId, producerEpoch: t0.body.producerEpoch + 1 });
  });

  test('idempotent produce over HTTP: a retry returns the original offsets; unknown ids and old epochs are refused', async () => {
    await call(url, 'POST', '/topics', { json: { name: 'idem', partitions: 2 } });
    const issued = await call(url, 'POST', '/producers', { json: { transactionalId: 'idem-writer' } });
    const body = {
      records: [{ value: 'x', partition: 1 }],
      producerId: issued.body.producerId,
      producerEpoch: issued.body.producerEpoch,
      sequence: 0,
    };
    const first = await call(url, 'POST', '/topics/idem/records', { json: body });
    const retry = await call(url, 'POST', '/topics/idem/records', { json: body });
    assert.equal(first.status, 200);
    assert.deepEqual(retry.body, first.body);
    const gap = await call(url, 'POST', '/topics/idem/records', { json: { ...body, sequence: 5 } });
    assert.deepEqual([gap.status, gap.body.error.code], [409, 'OutOfOrderSequence']);
    const unknown = await call(url, 'POST', '/topics/idem/records', {
      json: { ...body, producerId: 'app-1' },
    });
    assert.deepEqual([unknown.status, unknown.body.error.code], [400, 'UnknownProducerId']);
    const bumped = await call(url, 'POST', '/producers', { json: { transactionalId: 'idem-writer' } });
    const stale = await call(url, 'POST', '/topics/idem/records', { json: { ...body, sequence: 1 } });
    assert.deepEqual([stale.status, stale.body.error.code], [409, 'ProducerFenced']);
    const current = await call(url, 'POST', '/topics/idem/records', {
      json: { ...body, producerEpoch: bumped.body.producerEpoch, sequence: 0 },
    });
    assert.equal(current.status, 200);
    const latest = await call(url, 'GET', '/topics/idem/partitions/1/offsets?at=latest');
    assert.equal(latest.body.offset, 2);
  });

  test('groups: commit, read with lag, list; a stale generation is 409', async () => {
    await call(url, 'POST', '/topics', { json: { name: 'lagging', partitions: 2 } });
    await call(url, 'POST', '/topics/lagging/records', {
      json: { records: Array.from({ length: 5 }, (_, i) => ({ value: i, partition: 0 })) },
    });
    const commit = await call(url, 'PUT', '/groups/billing/offsets', {
      json: { topic: 'lagging', offsets: [{ partition: 0, offset: 2, metadata: 'm' }], generation: 2 },
    });
    assert.equal(commit.status, 200);
    const read = await call(url, 'GET', '/groups/billing/offsets?topic=lagging');
    assert.deepEqual(
      read.body.offsets.map((o: { partition: number; offset: number; lag: number; metadata: string }) => [
        o.partition,
        o.offset,
        o.lag,
        o.metadata,
      ]),
      [[0, 2, 3, 'm']],
    );
    const stale = await call(url, 'PUT', '/groups/billing/offsets', {
      json: { topic: 'lagging', offsets: [{ partition: 0, offset: 4 }], generation: 1 },
    });
    assert.deepEqual([stale.status, stale.body.error.code], [409, 'StaleGeneration']);
    const groups = await call(url, 'GET', '/groups');
    assert.deepEqual(groups.body.groups, ['billing']);
    const unknown = await call(url, 'GET', '/groups/nobody/offsets?topic=lagging');
    assert.deepEqual([unknown.status, unknown.body.error.code], [404, 'UnknownGroup']);
  });

  test('pull members over HTTP: join, heartbeat, commit fenced by the lease, leave', async () => {
    await call(url, 'POST', '/topics', { json: { name: 'pulled', partitions: 2 } });
    await call(url, 'POST', '/topics/pulled/records', { json: { records: [{ value: 1, partition: 0 }] } });
    const a = await call(url, 'POST', '/groups/readers/members', {
      json: { topic: 'pulled', memberId: 'a' },
    });
    assert.equal(a.status, 200);
    assert.equal(a.body.assignments.length, 2);
    const b = await call(url, 'POST', '/groups/readers/members', {
      json: { topic: 'pulled', memberId: 'b' },
    });
    assert.equal(b.status, 200);
    const beat = await call(url, 'POST', '/groups/readers/members/b/heartbeat', {
      json: { topic: 'pulled' },
    });
    assert.equal(beat.body.assignments.length, 1);
    const owned = beat.body.assignments[0];
    const ok = await call(url, 'PUT', '/groups/readers/members/b/offsets', {
      json: {
        topic: 'pulled',
        offsets: [{ partition: owned.partition, offset: 1, leaseCounter: owned.leaseCounter }],
      },
    });
    assert.equal(ok.status, 200);
    const stale = await call(url, 'PUT', '/groups/readers/members/a/offsets', {
      json: { topic: 'pulled', offsets: [{ partition: owned.partition, offset: 1 }] },
    });
    assert.deepEqual([stale.status, stale.body.error.code], [409, 'LeaseLost']);
    const left = await call(url, 'DELETE', '/groups/readers/members/b?topic=pulled');
    assert.equal(left.status, 204);
    const gone = await call(url, 'POST', '/groups/readers/members/b/heartbeat', {
      json: { topic: 'pulled' },
    });
    assert.deepEqual([gone.status, gone.body.error.code], [404, 'UnknownMember']);
  });
});
