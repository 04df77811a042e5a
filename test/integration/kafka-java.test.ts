import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { freePort } from '../../lib/harness/process.ts';
import { ApiKey, decodeResponse, encodeRecordBatch, encodeRequest } from '../../lib/kafka/index.ts';
import { startLocal, stopLocal } from '../support/local-start.ts';

const run = promisify(execFile);
const project = new URL('../java/kafka-interop/', import.meta.url).pathname;
const jar = join(project, 'target', 'kafka-interop.jar');
/** kafka-clients as pinned in test/java/kafka-interop/pom.xml. */
const CLIENT = 'the Java client (kafka-clients 4.1.1)';

/** One JSON line the interop program printed. */
type Line = Record<string, unknown>;

interface HttpRecord {
  readonly offset: number;
  readonly timestamp: number;
  readonly key: string | null;
  readonly headers: Record<string, string>;
  readonly valueBase64: string;
}

const parseLines = (text: string): Line[] =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);

async function until(what: string, check: () => boolean, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Builds the interop jar once (`mvn -q -B package`; ~/.m2 is the cache). Maven is required: without it
 * the test fails here, saying so, rather than skipping.
 */
function buildJar(): void {
  const version = spawnSync('mvn', ['-v'], { encoding: 'utf8' });
  if (version.error !== undefined || version.status !== 0) {
    throw new Error(
      'mvn (Maven 3) is needed to build the Java client interop program (test/java/kafka-interop): ' +
        'install it (apt-get install maven; .ci/run does) and run the test again',
    );
  }
  const built = spawnSync('mvn', ['-q', '-B', 'package'], {
    cwd: project,
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (built.status !== 0) throw new Error(`mvn package failed:\n${built.stdout}\n${built.stderr}`);
}

/** One request over a fresh connection to the Kafka door (size-prefixed), and the response's bytes. */
async function roundTrip(host: string, port: number, request: Uint8Array): Promise<Uint8Array> {
  const socket = connect(port, host);
  try {
    const size = Buffer.alloc(4);
    size.writeInt32BE(request.length);
    socket.write(Buffer.concat([size, request]));
    let received = Buffer.alloc(0);
    for await (const chunk of socket) {
      received = Buffer.concat([received, chunk as Buffer]);
      if (received.length >= 4 && received.length >= 4 + received.readInt32BE(0)) break;
    }
    return received.subarray(4, 4 + received.readInt32BE(0));
  } finally {
    socket.destroy();
  }
}

/** A long-running group member (the `member` scenario) and what it printed so far. */
interface Member {
  readonly name: string;
  readonly process: ChildProcess;
  assigned: number[];
  readonly exited: Promise<void>;
}

describe(`${CLIENT} against the Kafka door of npm start`, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'streambed-kafka-java-'));
  let child: Awaited<ReturnType<typeof startLocal>>['child'] | undefined;
  let http = '';
  let bootstrap = '';
  const members: Member[] = [];

  /** Runs one scenario to its end: its JSON lines. */
  const java = async (scenario: string, ...args: (string | number)[]): Promise<Line[]> => {
    try {
      const { stdout } = await run('java', ['-jar', jar, bootstrap, scenario, ...args.map(String)], {
        maxBuffer: 64 * 1024 * 1024,
        timeout: 120_000,
      });
      return parseLines(stdout);
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string; message: string };
      throw new Error(`java ${scenario} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
    }
  };
  const httpJson = async <T>(path: string, init?: RequestInit): Promise<T> => {
    const res = await fetch(`${http}${path}`, init);
    assert.ok(res.ok, `${path}: HTTP ${res.status} ${await res.clone().text()}`);
    return (await res.json()) as T;
  };
  const httpRecords = async (topic: string, partition: number): Promise<HttpRecord[]> =>
    (await httpJson<{ records: HttpRecord[] }>(`/topics/${topic}/partitions/${partition}/records?offset=0`))
      .records;
  const httpProduce = async (topic: string, records: object[]): Promise<void> => {
    await httpJson(`/topics/${topic}/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ records }),
    });
  };
  const createTopic = (name: string, partitions: number) =>
    httpJson('/topics', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name, partitions }),
    });

  before(async () => {
    buildJar();
    const [port, kafkaPort] = [await freePort(), await freePort()];
    const started = await startLocal(port, dataDir, {}, ['--kafka-port', String(kafkaPort)]);
    child = started.child;
    http = `http://127.0.0.1:${port}`;
    bootstrap = `127.0.0.1:${kafkaPort}`;
  });
  after(async () => {
    for (const m of members) m.process.kill('SIGKILL');
    if (child !== undefined) await stopLocal(child);
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('AdminClient creates a topic with 3 partitions, describes it, and deletes it; GET /topics sees each step', async () => {
    const [created] = await java('admin-create', 'java-admin', 3);
    assert.equal(created?.created, 'java-admin');
    const listed = await httpJson<{ topics: { name: string; partitions: number }[] }>('/topics');
    assert.deepEqual(
      listed.topics.filter((t) => t.name === 'java-admin').map((t) => t.partitions),
      [3],
    );
    const [described] = await java('admin-describe', 'java-admin');
    assert.deepEqual(
      described?.partitions,
      [0, 1, 2].map((partition) => ({ leader: 0, partition })),
    );
    assert.equal(described?.nodes, 1);
    const [deleted] = await java('admin-delete', 'java-admin');
    assert.ok(!(deleted?.topics as string[]).includes('java-admin'));
    const after = await httpJson<{ topics: { name: string }[] }>('/topics');
    assert.ok(!after.topics.some((t) => t.name === 'java-admin'));
  });

  test('the idempotent producer (acks=all, linger, gzip then zstd) appends keyed records with headers once each, in order, read back over HTTP; lz4 and snappy are refused with UNSUPPORTED_COMPRESSION_TYPE', async () => {
    await createTopic('java-produce', 3);
    const sent: Line[] = [];
    for (const compression of ['gzip', 'zstd']) {
      const lines = await java('produce', 'java-produce', compression, 30);
      assert.equal(lines.length, 30);
      for (const line of lines) {
        assert.equal(line.error, undefined, JSON.stringify(line));
        sent.push({ ...line, compression });
      }
    }
    for (const partition of [0, 1, 2]) {
      const mine = sent.filter((s) => s.partition === partition);
      const records = await httpRecords('java-produce', partition);
      // Dense offsets from 0, in the order the producer sent them, each once.
      assert.deepEqual(
        records.map((r) => r.offset),
        mine.map((_, i) => i),
      );
      assert.deepEqual(
        mine.map((s) => s.offset),
        mine.map((_, i) => i),
      );
      assert.deepEqual(
        records.map((r) => [r.key, r.headers.n, Buffer.from(r.valueBase64, 'base64').toString()]),
        mine.map((s) => {
          const i = String(s.key).slice('key-'.length);
          return [s.key, i, `${s.compression}-value-${i}`];
        }),
      );
    }
    for (const compression of ['lz4', 'snappy']) {
      const lines = await java('produce', 'java-produce', compression, 3);
      assert.deepEqual(
        lines.map((l) => l.error),
        [
          'UnsupportedCompressionTypeException',
          'UnsupportedCompressionTypeException',
          'UnsupportedCompressionTypeException',
        ],
      );
      assert.match(String(lines[0]?.message), new RegExp(`'${compression}' is not supported`));
    }
    const total = (await Promise.all([0, 1, 2].map((p) => httpRecords('java-produce', p)))).flat().length;
    assert.equal(total, 60, 'nothing of the refused batches was appended');
  });

  test('a KafkaConsumer in a group (classic protocol) reads every record and commits; a second run reads nothing; the HTTP API shows lag 0', async () => {
    await createTopic('java-group', 3);
    const sent = await java('produce', 'java-group', 'gzip', 24);
    const first = await java('consume', 'java-group', 'java-readers', 24);
    const done = first.at(-1);
    const records = first.slice(0, -1);
    assert.deepEqual(
      records.map((r) => `${r.partition}:${r.offset}`).sort(),
      sent.map((s) => `${s.partition}:${s.offset}`).sort(),
    );
    const ends = Object.fromEntries(
      [0, 1, 2].map((p) => [String(p), sent.filter((s) => s.partition === p).length]),
    );
    assert.deepEqual(done?.committed, ends);
    const second = await java('consume', 'java-group', 'java-readers', 0);
    assert.deepEqual(second, [{ done: 0, committed: ends }]);
    const overHttp = await httpJson<{ offsets: { partition: number; offset: number; lagRecords: number }[] }>(
      '/groups/java-readers/offsets?topic=java-group',
    );
    assert.deepEqual(
      overHttp.offsets.map((o) => [o.partition, o.offset, o.lagRecords]),
      [0, 1, 2].map((p) => [p, ends[String(p)], 0]),
    );
  });

  test('offsetsForTimes finds the first record at or after a timestamp in each partition, and a seek there reads exactly the records from it', async () => {
    await createTopic('java-times', 2);
    const early = await java('produce', 'java-times', 'none', 10);
    const late = await java('produce', 'java-times', 'zstd', 10);
    const since = Math.min(...late.map((l) => Number(l.timestamp)));
    assert.ok(since > Math.max(...early.map((l) => Number(l.timestamp))));
    const lines = await java('offsets-for-times', 'java-times', since);
    const [offsets] = lines;
    const firstLate = (p: number) => {
      const mine = late.filter((l) => l.partition === p);
      return mine.length === 0 ? null : Math.min(...mine.map((l) => Number(l.offset)));
    };
    assert.deepEqual(offsets?.offsets, { '0': firstLate(0), '1': firstLate(1) });
    const read = lines.slice(1, -1);
    assert.deepEqual(
      read.map((r) => `${r.partition}:${r.offset}:${r.value}`).sort(),
      late.map((l) => `${l.partition}:${l.offset}:zstd-value-${String(l.key).slice(4)}`).sort(),
    );
    assert.deepEqual(lines.at(-1), { done: 10 });
  });

  test('records produced over HTTP are consumed by the Java client with their keys, values, headers and offsets', async () => {
    await createTopic('java-cross', 2);
    const records = Array.from({ length: 8 }, (_, i) => ({
      partition: i % 2,
      key: `http-${i}`,
      valueBase64: Buffer.from(`from-http-${i}`).toString('base64'),
      headers: { origin: 'http', i: String(i) },
    }));
    await httpProduce('java-cross', records);
    const lines = await java('consume', 'java-cross', 'java-cross-readers', 8);
    const read = lines.slice(0, -1).sort((a, b) => Number(a.partition) - Number(b.partition));
    assert.deepEqual(
      read.map((r) => [r.partition, r.offset, r.key, r.value, r.headers]),
      [0, 2, 4, 6, 1, 3, 5, 7].map((i) => [
        i % 2,
        Math.floor(i / 2),
        `http-${i}`,
        `from-http-${i}`,
        { origin: 'http', i: String(i) },
      ]),
    );
  });

  test('the idempotent producer recovers from OUT_OF_ORDER_SEQUENCE_NUMBER by bumping its own epoch, which the door accepts: every record appended once, in order', async () => {
    await createTopic('java-recover', 1);
    const proc = spawn('java', ['-jar', jar, bootstrap, 'produce-recover', 'java-recover'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    proc.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    proc.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    await until('the first five records and the producer id', () => out.includes('"producerId"'), 60_000);
    const [id] = parseLines(out).filter((l) => l.producerId !== undefined);
    assert.equal(id?.epoch, 0);
    // Another batch under the producer's id and epoch takes sequence 5: the producer's own batch 5 is
    // now out of sequence, and the Java client answers that with an epoch bump (KIP-360).
    const [host, port] = bootstrap.split(':') as [string, string];
    const batch = encodeRecordBatch({
      baseOffset: 0,
      compression: 'none',
      baseTimestamp: Date.now(),
      maxTimestamp: Date.now(),
      producerId: BigInt(String(id?.producerId)),
      producerEpoch: 0,
      baseSequence: 5,
      records: [0, 1].map((i) => ({
        timestampDelta: 0,
        offsetDelta: i,
        key: Buffer.from(`intruder-${i}`),
        value: Buffer.from('x'),
        headers: [],
      })),
    });
    const request = encodeRequest(
      { apiKey: ApiKey.Produce, apiVersion: 9, correlationId: 1, clientId: 'intruder' },
      {
        transactionalId: null,
        acks: -1,
        timeoutMs: 10_000,
        topicData: [{ name: 'java-recover', partitionData: [{ index: 0, records: batch }] }],
      },
    );
    const { body } = decodeResponse(ApiKey.Produce, 9, await roundTrip(host, Number(port), request));
    const answered = (
      body.responses as { partitionResponses: { errorCode: number; baseOffset: bigint }[] }[]
    )[0]?.partitionResponses[0];
    assert.deepEqual([answered?.errorCode, answered?.baseOffset], [0, 5n]);
    proc.stdin?.end('go\n');
    assert.equal(await exited, 0, err);
    const lines = parseLines(out);
    assert.deepEqual(
      lines.filter((l) => l.key !== undefined).map((l) => [l.key, l.error ?? l.offset]),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => [`r-${i}`, i < 5 ? i : i + 2]),
    );
    assert.equal(lines.at(-1)?.epoch, 1, 'the producer bumped its epoch');
    const keys = (await httpRecords('java-recover', 0)).map((r) => r.key);
    assert.deepEqual(keys, [
      ...[0, 1, 2, 3, 4].map((i) => `r-${i}`),
      'intruder-0',
      'intruder-1',
      ...[5, 6, 7, 8, 9].map((i) => `r-${i}`),
    ]);
  });

  test('three Java consumers share six partitions, rebalance when one leaves and when it returns; every record is committed exactly once', async () => {
    const TOPIC = 'java-six';
    const GROUP = 'java-members';
    const PARTITIONS = 6;
    await createTopic(TOPIC, PARTITIONS);
    let produced = 0;
    const produce = async (count: number) => {
      const batch = Array.from({ length: count }, (_, i) => ({
        partition: (produced + i) % PARTITIONS,
        valueBase64: Buffer.from(`record-${produced + i}`).toString('base64'),
      }));
      await httpProduce(TOPIC, batch);
      produced += count;
    };
    /** `${partition}:${offset}` of every record whose commit succeeded. */
    const committed: string[] = [];
    const start = (name: string): Member => {
      const proc = spawn('java', ['-jar', jar, bootstrap, 'member', TOPIC, GROUP], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      const member: Member = { name, process: proc, assigned: [], exited };
      let pending = '';
      proc.stdout?.on('data', (chunk: Buffer) => {
        pending += chunk.toString();
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of parseLines(lines.join('\n'))) {
          if (Array.isArray(line.assigned)) member.assigned = line.assigned as number[];
          if (typeof line.committed === 'string') committed.push(line.committed);
        }
      });
      proc.stderr?.on('data', () => {});
      members.push(member);
      return member;
    };
    const stop = async (member: Member) => {
      member.process.stdin?.end('stop\n');
      await member.exited;
      members.splice(members.indexOf(member), 1);
      member.assigned = [];
    };
    const covers = (group: readonly Member[]) => {
      const all = group.flatMap((m) => m.assigned).sort((a, b) => a - b);
      return (
        group.every((m) => m.assigned.length > 0) && all.length === PARTITIONS && all.every((p, i) => p === i)
      );
    };

    await produce(60);
    const a = start('a');
    const b = start('b');
    const c = start('c');
    await until('every member to get partitions', () => covers([a, b, c]));
    await produce(60);
    await until('the records so far to be committed', () => committed.length >= 120);

    await stop(c);
    await until('the two left to take over all six partitions', () => covers([a, b]));
    await produce(60);
    await until('the records so far to be committed', () => committed.length >= 180);

    const back = start('c again');
    await until('every member to get partitions again', () => covers([a, b, back]));
    await produce(60);
    await until('every record to be committed', () => committed.length >= produced);

    const expected = Array.from(
      { length: produced },
      (_, i) => `${i % PARTITIONS}:${Math.floor(i / PARTITIONS)}`,
    );
    assert.deepEqual([...committed].sort(), expected.sort(), 'each record committed exactly once');
    const overHttp = await httpJson<{ offsets: { partition: number; offset: number; lagRecords: number }[] }>(
      `/groups/${GROUP}/offsets?topic=${TOPIC}`,
    );
    assert.deepEqual(
      overHttp.offsets.map((o) => [o.partition, o.offset, o.lagRecords]),
      Array.from({ length: PARTITIONS }, (_, p) => [p, produced / PARTITIONS, 0]),
    );
    for (const m of [...members]) await stop(m);
  });
});
