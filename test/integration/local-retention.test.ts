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
const RUN_MS = STEADY_MS + 25_000;

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

  test('a topic under steady load keeps every object younger than retention + grace and deletes the older ones: its object count stops growing', async (t) => {
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
      const samples: { from: number; to: number; objects: number; start: number }[] = [];
      // Each produce call stores one object: when it was sent and when it was acknowledged.
      const calls: { sent: number; acked: number }[] = [];
      const began = Date.now();
      const since = () => Date.now() - began;
      const producer = (async () => {
        while (since() < RUN_MS) {
          const sent = since();
          const answer = await fetch(`${url}/topics/minute/records`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              records: [
                { value: 'a', partition: 0 },
                { value: 'b', partition: 1 },
              ],
            }),
          });
          assert.equal(answer.status, 200, await answer.text());
          calls.push({ sent, acked: since() });
          await sleep(200);
        }
      })();
      while (since() < RUN_MS) {
        await sleep(SAMPLE_MS);
        const from = since();
        const described = (await (await fetch(`${url}/topics/minute`)).json()) as {
          partitionStates: { logStartOffset: number }[];
        };
        const objects = await countObjects(s3, prefix);
        samples.push({
          from,
          to: since(),
          objects,
          start: described.partitionStates[0]?.logStartOffset ?? 0,
        });
      }
      await producer;
      const shown = JSON.stringify(samples.map((x) => [Math.round(x.from / 1000), x.objects, x.start]));
      t.diagnostic(`[second, objects, log start]: ${shown}; ${calls.length} calls`);
      // The log start moves once records are older than retention (and a sweep ran).
      assert.ok((samples.find((x) => x.from >= RETENTION_MS + 10_000)?.start ?? 0) > 0, shown);
      const keep = RETENTION_MS + GRACE_MS;
      const late = samples.filter((x) => x.from >= STEADY_MS);
      assert.ok(late.length >= 3, shown);
      for (const x of late) {
        // Never early: every object sent within retention + grace (less a few sweeps' slack) before
        // the listing began, and acknowledged by then, is still there.
        const young = calls.filter((c) => c.acked <= x.from && c.sent > x.from - keep + 3 * SWEEP_MS).length;
        // Never kept: the objects listed were sent within retention + grace, a few sweeps and a
        // sample of slack before the listing ended (+1: a call in flight has stored its object).
        const recent = calls.filter((c) => c.sent > x.to - keep - 5 * SWEEP_MS - SAMPLE_MS).length + 1;
        assert.ok(
          young <= x.objects,
          `at ${x.from} ms ${x.objects} objects, ${young} younger than ${keep} ms: ${shown}`,
        );
        assert.ok(
          x.objects <= recent,
          `at ${x.from} ms ${x.objects} objects, only ${recent} recent: ${shown}`,
        );
      }
      assert.ok((late.at(-1)?.objects ?? 0) < calls.length, `never all of them: ${shown}`);
    } finally {
      s3.destroy();
      assert.equal(await stopLocal(local.child), 0);
    }
  });
});
