import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  Admin,
  Consumer,
  type Message,
  type MessagesStream,
  Producer,
  stringDeserializers,
  stringSerializers,
} from '@platformatic/kafka';
import { freePort } from '../../lib/harness/process.ts';
import { startLocal, stopLocal } from '../support/local-start.ts';

async function until(
  what: string | (() => string),
  check: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

type StringMessage = Message<string, string, string, string>;

/** One group member: its consumer, its stream, and what it was last assigned. */
interface Member {
  readonly name: string;
  readonly consumer: Consumer<string, string, string, string>;
  stream?: MessagesStream<string, string, string, string>;
  assigned: number[];
  /** Stops processing (after the record in hand), then closes the stream and leaves the group. */
  stop: () => Promise<void>;
}

interface HttpRecord {
  offset: number;
  key: string | null;
  valueBase64: string;
  headers: Record<string, string>;
}

describe('@platformatic/kafka 2.12.1 against the Kafka door of npm start', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'streambed-platformatic-'));
  let child: Awaited<ReturnType<typeof startLocal>>['child'] | undefined;
  let http = '';
  let brokers: string[] = [];
  let admin: Admin;
  const closers: (() => Promise<unknown>)[] = [];

  const producer = (clientId: string) => {
    const p = new Producer<string, string, string, string>({
      clientId,
      bootstrapBrokers: brokers,
      serializers: stringSerializers,
      idempotent: true,
      retries: 5,
      retryDelay: 100,
    });
    closers.push(() => p.close());
    return p;
  };
  const consumer = (groupId: string, clientId: string, retries = 8) => {
    const c = new Consumer<string, string, string, string>({
      groupId,
      clientId,
      bootstrapBrokers: brokers,
      deserializers: stringDeserializers,
      retries,
      retryDelay: 100,
      maxWaitTime: 300,
    });
    closers.push(() => c.close(true));
    return c;
  };
  const httpRecords = async (topic: string, partition: number): Promise<HttpRecord[]> => {
    const res = await fetch(`${http}/topics/${topic}/partitions/${partition}/records?offset=0`);
    assert.equal(res.status, 200);
    return ((await res.json()) as { records: HttpRecord[] }).records;
  };

  before(async () => {
    const [port, kafkaPort] = [await freePort(), await freePort()];
    const started = await startLocal(port, dataDir, {}, ['--kafka-port', String(kafkaPort)]);
    child = started.child;
    http = `http://127.0.0.1:${port}`;
    brokers = [`127.0.0.1:${kafkaPort}`];
    admin = new Admin({ clientId: 'platformatic-admin', bootstrapBrokers: brokers, retries: 2 });
  });
  after(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
    await admin?.close().catch(() => {});
    if (child !== undefined) await stopLocal(child);
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('admin creates a topic (the HTTP API lists it), reads its metadata, and deletes it', async () => {
    const created = await admin.createTopics({ topics: ['pl-admin'], partitions: 3, replicas: 1 });
    assert.deepEqual(
      created.map((t) => [t.name, t.partitions]),
      [['pl-admin', 3]],
    );
    assert.ok((await admin.listTopics()).includes('pl-admin'));
    const meta = await admin.metadata({ topics: ['pl-admin'] });
    assert.equal(meta.topics.get('pl-admin')?.partitionsCount, 3);
    const overHttp = (await (await fetch(`${http}/topics`)).json()) as { topics: { name: string }[] };
    assert.ok(overHttp.topics.some((t) => t.name === 'pl-admin'));

    await admin.deleteTopics({ topics: ['pl-admin'] });
    assert.ok(!(await admin.listTopics()).includes('pl-admin'));
    const afterDelete = (await (await fetch(`${http}/topics`)).json()) as { topics: { name: string }[] };
    assert.ok(!afterDelete.topics.some((t) => t.name === 'pl-admin'));
  });

  test('an idempotent producer with retries appends keyed records with headers once each; HTTP reads the same keys, values and headers', async () => {
    await admin.createTopics({ topics: ['pl-idem'], partitions: 2, replicas: 1 });
    const p = producer('platformatic-idem');
    for (let i = 0; i < 5; i++) {
      const result = await p.send({
        messages: [
          {
            topic: 'pl-idem',
            partition: 0,
            key: `k${i}`,
            value: `v${i}`,
            headers: { n: String(i), src: 'pl' },
          },
          { topic: 'pl-idem', partition: 1, key: `j${i}`, value: `w${i}`, headers: { n: String(i) } },
        ],
      });
      assert.deepEqual(
        (result.offsets ?? [])
          .map((o) => [o.partition, o.offset])
          .sort((a, b) => Number(a[0]) - Number(b[0])),
        [
          [0, BigInt(i)],
          [1, BigInt(i)],
        ],
      );
    }
    assert.equal(typeof p.producerId, 'bigint');

    const zero = await httpRecords('pl-idem', 0);
    assert.deepEqual(
      zero.map((r) => [r.offset, r.key, Buffer.from(r.valueBase64, 'base64').toString(), r.headers]),
      [0, 1, 2, 3, 4].map((i) => [i, `k${i}`, `v${i}`, { n: String(i), src: 'pl' }]),
    );
    const one = await httpRecords('pl-idem', 1);
    assert.deepEqual(
      one.map((r) => [r.offset, r.key, Buffer.from(r.valueBase64, 'base64').toString(), r.headers]),
      [0, 1, 2, 3, 4].map((i) => [i, `j${i}`, `w${i}`, { n: String(i) }]),
    );
  });

  test('batches compressed with snappy, lz4, gzip and zstd (by the client itself) are appended and read back over HTTP', async () => {
    await admin.createTopics({ topics: ['pl-codecs'], partitions: 1, replicas: 1 });
    const p = producer('platformatic-codecs');
    const codecs = ['snappy', 'lz4', 'gzip', 'zstd'] as const;
    for (const compression of codecs) {
      await p.send({
        compression,
        messages: Array.from({ length: 20 }, (_, i) => ({
          topic: 'pl-codecs',
          partition: 0,
          key: `${compression}-${i}`,
          value: `${compression}:${String(i).repeat(200)}`,
        })),
      });
    }
    const records = await httpRecords('pl-codecs', 0);
    assert.deepEqual(
      records.map((r) => [r.offset, r.key, Buffer.from(r.valueBase64, 'base64').toString()]),
      codecs.flatMap((c, k) =>
        Array.from({ length: 20 }, (_, i) => [k * 20 + i, `${c}-${i}`, `${c}:${String(i).repeat(200)}`]),
      ),
    );
  });

  test('offsets by timestamp (Admin and Consumer listOffsets), then a manual-mode consumer reads from there', async () => {
    await admin.createTopics({ topics: ['pl-time'], partitions: 1, replicas: 1 });
    const p = producer('platformatic-time');
    const t0 = 1_700_000_000_000n;
    for (let i = 0; i < 10; i++) {
      await p.send({
        messages: [
          {
            topic: 'pl-time',
            partition: 0,
            key: `t${i}`,
            value: `at-${i}`,
            timestamp: t0 + BigInt(i) * 1000n,
          },
        ],
      });
    }
    // The first record at or after t0 + 5.5 s is offset 6.
    const listed = await admin.listOffsets({
      topics: [{ name: 'pl-time', partitions: [{ partitionIndex: 0, timestamp: t0 + 5500n }] }],
    });
    assert.deepEqual(
      listed.map((t) => [t.name, t.partitions.map((x) => [x.partitionIndex, x.offset])]),
      [['pl-time', [[0, 6n]]]],
    );
    const c = consumer('pl-time-group', 'platformatic-time');
    const byConsumer = await c.listOffsets({ topics: ['pl-time'], timestamp: t0 + 5500n });
    assert.deepEqual(byConsumer.get('pl-time'), [6n]);
    const latest = await c.listOffsets({ topics: ['pl-time'] });
    assert.deepEqual(latest.get('pl-time'), [10n]);

    const stream = await c.consume({
      topics: ['pl-time'],
      mode: 'manual',
      offsets: [{ topic: 'pl-time', partition: 0, offset: 6n }],
      autocommit: false,
      maxWaitTime: 300,
    });
    const seen: [bigint, string, string, bigint][] = [];
    try {
      for await (const m of stream as AsyncIterable<StringMessage>) {
        seen.push([m.offset, m.key, m.value, m.timestamp]);
        if (seen.length === 4) break;
      }
    } finally {
      await stream.close();
    }
    assert.deepEqual(
      seen,
      [6, 7, 8, 9].map((i) => [BigInt(i), `t${i}`, `at-${i}`, t0 + BigInt(i) * 1000n]),
    );
  });

  // @platformatic/kafka 2.12.1 retries a commit the coordinator refused (REBALANCE_IN_PROGRESS,
  // ILLEGAL_GENERATION: Kafka's answers, in Kafka's conditions) after it rejoins, under the new generation,
  // whether or not the partition is still the member's (Consumer#commit: rejoin, then commit again). Such a
  // commit lands (the member is in the new generation), on a partition that may have moved: the new owner
  // then starts after a record nobody counted, or reads it again. Kafka's own brokers accept it too. So the
  // members here commit as a careful user of this client does: only while the consumer is an active member
  // of a settled generation (Consumer#isActive: not while it rejoins), for a partition still assigned then.
  // A commit sent then is processed before the member's next JoinGroup (one connection, in order), and the
  // join barrier cannot close without that JoinGroup: the coordinator accepts it (Stable or
  // PreparingRebalance, the member's generation), so the client never retries it.
  test('a group of three shares six partitions, rebalances when one leaves and when it returns; every record is committed exactly once', async () => {
    const TOPIC = 'pl-groups';
    const GROUP = 'pl-group';
    const PARTITIONS = 6;
    await admin.createTopics({ topics: [TOPIC], partitions: PARTITIONS, replicas: 1 });
    const p = producer('platformatic-groups');
    let produced = 0;
    const produce = async (count: number) => {
      const messages = Array.from({ length: count }, (_, i) => ({
        topic: TOPIC,
        partition: (produced + i) % PARTITIONS,
        key: `key-${produced + i}`,
        value: `record-${produced + i}`,
      }));
      await p.send({ messages });
      produced += count;
    };
    await produce(60);
    // Every partition starts with a committed offset (an admin commit outside any generation): on each
    // join the stream rewinds to it. Without one, the stream keeps the position it fetched up to in an
    // earlier generation (skipped records above would be lost to the count, not to the group).
    await admin.alterConsumerGroupOffsets({
      groupId: GROUP,
      topics: [
        {
          name: TOPIC,
          partitionOffsets: Array.from({ length: PARTITIONS }, (_, x) => ({ partition: x, offset: 0n })),
        },
      ],
    });

    /** `${partition}:${offset}` of every record whose commit succeeded. */
    const committed: string[] = [];
    const errors: unknown[] = [];
    const members: Member[] = [];
    const start = async (name: string): Promise<Member> => {
      const c = consumer(GROUP, `platformatic-${name.replace(/ /g, '-')}`);
      const member: Member = { name, consumer: c, assigned: [], stop: async () => {} };
      let stopping = false;
      /**
       * Per partition, the offset of the next record this member is to commit: one past its last
       * commit, or, once a join gave it the partition, the group's committed offset then.
       */
      const next = new Map<number, bigint>();
      /** Completed joins of this member (each a generation with its assignment). */
      let joins = 0;
      c.on('consumer:group:join', (payload) => {
        joins++;
        next.clear();
        member.assigned = (payload.assignments ?? [])
          .filter((a) => a.topic === TOPIC)
          .flatMap((a) => a.partitions)
          .sort((x, y) => x - y);
      });
      const stream = await c.consume({
        topics: [TOPIC],
        mode: 'committed',
        fallbackMode: 'earliest',
        autocommit: false,
        sessionTimeout: 10_000,
        rebalanceTimeout: 10_000,
        heartbeatInterval: 500,
        maxWaitTime: 300,
      });
      member.stream = stream;
      stream.on('error', (error) => errors.push(error));
      const owns = (partition: number) =>
        (c.assignments ?? []).some((x) => x.topic === TOPIC && x.partitions.includes(partition));
      const gone = () => stopping || c.closed || stream.closed;
      /** Processes one record: commits it if it is this member's next one (see above), else skips it. */
      const handle = async (m: StringMessage): Promise<void> => {
        for (;;) {
          // Not while the consumer rejoins: wait for the generation to settle (or the member to close).
          while (!c.isActive() && !gone()) await new Promise((r) => setTimeout(r, 20));
          // A partition no longer owned is the new owner's to read from the last commit.
          if (gone() || !owns(m.partition)) return;
          const at = joins;
          let from = next.get(m.partition);
          if (from === undefined) {
            const listed = await c.listCommittedOffsets({
              topics: [{ topic: TOPIC, partitions: [m.partition] }],
            });
            if (joins !== at) continue; // a rebalance meanwhile: decide again
            from = listed.get(TOPIC)?.[m.partition] ?? 0n; // indexed by partition
            next.set(m.partition, from);
          }
          // Below: processed already (the stream rewinds to the committed offset on every join). Above:
          // fetched before a rebalance; the stream fetches it again from the committed offset.
          if (m.offset !== from) return;
          if (!c.isActive()) continue;
          try {
            await c.commit({
              offsets: [
                { topic: m.topic, partition: m.partition, offset: m.offset + 1n, leaderEpoch: m.leaderEpoch },
              ],
            });
          } catch {
            return; // refused, and not retried: the new owner reads the record from the last commit
          }
          if (joins !== at) {
            // The client retried the commit after a rejoin: where it landed is not known (above).
            errors.push(new Error(`the commit of ${m.partition}:${m.offset} was retried across a rebalance`));
            return;
          }
          committed.push(`${m.partition}:${m.offset}`);
          next.set(m.partition, m.offset + 1n);
          return;
        }
      };
      const loop = (async () => {
        try {
          for await (const m of stream as AsyncIterable<StringMessage>) {
            await handle(m);
            if (gone()) break;
          }
        } catch (error) {
          if (!stopping) errors.push(error);
        }
      })();
      member.stop = async () => {
        if (stopping) return;
        stopping = true;
        const closing = stream.close();
        await loop;
        await closing;
        // Not in the middle of a rejoin (another member's leave starts one): closed then, a @platformatic/kafka
        // 2.12.1 consumer sometimes never returned from close (2 runs in 6; its connection stayed open
        // while the server already had the group empty).
        await until('the member to settle before it leaves', () => c.isActive() || c.closed, 30_000).catch(
          () => {},
        );
        await c.close();
      };
      closers.push(member.stop);
      members.push(member);
      return member;
    };
    const state = () =>
      `committed ${committed.length} of ${produced}; ${members.map((m) => `${m.name}: [${m.assigned}] fetching ${JSON.stringify([...(m.stream?.offsetsToFetch ?? [])].map(([k, v]) => `${k}@${v}`))}`).join(', ')}; per partition ${JSON.stringify(Array.from({ length: PARTITIONS }, (_, x) => committed.filter((k) => k.startsWith(`${x}:`)).length))}`;
    const covers = (group: readonly Member[]) => {
      const all = group.flatMap((m) => m.assigned).sort((x, y) => x - y);
      return (
        group.every((m) => m.assigned.length > 0) && all.length === PARTITIONS && all.every((x, i) => x === i)
      );
    };

    const a = await start('a');
    const b = await start('b');
    const c = await start('c');
    await until(
      () => `every member to get partitions: ${state()}`,
      () => covers([a, b, c]),
    );
    await produce(60);
    await until(
      () => `the records so far to be committed: ${state()}`,
      () => committed.length >= 120,
    );

    await c.stop();
    c.assigned = [];
    await until(
      () => `the two left to take over all six partitions: ${state()}`,
      () => covers([a, b]),
    );
    await produce(60);
    await until(
      () => `the records so far to be committed: ${state()}`,
      () => committed.length >= 180,
    );

    const back = await start('c again');
    await until(
      () => `every member to get partitions again: ${state()}`,
      () => covers([a, b, back]),
    );
    await produce(60);
    await until(
      () => `every record to be committed: ${state()}`,
      () => committed.length >= produced,
    );
    // A moment more, for any record read twice to show up.
    await new Promise((r) => setTimeout(r, 1000));

    const expected = Array.from(
      { length: produced },
      (_, i) => `${i % PARTITIONS}:${Math.floor(i / PARTITIONS)}`,
    );
    assert.deepEqual([...committed].sort(), expected.sort(), 'each record committed exactly once');
    assert.deepEqual(errors, []);

    const perPartition = BigInt(produced / PARTITIONS);
    const overKafka = await a.consumer.listCommittedOffsets({
      topics: [{ topic: TOPIC, partitions: Array.from({ length: PARTITIONS }, (_, i) => i) }],
    });
    assert.deepEqual(
      overKafka.get(TOPIC),
      Array.from({ length: PARTITIONS }, () => perPartition),
    );
    const overHttp = (await (await fetch(`${http}/groups/${GROUP}/offsets?topic=${TOPIC}`)).json()) as {
      offsets: { partition: number; offset: number; lagRecords: number }[];
    };
    assert.deepEqual(
      overHttp.offsets.map((o) => [o.partition, o.offset, o.lagRecords]),
      Array.from({ length: PARTITIONS }, (_, x) => [x, Number(perPartition), 0]),
    );
    const groups = await admin.describeGroups({ groups: [GROUP] });
    assert.match(String(groups.get(GROUP)?.state), /^stable$/i);
    assert.equal(groups.get(GROUP)?.members.size, 3);
  });
});
