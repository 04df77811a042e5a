import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../lib/harness/process.ts';
import { startLocal, stopLocal } from '../support/local-start.ts';

describe('one log, two doors: a consumer function is invoked for records produced with kcat', () => {
  const dir = mkdtempSync(join(tmpdir(), 'streambed-kafka-fn-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('kcat produces keyed lines over the Kafka protocol; the function gets them in order, with their keys', async () => {
    const port = await freePort();
    const kafkaPort = await freePort();
    const sink = join(dir, 'sink.txt');
    const local = await startLocal(port, join(dir, 'data'), { STREAMBED_TEST_SINK: sink }, [
      '--consumers',
      'test/fixtures/consumers-kafka.json',
      '--kafka-port',
      String(kafkaPort),
    ]);
    const deadline = Date.now() + 120_000;
    try {
      const created = await fetch(`http://127.0.0.1:${port}/topics`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'clicks', partitions: 1 }),
      });
      assert.equal(created.status, 201);
      while (!local.output().includes("group 'text-sink' consumes")) {
        assert.ok(Date.now() < deadline, local.output());
        await sleep(100);
      }
      const lines = ['u1:home', 'u2:cart', 'u1:checkout'];
      execFileSync('kcat', ['-b', `127.0.0.1:${kafkaPort}`, '-P', '-t', 'clicks', '-p', '0', '-K:'], {
        input: `${lines.join('\n')}\n`,
        stdio: ['pipe', 'ignore', 'pipe'],
      });
      const seen = () => (existsSync(sink) ? readFileSync(sink, 'utf8').trim().split('\n') : []);
      while (seen().length < lines.length) {
        assert.ok(Date.now() < deadline, `${local.output()}\n${seen().join('\n')}`);
        await sleep(100);
      }
      assert.deepEqual(seen(), ['0:0:u1:home', '0:1:u2:cart', '0:2:u1:checkout']);
    } finally {
      await stopLocal(local.child);
    }
  });
});
