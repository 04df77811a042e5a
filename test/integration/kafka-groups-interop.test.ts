import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Admin, type Consumer, Kafka, logLevel, type Producer } from 'kafkajs';
import { freePort } from '../../lib/harness/process.ts';
import { startLocal, stopLocal } from '../support/local-start.ts';

const TOPIC = 'groups-six';
const GROUP = 'interop-group';
const PARTITIONS = 6;

async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One group member: what it was last assigned, and the (partition, offset) pairs whose commit succeeded. */
interface Member {
  readonly name: string;
  readonly consumer: Consumer;
  assigned: number[];
}

describe('kafkajs 2.2.4 consumer groups against the Kafka door of npm start', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'streambed-kafka-groups-'));
  let child: Awaited<ReturnType<typeof startLocal>>['child'] | undefined;
  let http = '';
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  const members: Member[] = [];

  before(async () => {
    const [port, kafkaPort] = [await freePort(), await freePort()];
    const started = await startLocal(port, dataDir, {}, ['--kafka-port', String(kafkaPort)]);
    child = started.child;
    http = `http://127.0.0.1:${port}`;
    kafka = new Kafka({
      brokers: [`127.0.0.1:${kafkaPort}`],
      clientId: 'groups-interop',
      // KAFKAJS_LOG=1 shows kafkajs's own account of joins, syncs and rebalances.
      logLevel: process.env.KAFKAJS_LOG === undefined ? logLevel.NOTHING : logLevel.INFO,
      retry: { retries: 8, initialRetryTime: 100 },
    });
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer();
    await producer.connect();
  });
  after(async () => {
    for (const m of members) await m.consumer.disconnect().catch(() => {});
    await producer?.disconnect();
    await admin?.disconnect();
    if (child !== undefined) await stopLocal(child);
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("three members share six partitions, rebalance when one leaves and when it returns; every record is committed exactly once, and the commits are the HTTP API's offsets with lag 0", async () => {
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] });
    let produced = 0;
    const produce = async (count: number) => {
      const messages = Array.from({ length: count }, (_, i) => ({
        partition: (produced + i) % PARTITIONS,
        value: `record-${produced + i}`,
      }));
      await producer.send({ topic: TOPIC, messages });
      produced += count;
    };
    await produce(60);

    /** `${partition}:${offset}` of every record whose processing was committed. */
    const committed: string[] = [];
    const start = async (name: string): Promise<Member> => {
      const consumer = kafka.consumer({
        groupId: GROUP,
        sessionTimeout: 10_000,
        rebalanceTimeout: 10_000,
        heartbeatInterval: 500,
        maxWaitTimeInMs: 300,
        retry: { retries: 8, initialRetryTime: 100 },
      });
      const member: Member = { name, consumer, assigned: [] };
      consumer.on(consumer.events.GROUP_JOIN, (event) => {
        member.assigned = [...(event.payload.memberAssignment[TOPIC] ?? [])].sort((a, b) => a - b);
      });
      await consumer.connect();
      await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          const next = (BigInt(message.offset) + 1n).toString();
          // Throws (and kafkajs rejoins) when the generation moved on: then the record counts for
          // whoever commits it next, never twice.
          await consumer.commitOffsets([{ topic: TOPIC, partition, offset: next }]);
          committed.push(`${partition}:${message.offset}`);
        },
      });
      members.push(member);
      return member;
    };
    const covers = (group: readonly Member[]) => {
      const all = group.flatMap((m) => m.assigned).sort((a, b) => a - b);
      return (
        group.every((m) => m.assigned.length > 0) && all.length === PARTITIONS && all.every((p, i) => p === i)
      );
    };

    const a = await start('a');
    const b = await start('b');
    const c = await start('c');
    await until('every member to get partitions', () => covers([a, b, c]));
    await produce(60);
    await until('the records so far to be committed', () => committed.length >= 120);

    await c.consumer.disconnect();
    members.splice(members.indexOf(c), 1);
    c.assigned = [];
    await until('the two left to take over all six partitions', () => covers([a, b]));
    await produce(60);
    await until('the records so far to be committed', () => committed.length >= 180);

    const back = await start('c again');
    await until('every member to get partitions again', () => covers([a, b, back]));
    await produce(60);
    await until('every record to be committed', () => committed.length >= produced);

    const expected = Array.from({ length: produced }, (_, i) => {
      const partition = i % PARTITIONS;
      return `${partition}:${Math.floor(i / PARTITIONS)}`;
    }).sort();
    assert.deepEqual([...committed].sort(), expected, 'each record committed exactly once');

    const perPartition = produced / PARTITIONS;
    const overHttp = (await (await fetch(`${http}/groups/${GROUP}/offsets?topic=${TOPIC}`)).json()) as {
      offsets: { partition: number; offset: number; lagRecords: number }[];
    };
    assert.deepEqual(
      overHttp.offsets.map((o) => [o.partition, o.offset, o.lagRecords]),
      Array.from({ length: PARTITIONS }, (_, p) => [p, perPartition, 0]),
    );
    const overKafka = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
    assert.deepEqual(
      overKafka[0]?.partitions
        .map((p) => [p.partition, p.offset])
        .sort((x, y) => Number(x[0]) - Number(y[0])),
      Array.from({ length: PARTITIONS }, (_, p) => [p, String(perPartition)]),
    );
    const described = await admin.describeGroups([GROUP]);
    assert.equal(described.groups[0]?.state, 'Stable');
    assert.equal(described.groups[0]?.members.length, 3);
    const listed = await admin.listGroups();
    assert.ok(listed.groups.some((g) => g.groupId === GROUP && g.protocolType === 'consumer'));
  });
});
