import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { itemSize } from '../../bench/support/item-size.ts';
import { DynamoPartitionIndex } from '../../lib/adapters/dynamodb/partition-index.ts';
import {
  DuplicateSequenceError,
  InvalidArgumentError,
  OutOfOrderSequenceError,
  ProducerFencedError,
  UnknownProducerIdError,
} from '../../lib/core/errors.ts';
import type { ProduceRequest } from '../../lib/core/types.ts';
import type { Streambed } from '../../lib/engine/streambed.ts';
import { loseNextResponse } from '../support/faults.ts';
import { bytes, type TestStack, testStack } from '../support/stack.ts';

interface Producer {
  readonly producerId: string;
  readonly epoch: number;
}

function call(
  topic: string,
  who: Producer,
  sequence: number,
  values: string[],
  partition = 0,
): ProduceRequest {
  return {
    topic,
    records: values.map((v) => ({ value: bytes(v), partition })),
    producer: { producerId: who.producerId, epoch: who.epoch, sequences: { [partition]: sequence } },
  };
}

async function values(log: Streambed, topic: string, partition = 0): Promise<string[]> {
  const { records } = await log.fetch({ topic, partition, offset: 0, maxRecords: 10_000 });
  return records.map((r) => new TextDecoder().decode(r.value));
}

describe('idempotent producers with server-issued ids', () => {
  let stack: TestStack;
  let log: Streambed;
  before(async () => {
    stack = await testStack({ pageSize: 2 });
    log = stack.engine();
  });
  after(() => stack.close());

  test('a retry whose ack was lost returns the original offsets and appends nothing, after paging too', async () => {
    await log.createTopic({ name: 'idem', partitions: 1 });
    const p = await log.initProducer();
    const first = await log.produce(call('idem', p, 0, ['a', 'b']));
    const retry = await log.produce(call('idem', p, 0, ['a', 'b']));
    assert.deepEqual(retry.offsets, first.offsets);
    assert.deepEqual(retry.duplicatePartitions, [0]);
    const next = await log.produce(call('idem', p, 2, ['c']));
    assert.deepEqual(next.offsets, [{ partition: 0, offset: 2 }]);
    for (let i = 0; i < 9; i++)
      await log.produce({ topic: 'idem', records: [{ value: bytes('other'), partition: 0 }] });
    assert.deepEqual((await log.produce(call('idem', p, 2, ['c']))).offsets, next.offsets);
    assert.deepEqual((await values(log, 'idem')).slice(0, 3), ['a', 'b', 'c']);
    assert.equal((await values(log, 'idem')).length, 12);
  });

  test('a retry racing the original is appended once and both get the same offsets', async () => {
    await log.createTopic({ name: 'idem-race', partitions: 1 });
    const p = await log.initProducer();
    for (let seq = 0; seq < 20; seq += 2) {
      const results = await Promise.all(
        Array.from({ length: 4 }, () =>
          stack.engine().produce(call('idem-race', p, seq, [`${seq}`, `${seq + 1}`])),
        ),
      );
      for (const r of results) assert.deepEqual(r.offsets, results[0]?.offsets);
      assert.equal(
        results.filter((r) => r.duplicatePartitions.length === 0).length,
        1,
        'exactly one appended',
      );
    }
    assert.deepEqual(
      await values(log, 'idem-race'),
      Array.from({ length: 20 }, (_, i) => `${i}`),
    );
  });

  test('a lost response of the idempotent commit (SDK retry) appends the batch once', async () => {
    await log.createTopic({ name: 'idem-lost', partitions: 1 });
    const p = await log.initProducer();
    loseNextResponse(stack.dynamodb, 'TransactWriteItemsCommand');
    const { offsets } = await log.produce(call('idem-lost', p, 0, ['once']));
    assert.deepEqual(offsets, [{ partition: 0, offset: 0 }]);
    await log.produce(call('idem-lost', p, 1, ['then']));
    assert.deepEqual(await values(log, 'idem-lost'), ['once', 'then']);
  });

  test('a pipelined retry of any of the last 5 batches returns its offsets; older ones are DuplicateSequence', async () => {
    await log.createTopic({ name: 'idem-window', partitions: 1 });
    const p = await log.initProducer();
    const acks = [];
    for (let k = 0; k < 6; k++) acks.push(await log.produce(call('idem-window', p, k, [`b${k}`])));
    // Batch 1 is retried after batches 2..5 landed (Kafka keeps the last 5: 1..5).
    for (let k = 1; k < 6; k++) {
      const retry = await log.produce(call('idem-window', p, k, [`b${k}`]));
      assert.deepEqual(retry.offsets, acks[k]?.offsets, `batch ${k}`);
      assert.deepEqual(retry.duplicatePartitions, [0]);
    }
    await assert.rejects(log.produce(call('idem-window', p, 0, ['b0'])), DuplicateSequenceError);
    assert.deepEqual(await values(log, 'idem-window'), ['b0', 'b1', 'b2', 'b3', 'b4', 'b5']);
  });

  test('a sequence gap, a resend with another count, or a first batch not at 0 is OutOfOrderSequence', async () => {
    await log.createTopic({ name: 'idem-gap', partitions: 1 });
    const p = await log.initProducer();
    await log.produce(call('idem-gap', p, 0, ['a']));
    await assert.rejects(log.produce(call('idem-gap', p, 2, ['c'])), OutOfOrderSequenceError);
    await assert.rejects(log.produce(call('idem-gap', p, 0, ['a', 'b'])), OutOfOrderSequenceError);
    const fresh = await log.initProducer();
    await assert.rejects(log.produce(call('idem-gap', fresh, 5, ['x'])), OutOfOrderSequenceError);
    assert.deepEqual(await values(log, 'idem-gap'), ['a']);
  });

  test('a batch that overtakes its predecessor (requests in flight arriving out of order) waits for it: both land, in order, neither refused', async () => {
    await log.createTopic({ name: 'idem-overtake', partitions: 1 });
    for (const first of [0, 3]) {
      // A new producer's second request arrives first (no state yet), and later a gap in the middle.
      const p = first === 0 ? await log.initProducer() : undefined;
      const who = p ?? (await log.initProducer());
      if (first === 3) await log.produce(call('idem-overtake', who, 0, ['x0', 'x1', 'x2']));
      const second = log.produce(call('idem-overtake', who, first + 2, [`s${first}c`]));
      await sleep(25);
      const earlier = await log.produce(call('idem-overtake', who, first, [`s${first}a`, `s${first}b`]));
      const later = await second;
      assert.equal(later.offsets[0]?.offset, (earlier.offsets[1]?.offset ?? -1) + 1);
    }
    assert.deepEqual(await values(log, 'idem-overtake'), [
      's0a',
      's0b',
      's0c',
      'x0',
      'x1',
      'x2',
      's3a',
      's3b',
      's3c',
    ]);
  });

  test('a new epoch of a transactional id fences the previous holder on every partition', async () => {
    await log.createTopic({ name: 'idem-fence', partitions: 2 });
    const old = await log.initProducer({ transactionalId: 'orders-writer' });
    await log.produce(call('idem-fence', old, 0, ['a'], 0));
    const current = await log.initProducer({ transactionalId: 'orders-writer' });
    assert.equal(current.producerId, old.producerId);
    assert.equal(current.epoch, old.epoch + 1);
    // Fenced on the partition it wrote and on one the new holder never touched.
    await assert.rejects(log.produce(call('idem-fence', old, 1, ['x'], 0)), ProducerFencedError);
    await assert.rejects(log.produce(call('idem-fence', old, 0, ['x'], 1)), ProducerFencedError);
    await log.produce(call('idem-fence', current, 0, ['b'], 0));
    assert.deepEqual(await values(log, 'idem-fence', 0), ['a', 'b']);
    assert.deepEqual(await values(log, 'idem-fence', 1), []);
  });

  test('an id never issued, or an epoch never issued, is UnknownProducerId and stores nothing', async () => {
    await log.createTopic({ name: 'idem-unknown', partitions: 1 });
    const p = await log.initProducer();
    for (const who of [
      { producerId: '123456789', epoch: 0 },
      { producerId: 'made-up', epoch: 0 },
      { producerId: p.producerId, epoch: p.epoch + 1 },
    ]) {
      await assert.rejects(log.produce(call('idem-unknown', who, 0, ['x'])), UnknownProducerIdError);
    }
    assert.equal(await log.listOffsets('idem-unknown', 0, 'latest'), 0);
    assert.deepEqual(await log.findOrphanSegments('idem-unknown', 0), []);
  });

  test('a multi-partition call retried after a partial commit appends each partition once', async () => {
    await log.createTopic({ name: 'idem-multi', partitions: 3 });
    const p = await log.initProducer();
    const request: ProduceRequest = {
      topic: 'idem-multi',
      records: [
        { value: bytes('p0'), partition: 0 },
        { value: bytes('p2'), partition: 2 },
      ],
      producer: { producerId: p.producerId, epoch: p.epoch, sequences: { 0: 0, 2: 0 } },
    };
    let failOnce = true;
    const flaky = stack.engine((deps) => ({
      ...deps,
      index: Object.assign(Object.create(Object.getPrototypeOf(deps.index)), deps.index, {
        append: async (...args: Parameters<typeof deps.index.append>) => {
          const result = await deps.index.append(...args);
          if (args[0].partition === 2 && failOnce) {
            failOnce = false;
            throw new Error('ack lost');
          }
          return result;
        },
      }),
    }));
    await assert.rejects(flaky.produce(request), /ack lost/);
    const retry = await log.produce(request);
    assert.deepEqual(retry.offsets, [
      { partition: 0, offset: 0 },
      { partition: 2, offset: 0 },
    ]);
    assert.deepEqual(await values(log, 'idem-multi', 0), ['p0']);
    assert.deepEqual(await values(log, 'idem-multi', 2), ['p2']);
  });

  test('100 server-issued producers write one partition, none refused, and the head stays under 1 KB', async () => {
    await log.createTopic({ name: 'idem-many', partitions: 1 });
    const producers = await Promise.all(Array.from({ length: 100 }, () => log.initProducer()));
    for (let round = 0; round < 2; round++) {
      await Promise.all(
        producers.map((p, i) => stack.engine().produce(call('idem-many', p, round, [`${i}:${round}`]))),
      );
    }
    const all = await values(log, 'idem-many');
    assert.equal(all.length, 200);
    assert.equal(new Set(all).size, 200);
    const topic = await log.describeTopic('idem-many');
    const head = await stack.dynamodb.send(
      new GetItemCommand({
        TableName: stack.tables.log,
        Key: { pk: { S: `${topic.id}#0` }, sk: { N: '-1' } },
        ConsistentRead: true,
      }),
    );
    assert.ok(head.Item);
    assert.ok(itemSize(head.Item) < 1024, `head is ${itemSize(head.Item)} bytes`);
    assert.deepEqual(Object.keys(head.Item).sort(), [
      'cm',
      'fx',
      'lb',
      'next',
      'pk',
      'pn',
      'ps',
      'sk',
      'start',
      'tail',
      'v',
    ]);
  });

  test("an idle producer's state expires without touching the state of one that keeps writing", async () => {
    const expiring = stack.engine((deps) => ({
      ...deps,
      index: new DynamoPartitionIndex({
        client: stack.dynamodb,
        table: stack.tables.log,
        producerExpirationMs: 1500,
      }),
    }));
    await expiring.createTopic({ name: 'idem-expiry', partitions: 1 });
    const busy = await expiring.initProducer();
    const idle = await expiring.initProducer();
    await expiring.produce(call('idem-expiry', idle, 0, ['idle-0']));
    let seq = 0;
    const started = Date.now();
    while (Date.now() - started < 2000) {
      await expiring.produce(call('idem-expiry', busy, seq, [`busy-${seq}`]));
      seq++;
      await sleep(100);
    }
    // The busy producer's last batch is still known (a retry is a duplicate), its next one is accepted.
    const retry = await expiring.produce(call('idem-expiry', busy, seq - 1, [`busy-${seq - 1}`]));
    assert.deepEqual(retry.duplicatePartitions, [0]);
    await expiring.produce(call('idem-expiry', busy, seq, [`busy-${seq}`]));
    // The idle one has no state any more: only a first batch (sequence 0) is accepted.
    // Refused for good: expired state is not a first batch overtaken (not `ahead`: no predecessor wait).
    await assert.rejects(
      expiring.produce(call('idem-expiry', idle, 1, ['idle-1'])),
      // noState: the Kafka door answers it UNKNOWN_PRODUCER_ID, on which the Java producer bumps its epoch.
      (error: unknown) => error instanceof OutOfOrderSequenceError && !error.ahead && error.noState,
    );
    await expiring.produce(call('idem-expiry', idle, 0, ['idle-again']));
    const all = await values(expiring, 'idem-expiry');
    assert.equal(all.filter((v) => v.startsWith('busy-')).length, seq + 1);
  });

  test('idempotent calls must give a valid sequence for each partition they write', async () => {
    await log.createTopic({ name: 'idem-args', partitions: 2 });
    const p = await log.initProducer();
    const base = call('idem-args', p, 0, ['a']);
    const bad = (producer: unknown) => log.produce({ ...base, producer } as ProduceRequest);
    await assert.rejects(bad({ producerId: p.producerId, epoch: 0, sequences: {} }), InvalidArgumentError);
    await assert.rejects(bad({ producerId: 'bad id', epoch: 0, sequences: { 0: 0 } }), /producerId/);
    await assert.rejects(bad({ producerId: p.producerId, epoch: -1, sequences: { 0: 0 } }), /epoch/);
    await assert.rejects(
      bad({ producerId: p.producerId, epoch: 0, sequences: { 0: 0, 1: 0 } }),
      /sequences\[1\]/,
    );
    assert.equal(await log.listOffsets('idem-args', 0, 'latest'), 0);
  });
});
