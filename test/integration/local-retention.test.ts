import assert from 'node:assert/strict';
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

describe('retention on npm start', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'streambed-retention-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  test('a topic with retentionMs 60000 under steady load holds about a minute of data: its object count stops growing', async (t) => {
    const port = await freePort();
    // Sweeps every 5 s with npm start's default grace (2 minutes): objects live ~3 minutes.
    const local = await startLocal(port, dataDir, { STREAMBED_SWEEP_INTERVAL_MS: '5000' });
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
        body: JSON.stringify({ name: 'minute', partitions: 2, config: { retentionMs: 60_000 } }),
      });
      const topic = (await created.json()) as { id: string };
      const prefix = `topics/minute/${topic.id}/`;
      const samples: { at: number; objects: number; start: number }[] = [];
      const began = Date.now();
      let produced = 0;
      const producer = (async () => {
        while (Date.now() - began < 260_000) {
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
      while (Date.now() - began < 260_000) {
        await sleep(10_000);
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
      const rate = produced / 260; // calls (objects) per second
      const late = samples.filter((s) => s.at >= 210);
      const peak = Math.max(...samples.map((s) => s.objects));
      // Retention starts after a minute; from ~3.5 minutes collection keeps pace with production.
      assert.ok((samples.find((s) => s.at >= 90)?.start ?? 0) > 0, JSON.stringify(samples));
      assert.ok(
        Math.max(...late.map((s) => s.objects)) <=
          Math.max(...samples.filter((s) => s.at < 210).map((s) => s.objects)) + rate * 10,
        `object count stops growing: ${JSON.stringify(samples)}`,
      );
      // About (retention + grace + a sweep) of objects, never all of them.
      assert.ok(peak < produced * 0.9, `peak ${peak} of ${produced}: ${JSON.stringify(samples)}`);
      assert.ok(peak <= rate * (60 + 120 + 20), `peak ${peak} at ${rate.toFixed(1)} objects/s`);
    } finally {
      s3.destroy();
      assert.equal(await stopLocal(local.child), 0);
    }
  });
});
