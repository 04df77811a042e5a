import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { InvalidArgumentError, OffsetOutOfRangeError, RecordTooLargeError } from '../../lib/core/errors.ts';
import { partitionForKey } from '../../lib/core/partitioner.ts';
import type { FetchedRecord, ProduceRecord } from '../../lib/core/types.ts';
import type { Streambed } from '../../lib/engine/streambed.ts';
import { bytes, type TestStack, testStack } from '../support/stack.ts';

async function fetchAll(
  log: Streambed,
  topic: string,
  partition: number,
  from = 0,
): Promise<FetchedRecord[]> {
  const out: FetchedRecord[] = [];
  let offset = from;
  for (;;) {
    const result = await log.fetch({ topic, partition, offset, maxRecords: 1000 });
    out.push(...result.records);
    if (result.records.length === 0) return out;
    offset = result.nextOffset;
  }
}

function randomRecord(i: number): ProduceRecord {
  const json = i % 3 === 0;
  const value = json ? bytes(JSON.stringify({ i, tags: ['a', 'é', '🚀'], n: null })) : randomBytes(i % 200);
  return {
    key: i % 5 === 0 ? null : bytes(`key-${i % 97}`),
    value,
    valueIsJson: json,
    headers:
      i % 2 === 0
        ? [
            ['trace', randomBytes(8)],
            ['trace', bytes('dup')],
            ['empty', new Uint8Array()],
          ]
        : [],
    timestamp: 1_700_000_000_000 + i,
    ...(i % 11 === 0 ? { partition: i % 8 } : {}),
  };
}

describe('produce and fetch on MinIO + DynamoDB Local', () => {
  let stack: TestStack;
  let log: Streambed;
  before(async () => {
    stack = await testStack({ pageSize: 4 });
    log = stack.engine();
  });
  after(() => stack.close());

  test('10,000 records across 8 partitions come back byte for byte at the offsets produce returned', async () => {
    await log.createTopic({ name: 'bulk', partitions: 8, config: { compression: 'gzip' } });
    const expected = new Map<string, ProduceRecord>();
    const calls = Array.from({ length: 100 }, (_, c) =>
      Array.from({ length: 100 }, (_, j) => randomRecord(c * 100 + j)),
    );
    for (let c = 0; c < calls.length; c += 4) {
      await Promise.all(
        calls.slice(c, c + 4).map(async (records) => {
          const { offsets } = await log.produce({ topic: 'bulk', records });
          offsets.forEach((o, i) => {
            expected.set(`${o.partition}/${o.offset}`, records[i] as ProduceRecord);
          });
        }),
      );
    }
    assert.equal(expected.size, 10_000);
    let total = 0;
    const described = await log.describeTopic('bulk');
    for (let p = 0; p < 8; p++) {
      const records = await fetchAll(log, 'bulk', p);
      assert.equal(described.partitionStates[p]?.highWatermark, records.length);
      records.forEach((r, i) => {
        assert.equal(r.offset, i, 'dense offsets');
        const want = expected.get(`${p}/${r.offset}`);
        assert.ok(want, `record ${p}/${r.offset} was acknowledged`);
        assert.deepEqual(r.key, want.key ?? null);
        assert.deepEqual(Buffer.from(r.value ?? []), Buffer.from(want.value ?? []));
        assert.equal(r.valueIsJson, want.valueIsJson ?? false);
        assert.deepEqual(
          r.headers.map(([k, v]) => [k, Buffer.from(v)]),
          (want.headers ?? []).map(([k, v]) => [k, Buffer.from(v)]),
        );
        assert.equal(r.timestamp, want.timestamp);
        if (want.partition === undefined && want.key) assert.equal(p, partitionForKey(want.key, 8));
      });
      total += records.length;
    }
    assert.equal(total, 10_000);
  });

  test('a fetch from inside a batch starts exactly at the requested offset', async () => {
    await log.createTopic({ name: 'mid', partitions: 1 });
    for (let c = 0; c < 5; c++) {
      await log.produce({
        topic: 'mid',
        records: Array.from({ length: 10 }, (_, i) => ({ value: bytes(`${c * 10 + i}`) })),
      });
    }
    for (const offset of [0, 3, 9, 10, 17, 33, 49]) {
      const result = await log.fetch({ topic: 'mid', partition: 0, offset, maxRecords: 7 });
      assert.deepEqual(
        result.records.map((r) => r.offset),
        Array.from({ length: Math.min(7, 50 - offset) }, (_, i) => offset + i),
      );
      assert.deepEqual(
        result.records.map((r) => new TextDecoder().decode(r.value)),
        result.records.map((r) => String(r.offset)),
      );
      assert.equal(result.nextOffset, offset + result.records.length);
      assert.equal(result.highWatermark, 50);
    }
  });

  test('maxBytes bounds a fetch but one record always comes back', async () => {
    await log.createTopic({ name: 'bytes', partitions: 1 });
    await log.produce({
      topic: 'bytes',
      records: Array.from({ length: 10 }, () => ({ value: new Uint8Array(1000) })),
    });
    const small = await log.fetch({ topic: 'bytes', partition: 0, offset: 2, maxBytes: 10 });
    assert.deepEqual(
      small.records.map((r) => r.offset),
      [2],
    );
    const some = await log.fetch({ topic: 'bytes', partition: 0, offset: 0, maxBytes: 3500 });
    assert.equal(some.records.length, 3);
  });

  test('at or past the high watermark a fetch is empty and reports the high watermark', async () => {
    await log.createTopic({ name: 'hw', partitions: 2 });
    await log.produce({
      topic: 'hw',
      records: [
        { value: bytes('a'), partition: 0 },
        { value: bytes('b'), partition: 0 },
      ],
    });
    for (const offset of [2, 3, 1000]) {
      const result = await log.fetch({ topic: 'hw', partition: 0, offset });
      assert.deepEqual(result.records, []);
      assert.equal(result.highWatermark, 2);
      assert.equal(result.nextOffset, offset);
    }
    const empty = await log.fetch({ topic: 'hw', partition: 1, offset: 0 });
    assert.deepEqual([empty.records.length, empty.highWatermark], [0, 0]);
  });

  test('below the log start offset a fetch is OffsetOutOfRange', async () => {
    await log.createTopic({ name: 'start', partitions: 1 });
    await log.produce({
      topic: 'start',
      records: Array.from({ length: 5 }, (_, i) => ({ value: bytes(`${i}`) })),
    });
    const topic = await log.describeTopic('start');
    // What retention will do: advance the log start offset.
    await stack.dynamodb.send(
      new UpdateItemCommand({
        TableName: stack.tables.log,
        Key: { pk: { S: `${topic.id}#0` }, sk: { N: '-1' } },
        UpdateExpression: 'SET #s = :s',
        ExpressionAttributeNames: { '#s': 'start' },
        ExpressionAttributeValues: { ':s': { N: '3' } },
      }),
    );
    await assert.rejects(log.fetch({ topic: 'start', partition: 0, offset: 2 }), OffsetOutOfRangeError);
    const ok = await log.fetch({ topic: 'start', partition: 0, offset: 3 });
    assert.deepEqual(
      ok.records.map((r) => r.offset),
      [3, 4],
    );
    assert.equal(await log.listOffsets('start', 0, 'earliest'), 3);
  });

  test('bad fetch arguments are rejected naming the field', async () => {
    await log.createTopic({ name: 'args', partitions: 1 });
    await assert.rejects(log.fetch({ topic: 'args', partition: 0, offset: -1 }), /offset/);
    await assert.rejects(log.fetch({ topic: 'args', partition: -1, offset: 0 }), /partition/);
    await assert.rejects(log.fetch({ topic: 'args', partition: 0, offset: 0, maxRecords: 0 }), /maxRecords/);
    await assert.rejects(log.fetch({ topic: 'args', partition: 0, offset: 0, maxBytes: 0 }), /maxBytes/);
    await assert.rejects(log.fetch({ topic: 'args', partition: 0, offset: 1.5 }), InvalidArgumentError);
  });

  test('list offsets gives earliest, latest, and the first offset at or after a timestamp', async () => {
    await log.createTopic({ name: 'times', partitions: 1 });
    const stamps = [100, 200, 150, 300, 400, 400, 500, 250, 600, 700];
    for (let i = 0; i < stamps.length; i += 2) {
      await log.produce({
        topic: 'times',
        records: stamps.slice(i, i + 2).map((timestamp) => ({ value: bytes('v'), timestamp })),
      });
    }
    assert.equal(await log.listOffsets('times', 0, 'earliest'), 0);
    assert.equal(await log.listOffsets('times', 0, 'latest'), 10);
    assert.equal(await log.listOffsets('times', 0, { timestamp: 0 }), 0);
    assert.equal(await log.listOffsets('times', 0, { timestamp: 150 }), 1);
    assert.equal(await log.listOffsets('times', 0, { timestamp: 201 }), 3);
    assert.equal(await log.listOffsets('times', 0, { timestamp: 450 }), 6);
    assert.equal(await log.listOffsets('times', 0, { timestamp: 700 }), 9);
    assert.equal(await log.listOffsets('times', 0, { timestamp: 701 }), null);
  });

  test('records larger than the topic allows are RecordTooLarge and nothing is appended', async () => {
    await log.createTopic({ name: 'limits', partitions: 1, config: { maxRecordBytes: 100 } });
    await assert.rejects(
      log.produce({ topic: 'limits', records: [{ value: bytes('ok') }, { value: new Uint8Array(101) }] }),
      RecordTooLargeError,
    );
    await assert.rejects(log.produce({ topic: 'limits', records: [] }), InvalidArgumentError);
    assert.equal(await log.listOffsets('limits', 0, 'latest'), 0);
  });

  test('keyless records of one call stick to one partition; keyed ones follow murmur2', async () => {
    await log.createTopic({ name: 'sticky', partitions: 6 });
    const { offsets } = await log.produce({
      topic: 'sticky',
      records: Array.from({ length: 20 }, (_, i) => ({ value: bytes(`${i}`) })),
    });
    assert.equal(new Set(offsets.map((o) => o.partition)).size, 1);
    const keyed = await log.produce({
      topic: 'sticky',
      records: [{ key: bytes('foobar'), value: bytes('x') }],
    });
    assert.equal(keyed.offsets[0]?.partition, partitionForKey(bytes('foobar'), 6));
  });

  test('zstd and gzip topics round-trip', async () => {
    for (const compression of ['zstd', 'gzip'] as const) {
      await log.createTopic({ name: `z-${compression}`, partitions: 1, config: { compression } });
      const value = bytes('compressible '.repeat(500));
      await log.produce({ topic: `z-${compression}`, records: [{ value }, { value, key: bytes('k') }] });
      const { records } = await log.fetch({ topic: `z-${compression}`, partition: 0, offset: 1 });
      assert.deepEqual(Buffer.from(records[0]?.value ?? []), Buffer.from(value));
    }
  });
});
