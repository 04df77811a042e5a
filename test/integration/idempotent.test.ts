import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  DuplicateSequenceError,
  InvalidArgumentError,
  OutOfOrderSequenceError,
  ProducerFencedError,
} from '../../lib/core/errors.ts';
import type { ProduceRequest } from '../../lib/core/types.ts';
import type { Streambed } from '../../lib/engine/streambed.ts';
import { bytes, type TestStack, testStack } from '../support/stack.ts';

function call(
  topic: string,
  epoch: number,
  sequence: number,
  values: string[],
  partition = 0,
): ProduceRequest {
  return {
    topic,
    records: values.map((v) => ({ value: bytes(v), partition })),
    producer: { producerId: 'p-1', epoch, sequences: { [partition]: sequence } },
  };
}

async function values(log: Streambed, topic: string, partition = 0): Promise<string[]> {
  const { records } = await log.fetch({ topic, partition, offset: 0, maxRecords: 1000 });
  return records.map((r) => new TextDecoder().decode(r.value));
}

describe('idempotent producer', () => {
  let stack: TestStack;
  let log: Streambed;
  before(async () => {
    stack = await testStack({ pageSize: 2 });
    log = stack.engine();
  });
  after(() => stack.close());

  test('a retry whose ack was lost returns the original offsets and appends nothing', async () => {
    await log.createTopic({ name: 'idem', partitions: 1 });
    const first = await log.produce(call('idem', 0, 0, ['a', 'b']));
    const retry = await log.produce(call('idem', 0, 0, ['a', 'b']));
    assert.deepEqual(retry.offsets, first.offsets);
    assert.deepEqual(retry.duplicatePartitions, [0]);
    const next = await log.produce(call('idem', 0, 2, ['c']));
    assert.deepEqual(next.offsets, [{ partition: 0, offset: 2 }]);
    // Retrying the last batch again still answers with its offsets, even after pages were flushed.
    for (let i = 0; i < 5; i++)
      await log.produce({ topic: 'idem', records: [{ value: bytes('other'), partition: 0 }] });
    assert.deepEqual((await log.produce(call('idem', 0, 2, ['c']))).offsets, next.offsets);
    assert.deepEqual(await values(log, 'idem'), ['a', 'b', 'c', 'other', 'other', 'other', 'other', 'other']);
  });

  test('a retry racing the original is appended once and both get the same offsets', async () => {
    await log.createTopic({ name: 'idem-race', partitions: 1 });
    for (let seq = 0; seq < 20; seq += 2) {
      const results = await Promise.all(
        Array.from({ length: 4 }, () =>
          stack.engine().produce(call('idem-race', 0, seq, [`${seq}`, `${seq + 1}`])),
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

  test('a sequence gap is OutOfOrderSequence and appends nothing', async () => {
    await log.createTopic({ name: 'idem-gap', partitions: 1 });
    await log.produce(call('idem-gap', 0, 0, ['a']));
    await assert.rejects(log.produce(call('idem-gap', 0, 2, ['c'])), OutOfOrderSequenceError);
    await assert.rejects(log.produce(call('idem-gap', 0, 0, ['a', 'b'])), OutOfOrderSequenceError);
    await assert.rejects(
      log.produce({
        ...call('idem-gap', 0, 5, ['x']),
        producer: { producerId: 'new', epoch: 0, sequences: { 0: 5 } },
      }),
      OutOfOrderSequenceError,
    );
    assert.deepEqual(await values(log, 'idem-gap'), ['a']);
  });

  test('an older batch than the last is DuplicateSequence', async () => {
    await log.createTopic({ name: 'idem-old', partitions: 1 });
    await log.produce(call('idem-old', 0, 0, ['a']));
    await log.produce(call('idem-old', 0, 1, ['b']));
    await assert.rejects(log.produce(call('idem-old', 0, 0, ['a'])), DuplicateSequenceError);
    assert.deepEqual(await values(log, 'idem-old'), ['a', 'b']);
  });

  test('a lower epoch is fenced; a higher epoch starts again at sequence 0', async () => {
    await log.createTopic({ name: 'idem-epoch', partitions: 1 });
    await log.produce(call('idem-epoch', 3, 0, ['a']));
    await assert.rejects(log.produce(call('idem-epoch', 2, 1, ['x'])), ProducerFencedError);
    await assert.rejects(log.produce(call('idem-epoch', 4, 1, ['x'])), OutOfOrderSequenceError);
    await log.produce(call('idem-epoch', 4, 0, ['b']));
    await assert.rejects(log.produce(call('idem-epoch', 3, 1, ['x'])), ProducerFencedError);
    assert.deepEqual(await values(log, 'idem-epoch'), ['a', 'b']);
  });

  test('a multi-partition call retried after a partial commit appends each partition once', async () => {
    await log.createTopic({ name: 'idem-multi', partitions: 3 });
    const request: ProduceRequest = {
      topic: 'idem-multi',
      records: [
        { value: bytes('p0'), partition: 0 },
        { value: bytes('p2'), partition: 2 },
      ],
      producer: { producerId: 'multi', epoch: 0, sequences: { 0: 0, 2: 0 } },
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

  test('idempotent calls must give a sequence for each partition they write', async () => {
    await log.createTopic({ name: 'idem-args', partitions: 2 });
    await assert.rejects(
      log.produce({
        ...call('idem-args', 0, 0, ['a']),
        producer: { producerId: 'p', epoch: 0, sequences: {} },
      }),
      InvalidArgumentError,
    );
    await assert.rejects(
      log.produce({
        ...call('idem-args', 0, 0, ['a']),
        producer: { producerId: 'bad id', epoch: 0, sequences: { 0: 0 } },
      }),
      /producerId/,
    );
    await assert.rejects(
      log.produce({
        ...call('idem-args', 0, 0, ['a']),
        producer: { producerId: 'p', epoch: -1, sequences: { 0: 0 } },
      }),
      /epoch/,
    );
    await assert.rejects(
      log.produce({
        ...call('idem-args', 0, 0, ['a']),
        producer: { producerId: 'p', epoch: 0, sequences: { 0: 0, 1: 0 } },
      }),
      /sequences\[1\]/,
    );
    assert.equal(await log.listOffsets('idem-args', 0, 'latest'), 0);
  });
});
