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
    async function createTopic(name: string, partitions: number): Promise<void> {
      const created = await fetch(`${http}/topics`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name, partitions }),
      });
      assert.equal(created.status, 201, await created.text());
    }

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

    test('kcat -P with keys and headers, then kcat -C -e reads the same keys, values and headers back in offset order', async () => {
      await createTopic('kcat-keys', 1);
      const produced = await kcat(
        ['-b', broker, '-P', '-t', 'kcat-keys', '-K:', '-H', 'source=kcat', '-H', 'trace=abc'],
        'customer-42:{"total":12}\ncustomer-7:{"total":3}\n',
      );
      assert.equal(produced.code, 0, produced.stderr);
      const consumed = await kcat(['-b', broker, '-C', '-t', 'kcat-keys', '-e', '-f', '%o %k %s %h\n']);
      assert.equal(consumed.code, 0, consumed.stderr);
      assert.equal(
        consumed.stdout,
        '0 customer-42 {"total":12} source=kcat,trace=abc\n1 customer-7 {"total":3} source=kcat,trace=abc\n',
      );
    });

    for (const codec of ['gzip', 'zstd', 'snappy', 'lz4']) {
      // librdkafka 2.0.2 compresses gzip, snappy and lz4 only for brokers serving Produce v0 (a check
      // that also leaves them uncompressed against Kafka 4 brokers, which dropped v0-2): it sends those
      // uncompressed here, and zstd compressed. Compressed snappy and lz4 come from the Java client
      // (kafka-java.test.ts) and @platformatic/kafka (kafka-platformatic.test.ts).
      test(`kcat -z ${codec}: the records round-trip, never a hang`, async () => {
        const topic = `kcat-${codec}`;
        await createTopic(topic, 1);
        // Compressible values large enough that librdkafka does compress them when it may.
        const lines = Array.from({ length: 20 }, (_, i) => `k${i}:${String(i).repeat(300)}`);
        const produced = await kcat(
          ['-b', broker, '-P', '-t', topic, '-K:', '-z', codec],
          `${lines.join('\n')}\n`,
        );
        assert.equal(produced.code, 0, produced.stderr);
        const consumed = await kcat(['-b', broker, '-C', '-t', topic, '-e', '-f', '%k:%s\n']);
        assert.equal(consumed.code, 0, consumed.stderr);
        assert.deepEqual(consumed.stdout.trimEnd().split('\n'), lines);
      });
    }

    test('cross-door: records produced with kcat are fetched over HTTP with the same offsets, keys, headers and values', async () => {
      await createTopic('cross-kcat', 1);
      const produced = await kcat(
        ['-b', broker, '-P', '-t', 'cross-kcat', '-K:', '-H', 'h=1'],
        'a:one\nb:two\n',
      );
      assert.equal(produced.code, 0, produced.stderr);
      const body = (await (
        await fetch(`${http}/topics/cross-kcat/partitions/0/records?offset=0`)
      ).json()) as {
        highWatermark: number;
        records: { offset: number; key: string; headers: object; valueBase64: string }[];
      };
      assert.equal(body.highWatermark, 2);
      assert.deepEqual(
        body.records.map((r) => [
          r.offset,
          r.key,
          r.headers,
          Buffer.from(r.valueBase64, 'base64').toString(),
        ]),
        [
          [0, 'a', { h: '1' }, 'one'],
          [1, 'b', { h: '1' }, 'two'],
        ],
      );
    });

    test('cross-door: records produced over HTTP are consumed with kcat, and kcat -o -1 starts at the last one', async () => {
      await createTopic('cross-http', 1);
      const produced = await fetch(`${http}/topics/cross-http/records`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          records: [
            { key: 'customer-42', value: { total: 12 } },
            { key: 'customer-7', valueBase64: Buffer.from('raw').toString('base64') },
          ],
        }),
      });
      assert.equal(produced.status, 200);
      const all = await kcat(['-b', broker, '-C', '-t', 'cross-http', '-e', '-f', '%o %k %s\n']);
      assert.equal(all.stdout, '0 customer-42 {"total":12}\n1 customer-7 raw\n');
      const last = await kcat(['-b', broker, '-C', '-t', 'cross-http', '-o', '-1', '-e', '-f', '%o %k\n']);
      assert.equal(last.stdout, '1 customer-7\n');
    });

    test("kcat -G consumes as a balanced group member and commits: the group's offsets over HTTP are the ends, and a second run of the group reads nothing", async () => {
      await createTopic('kcat-group', 3);
      const lines = Array.from({ length: 30 }, (_, i) => `k${i}:v${i}`);
      const produced = await kcat(['-b', broker, '-P', '-t', 'kcat-group', '-K:'], `${lines.join('\n')}\n`);
      assert.equal(produced.code, 0, produced.stderr);
      const ends = (await (await fetch(`${http}/topics/kcat-group`)).json()) as {
        partitionStates: { partition: number; highWatermark: number }[];
      };
      const group = [
        '-b',
        broker,
        '-G',
        'kcat-members',
        '-X',
        'auto.offset.reset=earliest',
        '-e',
        '-f',
        '%p:%o %k\n',
        'kcat-group',
      ];
      const first = await kcat(group, '', 60_000);
      assert.equal(first.code, 0, first.stderr);
      const read = first.stdout.trimEnd().split('\n');
      assert.equal(read.length, 30, first.stdout);
      assert.deepEqual(read.map((l) => l.split(' ')[1]).sort(), lines.map((l) => l.split(':')[0]).sort());
      assert.equal(new Set(read.map((l) => l.split(' ')[0])).size, 30, 'a record read twice');

      const offsets = (await (
        await fetch(`${http}/groups/kcat-members/offsets?topic=kcat-group`)
      ).json()) as {
        offsets: { partition: number; offset: number; lagRecords: number }[];
      };
      assert.deepEqual(
        offsets.offsets.map((o) => [o.partition, o.offset, o.lagRecords]),
        ends.partitionStates.map((p) => [p.partition, p.highWatermark, 0]),
      );
      const second = await kcat(group, '', 60_000);
      assert.equal(second.code, 0, second.stderr);
      assert.equal(second.stdout, '', 'the second run read what the first committed');
    });

    test('kcat -C on a topic that does not exist fails with an unknown-topic error, without creating it', async () => {
      const { code, stderr } = await kcat(['-b', broker, '-C', '-t', 'no-such-topic', '-e'], '', 20_000);
      assert.notEqual(code, 0);
      assert.match(stderr, /unknown topic|not available|UNKNOWN_TOPIC/i);
      const listed = await (await fetch(`${http}/topics`)).json();
      assert.ok(!JSON.stringify(listed).includes('no-such-topic'));
    });
  },
);
