import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  InvalidArgumentError,
  ProducerFencedError,
  RemoteError,
  StreambedClient,
  UnknownOutcomeError,
} from '../../lib/client/index.ts';
import { mayHaveAppended } from '../../lib/client/producer-sequencing.ts';
import {
  OutOfOrderSequenceError,
  PartitionBusyError,
  RequestTooLargeError,
  ThrottledError,
  UnknownProducerIdError,
} from '../../lib/core/errors.ts';
import { FakeServer } from '../support/fake-produce-server.ts';

const producerOf = (server: FakeServer, options: Parameters<StreambedClient['producer']>[0] = {}) =>
  new StreambedClient({ transport: server.transport() }).producer({ lingerMs: 0, ...options });

const outcome = async (delivered: Promise<unknown>) =>
  await delivered.then(
    () => 'ok',
    (error: unknown) => (error as Error).name,
  );

describe('an idempotent producer never appends a record twice, whatever fails', () => {
  test('a request failed for good is followed by a new producer id: a later request over more partitions lands once', async () => {
    const server = new FakeServer(2);
    server.before = (call) => {
      if (call === 1) throw new RemoteError('InternalError', 500, 'boom', false);
    };
    const producer = producerOf(server);
    const x = await producer.send({ topic: 't', partition: 0, value: 'X-p0' });
    assert.equal(await outcome(x.delivered), 'RemoteError');
    const y0 = await producer.send({ topic: 't', partition: 0, value: 'Y-p0' });
    const y1 = await producer.send({ topic: 't', partition: 1, value: 'Y-p1' });
    assert.deepEqual([await outcome(y0.delivered), await outcome(y1.delivered)], ['ok', 'ok']);
    assert.deepEqual(server.logs, [['Y-p0'], ['Y-p1']], 'each record once');
    assert.equal(server.nextId, 3, 'a second producer id before the next request');
    await producer.close();
  });

  test('a request refused for good before anything is stored hands its sequences to the next: no new producer id', async () => {
    const server = new FakeServer(2);
    server.before = (call) => {
      if (call === 2) throw new RequestTooLargeError('refused for good');
    };
    const producer = producerOf(server);
    const a = await producer.send({ topic: 't', partition: 0, value: 'a' });
    assert.equal(await outcome(a.delivered), 'ok');
    const x = await producer.send({ topic: 't', partition: 0, value: 'x' });
    assert.equal(await outcome(x.delivered), 'RequestTooLargeError');
    const b = await producer.send({ topic: 't', partition: 0, value: 'b' });
    assert.equal(await outcome(b.delivered), 'ok');
    assert.deepEqual(server.logs[0], ['a', 'b']);
    assert.equal(server.nextId, 2, 'one producer id all along');
    await producer.close();
  });

  test('a request appended in part (one partition lost the producer state) fails with UnknownOutcome and is not sent again', async () => {
    const server = new FakeServer(2);
    const producer = producerOf(server);
    const first = await Promise.all([
      producer.send({ topic: 't', partition: 0, value: 'a-p0' }),
      producer.send({ topic: 't', partition: 1, value: 'a-p1' }),
    ]);
    await producer.flush();
    // Partition 0 forgets the producer (idle past the expiration); partition 1 still knows it.
    for (const key of [...server.states.keys()]) if (key.endsWith('/0')) server.states.delete(key);
    const second = await Promise.all([
      producer.send({ topic: 't', partition: 0, value: 'b-p0' }),
      producer.send({ topic: 't', partition: 1, value: 'b-p1' }),
    ]);
    const outcomes = await Promise.all(second.map((r) => r.delivered.catch((e: unknown) => e)));
    for (const error of outcomes) {
      assert.ok(error instanceof UnknownOutcomeError, String(error));
      assert.ok((error.cause as Error) instanceof OutOfOrderSequenceError);
    }
    assert.deepEqual(server.logs, [['a-p0'], ['a-p1', 'b-p1']], 'b-p1 landed once, b-p0 never');
    // The producer goes on under its new id.
    const third = await producer.send({ topic: 't', partition: 0, value: 'c-p0' });
    assert.equal(await outcome(third.delivered), 'ok');
    assert.deepEqual(server.logs[0], ['a-p0', 'c-p0']);
    for (const r of first) assert.equal(await outcome(r.delivered), 'ok');
    await producer.close().catch(() => undefined);
  });

  test('a request refused on every partition it holds (the server says none was appended) is numbered afresh and lands', async () => {
    const server = new FakeServer(2);
    const producer = producerOf(server);
    await producer.send({ topic: 't', partition: 0, value: 'a-p0' });
    await producer.send({ topic: 't', partition: 1, value: 'a-p1' });
    await producer.flush();
    server.states.clear(); // both partitions forget the producer
    const b = await Promise.all([
      producer.send({ topic: 't', partition: 0, value: 'b-p0' }),
      producer.send({ topic: 't', partition: 1, value: 'b-p1' }),
    ]);
    assert.deepEqual(await Promise.all(b.map((r) => outcome(r.delivered))), ['ok', 'ok']);
    assert.deepEqual(server.logs, [
      ['a-p0', 'b-p0'],
      ['a-p1', 'b-p1'],
    ]);
    await producer.close();
  });

  test('without word from the server, a refusal of a request over several partitions counts as maybe appended', async () => {
    const server = new FakeServer(2);
    server.reportAppended = false;
    const producer = producerOf(server);
    await producer.send({ topic: 't', partition: 0, value: 'a-p0' });
    await producer.send({ topic: 't', partition: 1, value: 'a-p1' });
    await producer.flush();
    server.states.clear();
    const b = await Promise.all([
      producer.send({ topic: 't', partition: 0, value: 'b-p0' }),
      producer.send({ topic: 't', partition: 1, value: 'b-p1' }),
    ]);
    assert.deepEqual(await Promise.all(b.map((r) => outcome(r.delivered))), [
      'UnknownOutcomeError',
      'UnknownOutcomeError',
    ]);
    await producer.close().catch(() => undefined);
  });

  test('mayHaveAppended: the server’s word first, then what the refusal says', () => {
    const refused = new OutOfOrderSequenceError('gap');
    assert.equal(mayHaveAppended(refused, 1), false, 'one partition, refused');
    assert.equal(mayHaveAppended(refused, 2), true, 'another partition may be in');
    refused.appendedPartitions = [];
    assert.equal(mayHaveAppended(refused, 2), false);
    refused.appendedPartitions = [1];
    assert.equal(mayHaveAppended(refused, 2), true);
    assert.equal(mayHaveAppended(new UnknownProducerIdError('gone'), 3), false, 'refused before storing');
    // Busy or throttled may follow a write whose outcome was unclear.
    assert.equal(mayHaveAppended(new PartitionBusyError('busy'), 1), true);
    assert.equal(mayHaveAppended(new ThrottledError('slow down'), 1), true);
    assert.equal(mayHaveAppended(new RemoteError('Timeout', 0, 'slow', true), 1), true);
    assert.equal(mayHaveAppended(new Error('socket hang up'), 1), true);
  });
});

describe('producer shutdown and fencing settle every record', () => {
  test(
    'fenced with requests in flight: each is settled at once, and one refused after the fence is not sent again',
    { timeout: 5_000 },
    async () => {
      const server = new FakeServer(1);
      const inner = server.transport();
      // Each call waits until the test answers it: call 3 is fenced while 1, 2 and 4 are in flight.
      const answers: ((outcome: 'pass' | Error) => void)[] = [];
      const transport = {
        ...inner,
        produce: async (request: Parameters<typeof inner.produce>[0]) => {
          const verdict = await new Promise<'pass' | Error>((answer) => answers.push(answer));
          if (verdict !== 'pass') throw verdict;
          return await inner.produce(request);
        },
      };
      const producer = new StreambedClient({ transport }).producer({
        lingerMs: 0,
        batchRecords: 1,
        maxInFlight: 5,
        retry: { initialDelayMs: 1, maxDelayMs: 1 },
      });
      const receipts = [];
      for (let i = 0; i < 4; i++) receipts.push(await producer.send({ topic: 't', value: `r${i}` }));
      while (answers.length < 4) await sleep(1);
      answers[2]?.(new ProducerFencedError('fenced by epoch 1'));
      const outcomes = await Promise.all(receipts.map((r) => outcome(r.delivered)));
      assert.deepEqual(outcomes, Array(4).fill('ProducerFencedError'), 'every record failed with the fence');
      // The requests still in flight come back refused for a while: none is sent again.
      for (const i of [0, 1, 3]) answers[i]?.(new RemoteError('Throttled', 429, 'slow down', true));
      await sleep(20);
      assert.equal(answers.length, 4, 'no request after the fence');
      await producer.flush(); // nothing left outstanding
    },
  );

  test('a send that races close() is refused; close() waits for every record sent before it', async () => {
    const server = new FakeServer(1);
    const producer = producerOf(server, { lingerMs: 200 });
    const before = await producer.send({ topic: 't', value: 'before' });
    const closing = producer.close();
    await assert.rejects(producer.send({ topic: 't', value: 'racing' }), InvalidArgumentError);
    await closing;
    assert.equal(await outcome(before.delivered), 'ok');
    assert.deepEqual(server.logs, [['before']]);
    assert.equal(producer.close(), closing, 'a second close() is the same');
  });
});
