import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { freePort } from '../../lib/harness/process.ts';
import { startLocal, stopLocal } from '../support/local-start.ts';

async function countObjects(s3: S3Client, prefix: string): Promise<number> {
  let count = 0;
  let token: string | undefined;
  do {
    const out = await s3.send(
      new ListObjectsV2Command({ Bucket: 'streambed', Prefix: prefix, ContinuationToken: token }),
    );
    count += out.KeyCount ?? 0;
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token !== undefined);
  return count;
}

/** 20 s of retention with the least grace npm start allows: the test settles in under 3 minutes. */
const RETENTION_MS = 20_000;
const GRACE_MS = 120_000;
const SWEEP_MS = 2_000;
const SAMPLE_MS = 5_000;
/** From here the oldest objects are past retention and grace: collection keeps pace with production. */
const STEADY_MS = RETENTION_MS + GRACE_MS + 10_000;
const RUN_MS = STEADY_MS + 20_000;

describe('retention on npm start', () => {
  test('npm start refuses a grace under 2 minutes with exit 2, naming the variable, before starting anything', () => {
    const run = spawnSync(
      process.execPath,
      ['scripts/start.ts', '--port', '0', '--kafka-port', '0', '--data-dir', join(tmpdir(), 'never-created')],
      {
        cwd: new URL('../../', import.meta.url).pathname,
        env: { ...process.env, STREAMBED_GC_GRACE_MS: '40000' },
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, /STREAMBED_GC_GRACE_MS must be at least 120000 ms .* got 40000/);
    assert.doesNotMatch(run.stdout, /starting MinIO/);
  });

  const dataDir = mkdtempSync(join(tmpdir(), 'streambed-retention-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  test('a topic with retentionMs under steady load holds about that much data: its object count stops growing', async (t) => {
    const port = await freePort();
    // Sweeps every SWEEP_MS, deleting objects GRACE_MS after retention let them go.
    const local = await startLocal(port, dataDir, {
      STREAMBED_SWEEP_INTERVAL_MS: String(SWEEP_MS),
      STREAMBED_GC_GRACE_MS: String(GRACE_MS),
    });
    const url = `http://127.0.0.1:${port}`;
    const endpoint = /S3 \(MinIO\): (\S+)/.exec(local.output())?.[1];
    assert.ok(endpoint);
    const s3 = new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'streambed', secretAccessKey: 'streambed-local-secret' },
    });
    try {
      const created = await fetch(`${url}/topics`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'minute', partitions: 2, config: { retentionMs: RETENTION_MS } }),
      });
      const topic = (await created.json()) as { id: string };
      const prefix = `topics/minute/${topic.id}/`;
      const samples: { at: number; objects: number; start: number }[] = [];
      const began = Date.now();
      let produced = 0;
      const producer = (async () => {
        while (Date.now() - began < RUN_MS) {
          await fetch(`${url}/topics/minute/records`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              records: [
                { value: 'a', partition: 0 },
                { value: 'b', partition: 1 },
              ],
            }),
          });
          produced++;
          await sleep(200);
        }
      })();
      while (Date.now() - began < RUN_MS) {
        await sleep(SAMPLE_MS);
        const described = (await (await fetch(`${url}/topics/minute`)).json()) as {
          partitionStates: { logStartOffset: number }[];
        };
        samples.push({
          at: Math.round((Date.now() - began) / 1000),
          objects: await countObjects(s3, prefix),
          start: described.partitionStates[0]?.logStartOffset ?? 0,
        });
      }
      await producer;
      t.diagnostic(`objects, log start by second: ${JSON.stringify(samples)}; ${produced} calls`);
      const rate = produced / (RUN_MS / 1000); // calls (objects) per second
      const steady = STEADY_MS / 1000;
      const late = samples.filter((s) => s.at >= steady);
      const peak = Math.max(...samples.map((s) => s.objects));
      // The log start moves once records are older than retention (and a sweep ran); from STEADY_MS
      // collection keeps pace with production.
      assert.ok(
        (samples.find((s) => s.at >= RETENTION_MS / 1000 + 10)?.start ?? 0) > 0,
        JSON.stringify(samples),
      );
      assert.ok(late.length >= 3, `samples after ${steady} s: ${JSON.stringify(samples)}`);
      assert.ok(
        Math.max(...late.map((s) => s.objects)) <=
          Math.max(...samples.filter((s) => s.at < steady).map((s) => s.objects)) + rate * (SAMPLE_MS / 1000),
        `object count stops growing: ${JSON.stringify(samples)}`,
      );
      // About (retention + grace + a few sweeps) of objects, never all of them.
      assert.ok(peak < produced * 0.9, `peak ${peak} of ${produced}: ${JSON.stringify(samples)}`);
      assert.ok(
        peak <= rate * ((RETENTION_MS + GRACE_MS) / 1000 + 8),
        `peak ${peak} at ${rate.toFixed(1)} objects/s: ${JSON.stringify(samples)}`,
      );
    } finally {
      s3.destroy();
      assert.equal(await stopLocal(local.child), 0);
    }
  });
});
