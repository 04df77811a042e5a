import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  buildJar,
  idempotentBatch,
  KAFKA_CLIENTS_VERSION,
  type Line,
  type Running,
  scenario,
  start,
  until,
} from '../java/interop.ts';
import { type LocalKafka, startLocalKafka } from '../support/local-start.ts';

const CLIENT = `the Java client (kafka-clients ${KAFKA_CLIENTS_VERSION})`;

interface HttpRecord {
  readonly offset: number;
  readonly timestamp: number;
  readonly key: string | null;
  readonly headers: Record<string, string>;
  readonly valueBase64: string;
}

/** A long-running group member (the `member` scenario) and what it printed so far. */
interface Member {
  readonly name: string;
  readonly running: Running;
  assigned: number[];
}

describe(`${CLIENT} against the Kafka door of npm start`, () => {
  let local: LocalKafka | undefined;
  let http = '';
  let bootstrap = '';
  const members: Member[] = [];

  /** Runs one scenario to its end: its JSON lines. */
  const java = (name: string, ...args: (string | number)[]): Promise<Line[]> =>
    scenario(bootstrap, name, ...args);
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
    local = await startLocalKafka('kafka-java');
    ({ http, bootstrap } = local);
  });
  after(async () => {
    for (const m of members) m.running.process.kill('SIGKILL');
    await local?.stop();
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

  test('the idempotent producer (acks=all, linger, gzip, zstd, lz4 then snappy) appends keyed records with headers once each, in order, read back over HTTP', async () => {
    await createTopic('java-produce', 3);
    const sent: Line[] = [];
    // Kafka's own codecs on the client side: snappy-java (xerial framing) and lz4-java (frames).
    for (const compression of ['gzip', 'zstd', 'lz4', 'snappy']) {
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
    const total = (await Promise.all([0, 1, 2].map((p) => httpRecords('java-produce', p)))).flat().length;
    assert.equal(total, 120);
  });

  test('plain producers with acks=1 (offsets answered) and acks=0 (no answer: offset -1) append every record', async () => {
    await createTopic('java-acks', 1);
    const one = await java('produce', 'java-acks', 'none', 5, '1');
    assert.deepEqual(
      one.map((l) => l.offset),
      [0, 1, 2, 3, 4],
    );
    const zero = await java('produce', 'java-acks', 'gzip', 5, '0');
    assert.deepEqual(
      zero.map((l) => l.offset),
      [-1, -1, -1, -1, -1],
    );
    // acks=0 is not waited for: the records land shortly after.
    let keys: (string | null)[] = [];
    await until(
      'the acks=0 records to land',
      () => keys.length === 10,
      30_000,
      async () => {
        keys = (await httpRecords('java-acks', 0)).map((r) => r.key);
      },
    );
    assert.deepEqual(
      keys,
      [0, 1, 2, 3, 4, 0, 1, 2, 3, 4].map((i) => `key-${i}`),
    );
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

  test("an operator's AdminClient calls on a group and its topic: group listing, description and offsets, listOffsets, describeConfigs, deleteRecords", async () => {
    await createTopic('java-inspect', 2);
    const sent = await java('produce', 'java-inspect', 'none', 12);
    await java('consume', 'java-inspect', 'java-inspectors', 12);
    const calls = new Map<string, Line>();
    for (const line of await java('admin-inspect', 'java-inspect', 'java-inspectors')) {
      calls.set(String(line.call), line);
    }
    const groups = calls.get('listConsumerGroups')?.result as { groupId: string }[];
    assert.ok(groups.some((g) => g.groupId === 'java-inspectors'));
    assert.deepEqual(calls.get('describeConsumerGroups')?.result, {
      state: 'Empty',
      members: 0,
      assignor: '',
      coordinator: 0,
    });
    const ends = [0, 1].map((p) => sent.filter((l) => l.partition === p).length);
    assert.deepEqual(calls.get('listConsumerGroupOffsets')?.result, {
      'java-inspect-0': ends[0],
      'java-inspect-1': ends[1],
    });
    assert.equal(calls.get('listOffsets latest')?.result, ends[0]);
    // Max-timestamp (ListOffsets v7+) is not served; the Java client fails only that spec.
    assert.equal(calls.get('listOffsets maxTimestamp')?.error, 'UnsupportedVersionException');
    assert.equal(
      (calls.get('describeConfigs')?.result as Record<string, string>)['cleanup.policy'],
      'delete',
    );
    assert.equal(calls.get('deleteRecords')?.result, 1);
    // The last call wins in the map: listOffsets earliest after deleteRecords.
    assert.equal(calls.get('listOffsets earliest')?.result, 1);
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
    const lines: Line[] = [];
    const producer = start(bootstrap, ['produce-recover', 'java-recover'], (line) => lines.push(line));
    await until('the first five records and the producer id', () => lines.some((l) => l.producerId), 60_000);
    const id = lines.find((l) => l.producerId !== undefined);
    assert.equal(id?.epoch, 0);
    // Another batch under the producer's id and epoch takes sequence 5: the producer's own batch 5 is
    // now out of sequence, and the Java client answers that with an epoch bump (KIP-360).
    assert.deepEqual(
      await idempotentBatch(bootstrap, 'java-recover', String(id?.producerId), 5, [
        'intruder-0',
        'intruder-1',
      ]),
      [0, 5n],
    );
    producer.process.stdin?.end('go\n');
    assert.equal(await producer.exited, 0, producer.stderr());
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

  for (const [slug, protocol, assignor] of [
    ['range', 'range (eager)', 'org.apache.kafka.clients.consumer.RangeAssignor'],
    [
      'cooperative',
      'cooperative-sticky (incremental)',
      'org.apache.kafka.clients.consumer.CooperativeStickyAssignor',
    ],
  ] as const) {
    test(`three Java consumers (${protocol}) share six partitions, rebalance when one leaves and when it returns; every record is committed exactly once`, async () => {
      const TOPIC = `java-six-${slug}`;
      const GROUP = `java-members-${slug}`;
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
      const join = (name: string): Member => {
        const member: Member = {
          name,
          assigned: [],
          running: start(bootstrap, ['member', TOPIC, GROUP, assignor], (line) => {
            if (Array.isArray(line.assigned)) member.assigned = line.assigned as number[];
            if (typeof line.committed === 'string') committed.push(line.committed);
          }),
        };
        members.push(member);
        return member;
      };
      const stop = async (member: Member) => {
        member.running.process.stdin?.end('stop\n');
        await member.running.exited;
        members.splice(members.indexOf(member), 1);
        member.assigned = [];
      };
      const covers = (group: readonly Member[]) => {
        const all = group.flatMap((m) => m.assigned).sort((a, b) => a - b);
        return (
          group.every((m) => m.assigned.length > 0) &&
          all.length === PARTITIONS &&
          all.every((p, i) => p === i)
        );
      };

      await produce(60);
      const a = join('a');
      const b = join('b');
      const c = join('c');
      await until('every member to get partitions', () => covers([a, b, c]));
      await produce(60);
      await until('the records so far to be committed', () => committed.length >= 120);

      await stop(c);
      await until('the two left to take over all six partitions', () => covers([a, b]));
      await produce(60);
      await until('the records so far to be committed', () => committed.length >= 180);

      const back = join('c again');
      await until('every member to get partitions again', () => covers([a, b, back]));
      await produce(60);
      await until('every record to be committed', () => committed.length >= produced);

      const expected = Array.from(
        { length: produced },
        (_, i) => `${i % PARTITIONS}:${Math.floor(i / PARTITIONS)}`,
      );
      assert.deepEqual([...committed].sort(), expected.sort(), 'each record committed exactly once');
      const overHttp = await httpJson<{
        offsets: { partition: number; offset: number; lagRecords: number }[];
      }>(`/groups/${GROUP}/offsets?topic=${TOPIC}`);
      assert.deepEqual(
        overHttp.offsets.map((o) => [o.partition, o.offset, o.lagRecords]),
        Array.from({ length: PARTITIONS }, (_, p) => [p, produced / PARTITIONS, 0]),
      );
      for (const m of [...members]) await stop(m);
    });
  }
});
