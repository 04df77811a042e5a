import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { createDispatcher } from '../../lib/adapters/aws.ts';
import { InProcessInvoker } from '../../lib/engine/in-process-invoker.ts';
import type { Streambed } from '../../lib/engine/streambed.ts';
import { duplicates, highWatermarks, idsIn } from '../support/exactly-once.ts';
import { bytes, type TestStack, testStack } from '../support/stack.ts';

const root = new URL('../../', import.meta.url).pathname;

/** Runs the dispatcher fixture until it exits; its exit code or signal, and its output. */
async function runDispatcher(
  stack: TestStack,
  kill?: string,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }> {
  const child = spawn(process.execPath, ['test/fixtures/exactly-once-dispatcher.ts'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      STREAMBED_TEST_BUCKET: stack.bucket,
      STREAMBED_LOG_TABLE: stack.tables.log,
      STREAMBED_META_TABLE: stack.tables.meta,
      ...(kill === undefined ? {} : { STREAMBED_TEST_KILL: kill }),
    },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
  try {
    return await new Promise((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal, output })),
    );
  } finally {
    clearTimeout(timer);
  }
}

describe('exactly-once pipeline: orders → handler → invoices, the dispatcher SIGKILLed mid-transaction', () => {
  let stack: TestStack;
  let log: Streambed;
  before(async () => {
    stack = await testStack({ pageSize: 4 });
    log = stack.engine();
  });
  after(() => stack.close());

  test('killed before, during and after a transaction, then restarted: every order has exactly one invoice', async () => {
    await log.createTopic({ name: 'orders', partitions: 2 });
    await log.createTopic({ name: 'invoices', partitions: 3 });
    const subscriber = createDispatcher(stack.config, { invoker: new InProcessInvoker() });
    await subscriber.subscribe({
      group: 'billing',
      topic: 'orders',
      target: 'invoicer',
      startingPosition: 'earliest',
      batchSize: 10,
      functionTimeoutSeconds: 1,
    });
    const orders = Array.from({ length: 120 }, (_, i) => `o${i}`);
    for (let i = 0; i < orders.length; i += 20) {
      await log.produce({
        topic: 'orders',
        records: orders
          .slice(i, i + 20)
          .map((id) => ({ key: bytes(id), value: bytes(JSON.stringify({ id })), valueIsJson: true })),
      });
    }
    for (const kill of ['after:3', 'during:2', 'before:2']) {
      const run = await runDispatcher(stack, kill);
      assert.equal(run.signal, 'SIGKILL', `killed ${kill}: ${run.output}`);
      assert.match(run.output, /killing myself/, 'it died at the transaction, not of a timeout');
    }
    const last = await runDispatcher(stack);
    assert.equal(last.code, 0, last.output);
    const invoices = await idsIn(log, 'invoices');
    assert.deepEqual(duplicates(invoices), [], 'no order has two invoices');
    assert.deepEqual(invoices.sort(), orders.map((id) => `inv-${id}`).sort(), 'every order has an invoice');
    const committed = await log.fetchOffsets('billing', 'orders');
    assert.deepEqual(
      committed.sort((a, b) => a.partition - b.partition).map((c) => c.offset),
      await highWatermarks(log, 'orders'),
      "the group's offsets reached the end of orders",
    );
  });
});
