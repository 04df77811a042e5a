import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { canRun, freePort } from '../../lib/harness/process.ts';
import { startLocal, stopLocal } from '../support/local-start.ts';

/** kcat with its exit code, stdout and stderr; input on stdin; killed after `timeoutMs` (a hang fails). */
function kcat(
  args: readonly string[],
  input = '',
  timeoutMs = 30_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      'kcat',
      args,
      { timeout: timeoutMs, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(input);
  });
}

const haveKcat = canRun('kcat', ['-V']);

describe(
  'kcat against the Kafka door of npm start',
  { skip: haveKcat ? false : 'kcat is not installed' },
  () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'streambed-kcat-'));
    let child: Awaited<ReturnType<typeof startLocal>>['child'] | undefined;
    let output = () => '';
    let http = '';
    let broker = '';

    before(async () => {
      const [port, kafkaPort] = [await freePort(), await freePort()];
      const started = await startLocal(port, dataDir, {}, ['--kafka-port', String(kafkaPort)]);
      child = started.child;
      output = started.output;
      http = `http://127.0.0.1:${port}`;
      broker = `127.0.0.1:${kafkaPort}`;
      const created = await fetch(`${http}/topics`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'orders', partitions: 3 }),
      });
      assert.equal(created.status, 201);
    });
    after(async () => {
      if (child !== undefined) await stopLocal(child);
      rmSync(dataDir, { recursive: true, force: true });
    });

    test('npm start prints the Kafka address, and kcat -L lists the topics with this one broker as leader and controller', async () => {
      assert.ok(output().includes(`Kafka protocol: ${broker}`), output());
      const { code, stdout } = await kcat(['-b', broker, '-L']);
      assert.equal(code, 0);
      assert.match(stdout, new RegExp(`broker 0 at ${broker} \\(controller\\)`));
      assert.match(stdout, /topic "orders" with 3 partitions:/);
      assert.match(stdout, /partition 2, leader 0, replicas: 0, isrs: 0/);
    });
  },
);
