import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../lib/harness/process.ts';
import { startLocal, stopLocal } from '../support/local-start.ts';

describe('npm start runs consumer functions from a consumers file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'streambed-consumers-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('records produced over HTTP reach the handler through the stream trigger, in order, after a retry', async () => {
    const port = await freePort();
    const sink = join(dir, 'sink.txt');
    const local = await startLocal(port, join(dir, 'data'), { STREAMBED_TEST_SINK: sink }, [
      '--consumers',
      'test/fixtures/consumers.json',
    ]);
    const deadline = Date.now() + 120_000;
    try {
      assert.match(local.output(), /group 'sink' consumes 'events'.*does not exist yet/);
      const base = `http://127.0.0.1:${port}`;
      const post = (path: string, body: unknown) =>
        fetch(`${base}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      assert.equal((await post('/topics', { name: 'events', partitions: 1 })).status, 201);
      // The consumer attaches at the next sweep (every 5 s); records produced before that are not lost.
      const values = ['a', 'b', 'flaky', 'c', 'd', 'e', 'f'];
      assert.equal(
        (await post('/topics/events/records', { records: values.slice(0, 3).map((value) => ({ value })) }))
          .status,
        200,
      );
      while (!local.output().includes("group 'sink' consumes")) {
        assert.ok(Date.now() < deadline, local.output());
        await sleep(100);
      }
      assert.equal(
        (await post('/topics/events/records', { records: values.slice(3).map((value) => ({ value })) }))
          .status,
        200,
      );
      const lines = () => (existsSync(sink) ? readFileSync(sink, 'utf8').trim().split('\n') : []);
      while (new Set(lines()).size < values.length) {
        assert.ok(Date.now() < deadline, `${local.output()}\n${lines().join('\n')}`);
        await sleep(100);
      }
      const firstSeen = [...new Set(lines())];
      assert.deepEqual(
        firstSeen,
        values.map((value, offset) => `0:${offset}:${JSON.stringify(value)}`),
      );
    } finally {
      await stopLocal(local.child);
    }
  });

  test('a consumers file with parallelizationFactor, onFailure and a produce return: every order gets exactly one invoice, the poison order alone goes to orders.failed', async () => {
    const port = await freePort();
    const local = await startLocal(port, join(dir, 'data-v2'), {}, [
      '--consumers',
      'test/fixtures/consumers-v2.json',
    ]);
    try {
      const base = `http://127.0.0.1:${port}`;
      const post = (path: string, body: unknown) =>
        fetch(`${base}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      for (const [name, partitions] of [
        ['orders', 1],
        ['invoices', 3],
        ['orders.failed', 1],
      ] as const) {
        assert.equal((await post('/topics', { name, partitions })).status, 201);
      }
      // The consumer attaches at the next sweep; records produced before are not lost.
      const values = Array.from({ length: 40 }, (_, i) => (i === 17 ? 'poison' : `order-${i}`));
      assert.equal(
        (
          await post('/topics/orders/records', {
            records: values.map((value, i) => ({ key: `c${i % 7}`, value })),
          })
        ).status,
        200,
      );
      const read = async (topic: string, partition: number) =>
        (await (
          await fetch(`${base}/topics/${topic}/partitions/${partition}/records?offset=0&maxRecords=1000`)
        ).json()) as {
          records: { key: string; value: unknown }[];
        };
      const deadline = Date.now() + 90_000;
      let invoices: { key: string; value: unknown }[] = [];
      let failed: { value: unknown }[] = [];
      while (Date.now() < deadline) {
        invoices = (await Promise.all([0, 1, 2].map((p) => read('invoices', p)))).flatMap((r) => r.records);
        failed = (await read('orders.failed', 0)).records;
        if (invoices.length >= 39 && failed.length >= 1) break;
        await sleep(250);
      }
      await sleep(1_000);
      invoices = (await Promise.all([0, 1, 2].map((p) => read('invoices', p)))).flatMap((r) => r.records);
      failed = (await read('orders.failed', 0)).records;
      assert.deepEqual(
        invoices.map((r) => (r.value as { invoiceFor: string }).invoiceFor).sort(),
        values.filter((v) => v !== 'poison').sort(),
        local.output(),
      );
      assert.equal(failed.length, 1);
      const info = (failed[0]?.value as { streambedBatchInfo: { startOffset: number; endOffset: number } })
        .streambedBatchInfo;
      assert.deepEqual([info.startOffset, info.endOffset], [17, 17]);
    } finally {
      await stopLocal(local.child);
    }
  });
});
