import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { awsPorts, createDispatcher } from '../../lib/adapters/aws.ts';
import { EngineContext } from '../../lib/engine/context.ts';
import type { Outputs } from '../../lib/engine/delivery-io.ts';
import { producedOutputs } from '../../lib/engine/delivery-io.ts';
import { InProcessInvoker } from '../../lib/engine/in-process-invoker.ts';
import { StickyPartitions } from '../../lib/engine/produce.ts';
import type { Streambed } from '../../lib/engine/streambed.ts';
import { positionOf, subscriptionOf } from '../support/lookups.ts';
import { bytes, type TestStack, testStack, text } from '../support/stack.ts';

describe('consumer functions that return produce: outputs appended with the offset commit, exactly once', () => {
  let stack: TestStack;
  let log: Streambed;
  before(async () => {
    stack = await testStack();
    log = stack.engine();
  });
  after(() => stack.close());

  const position = (group: string, topic: string) => positionOf(log, group, topic);

  /** Every record of every partition of `topic`, as key → values. */
  async function readAll(topic: string): Promise<Map<string, string[]>> {
    const described = await log.describeTopic(topic);
    const out = new Map<string, string[]>();
    for (let partition = 0; partition < described.partitions; partition++) {
      let offset = 0;
      for (;;) {
        const page = await log.fetch({ topic, partition, offset, maxRecords: 1000 });
        if (page.records.length === 0) break;
        for (const r of page.records) {
          const key = text(r.key) ?? '';
          // Outputs are JSON values: a string output is stored as a JSON string.
          out.set(key, [...(out.get(key) ?? []), JSON.parse(text(r.value) ?? 'null')]);
        }
        offset = page.nextOffset;
      }
    }
    return out;
  }

  async function orders(topic: string, count: number, keys: number) {
    await log.produce({
      topic,
      records: Array.from({ length: count }, (_, i) => ({
        key: bytes(`c${i % keys}`),
        value: bytes(`order-${i}`),
        partition: 0,
      })),
    });
  }

  /** A handler that turns each order into an invoice keyed like it. */
  function invoicer(invoker: InProcessInvoker, target: string, output: string) {
    const calls = { count: 0 };
    invoker.register(target, async (event) => {
      calls.count++;
      return {
        produce: event.Records.map((r) => ({
          topic: output,
          key: r.key,
          value: `invoice for ${Buffer.from(String(r.valueBase64), 'base64').toString()}`,
        })),
      };
    });
    return calls;
  }

  /** Outputs that crash (throw) once, before or after the real commit. */
  function crashingOnce(when: 'before' | 'after'): Outputs & { crashed: boolean } {
    const real = producedOutputs(new EngineContext(awsPorts(stack.config)), new StickyPartitions());
    const outputs = {
      crashed: false,
      parse: (response: unknown) => real.parse(response),
      fits: (outputs: readonly unknown[]) => real.fits(outputs),
      async commit(commit: Parameters<Outputs['commit']>[0]) {
        if (!outputs.crashed && commit.outputs.length > 0) {
          outputs.crashed = true;
          if (when === 'after') await real.commit(commit);
          throw new Error(`crash ${when} the commit transaction`);
        }
        await real.commit(commit);
      },
    };
    return outputs;
  }

  test('every order gets exactly one invoice, with factor 1 and with factor 4', async () => {
    for (const factor of [1, 4]) {
      const input = `orders-${factor}`;
      const output = `invoices-${factor}`;
      await log.createTopic({ name: input, partitions: 1 });
      await log.createTopic({ name: output, partitions: 3 });
      const invoker = new InProcessInvoker();
      invoicer(invoker, 'invoice-fn', output);
      const dispatcher = createDispatcher(stack.config, { invoker });
      await dispatcher.subscribe({
        group: input,
        topic: input,
        target: 'invoice-fn',
        startingPosition: 'earliest',
        batchSize: 10,
        parallelizationFactor: factor,
      });
      await orders(input, 200, 20);
      const spec = await subscriptionOf(stack, input);
      assert.equal(await dispatcher.deliver(spec as never, 0, Date.now() + 60_000), 'caught-up');
      const invoices = await readAll(output);
      assert.equal([...invoices.values()].flat().length, 200);
      for (let c = 0; c < 20; c++) {
        // Per key, in order: the invoices of c<k> are the orders k, k+20, k+40, ...
        assert.deepEqual(
          invoices.get(`c${c}`),
          Array.from({ length: 10 }, (_, j) => `invoice for order-${c + 20 * j}`),
        );
      }
      assert.equal(await position(input, input), 200);
    }
  });

  for (const when of ['before', 'after'] as const) {
    test(`a dispatcher that crashes ${when} the commit transaction: its successor redelivers what was not committed, and every order still has exactly one invoice`, async () => {
      const input = `crash-${when}`;
      const output = `crash-${when}-invoices`;
      await log.createTopic({ name: input, partitions: 1 });
      await log.createTopic({ name: output, partitions: 1 });
      const invoker = new InProcessInvoker();
      const calls = invoicer(invoker, 'crash-fn', output);
      const outputs = crashingOnce(when);
      const crashing = createDispatcher(stack.config, { invoker, outputs, onError: () => {} });
      await crashing.subscribe({
        group: input,
        topic: input,
        target: 'crash-fn',
        startingPosition: 'earliest',
        batchSize: 5,
      });
      await orders(input, 20, 20);
      const spec = await subscriptionOf(stack, input);
      await assert.rejects(crashing.deliver(spec as never, 0, Date.now() + 30_000), /crash/);
      assert.ok(outputs.crashed);
      const successor = createDispatcher(stack.config, { invoker });
      assert.equal(await successor.deliver(spec as never, 0, Date.now() + 30_000), 'caught-up');
      const invoices = await readAll(output);
      assert.deepEqual(
        [...invoices.values()].flat().sort(),
        Array.from({ length: 20 }, (_, i) => `invoice for order-${i}`).sort(),
      );
      // Crashing before the transaction, the first batch ran twice; after it, once.
      assert.equal(calls.count, when === 'before' ? 5 : 4);
      assert.equal(await position(input, input), 20);
    });
  }

  test('a malformed produce return fails the batch (nothing is appended) and goes to onFailure like any failure', async () => {
    await log.createTopic({ name: 'bad-return', partitions: 1 });
    await log.createTopic({ name: 'bad-return-dlq', partitions: 1 });
    await log.createTopic({ name: 'bad-return-out', partitions: 2 });
    const invoker = new InProcessInvoker();
    invoker.register('bad-fn', async (event) => ({
      produce: event.Records.map((r) =>
        r.offset === 1
          ? { topic: 'bad-return-out', partition: 7, value: 'x' }
          : { topic: 'bad-return-out', value: 'ok' },
      ),
    }));
    const dispatcher = createDispatcher(stack.config, { invoker, retryBaseMs: 1, retryMaxMs: 2 });
    await dispatcher.subscribe({
      group: 'bad-return',
      topic: 'bad-return',
      target: 'bad-fn',
      startingPosition: 'earliest',
      batchSize: 3,
      maxRetryAttempts: 1,
      onFailure: { topic: 'bad-return-dlq' },
    });
    await log.produce({ topic: 'bad-return', records: [0, 1, 2].map((i) => ({ value: bytes(`b${i}`) })) });
    const spec = await subscriptionOf(stack, 'bad-return');
    assert.equal(await dispatcher.deliver(spec as never, 0, Date.now() + 30_000), 'caught-up');
    const dlq = await log.fetch({ topic: 'bad-return-dlq', partition: 0, offset: 0 });
    assert.equal(dlq.records.length, 1);
    const message = JSON.parse(text(dlq.records[0]?.value ?? null) ?? '{}');
    assert.equal(message.streambedBatchInfo.startOffset, 1);
    assert.match(message.responseContext.functionError, /partition/);
    // Records 0 and 2 were delivered (bisection isolated 1) and their outputs appended once.
    const out = await readAll('bad-return-out');
    assert.deepEqual(out.get(''), ['ok', 'ok']);
    assert.equal(await position('bad-return', 'bad-return'), 3);
  });

  test('outputs of parallel batches that together write more partitions than one transaction holds: the delivery falls back to one batch at a time, still exactly once', async () => {
    await log.createTopic({ name: 'fan-in', partitions: 1 });
    await log.createTopic({ name: 'fan-out', partitions: 150 });
    const invoker = new InProcessInvoker();
    const events: { size: number; commit: unknown }[] = [];
    invoker.register('fan-fn', async (event) => {
      events.push({ size: event.Records.length, commit: event.commit });
      // Each record writes to 15 partitions of its own: 4 records' outputs take 60, two batches 120.
      return {
        produce: event.Records.flatMap((r) =>
          Array.from({ length: 15 }, (_, j) => ({
            topic: 'fan-out',
            partition: (r.offset * 15 + j) % 150,
            key: `o${r.offset}`,
            value: j,
          })),
        ),
      };
    });
    const dispatcher = createDispatcher(stack.config, { invoker });
    await dispatcher.subscribe({
      group: 'fan',
      topic: 'fan-in',
      target: 'fan-fn',
      startingPosition: 'earliest',
      batchSize: 4,
      parallelizationFactor: 2,
    });
    await log.produce({
      topic: 'fan-in',
      records: Array.from({ length: 16 }, (_, i) => ({ key: bytes(`k${i}`), value: bytes(`f${i}`) })),
    });
    const spec = await subscriptionOf(stack, 'fan');
    assert.equal(await dispatcher.deliver(spec as never, 0, Date.now() + 60_000), 'caught-up');
    const out = await readAll('fan-out');
    for (let i = 0; i < 16; i++) {
      assert.deepEqual(
        out.get(`o${i}`)?.sort((a, b) => Number(a) - Number(b)),
        Array.from({ length: 15 }, (_, j) => j),
        `o${i}`,
      );
    }
    assert.equal(await position('fan', 'fan-in'), 16);
    // Parallel batches carry no commit token; after the fallback, one-lane batches do.
    assert.equal(events[0]?.commit, undefined);
    const last = events.at(-1)?.commit as { startOffset: number; endOffset: number } | undefined;
    assert.ok(
      last !== undefined && last.endOffset === 16 && last.startOffset === 16 - (events.at(-1)?.size ?? 0),
    );
  });

  test('one batch whose outputs write more partitions than one commit holds fails when the function returns, and goes to onFailure alone', async () => {
    await log.createTopic({ name: 'wide-in', partitions: 1 });
    await log.createTopic({ name: 'wide-out', partitions: 120 });
    await log.createTopic({ name: 'wide-dlq', partitions: 1 });
    const invoker = new InProcessInvoker();
    invoker.register('wide-fn', async (event) => ({
      produce: event.Records.flatMap((r) =>
        Array.from({ length: r.offset === 0 ? 99 : 1 }, (_, j) => ({
          topic: 'wide-out',
          partition: j,
          value: r.offset,
        })),
      ),
    }));
    const dispatcher = createDispatcher(stack.config, { invoker, retryBaseMs: 1, retryMaxMs: 2 });
    await dispatcher.subscribe({
      group: 'wide',
      topic: 'wide-in',
      target: 'wide-fn',
      startingPosition: 'earliest',
      maxRetryAttempts: 1,
      onFailure: { topic: 'wide-dlq' },
    });
    await log.produce({ topic: 'wide-in', records: [0, 1].map((i) => ({ value: bytes(`w${i}`) })) });
    const spec = await subscriptionOf(stack, 'wide');
    assert.equal(await dispatcher.deliver(spec as never, 0, Date.now() + 30_000), 'caught-up');
    const dlq = await log.fetch({ topic: 'wide-dlq', partition: 0, offset: 0 });
    assert.equal(dlq.records.length, 1);
    const message = JSON.parse(text(dlq.records[0]?.value ?? null) ?? '{}');
    assert.equal(message.streambedBatchInfo.startOffset, 0);
    assert.match(message.responseContext.functionError, /99 partitions; one commit may write to at most 98/);
    const out = await readAll('wide-out');
    assert.deepEqual([...out.values()].flat(), [1]);
    assert.equal(await position('wide', 'wide-in'), 2);
  });
});
