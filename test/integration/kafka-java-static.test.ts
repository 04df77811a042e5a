import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildJar, KAFKA_CLIENTS_VERSION, type Running, start, until } from '../java/interop.ts';
import { type LocalKafka, startLocalKafka } from '../support/local-start.ts';

/** A static group member (the `member` scenario with a group.instance.id) and what it printed. */
interface Member {
  readonly running: Running;
  /** Every assignment its rebalance listener printed, in order. */
  readonly assignments: number[][];
  readonly committed: string[];
}

describe(`static membership with the Java client (kafka-clients ${KAFKA_CLIENTS_VERSION}) against the Kafka door`, () => {
  let local: LocalKafka | undefined;
  let http = '';
  let bootstrap = '';
  const running: Running[] = [];

  const post = async (path: string, body: object) => {
    const res = await fetch(`${http}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.ok(res.ok, `${path}: HTTP ${res.status} ${await res.text()}`);
  };
  const member = (topic: string, group: string, instance: string): Member => {
    const m: Member = {
      assignments: [],
      committed: [],
      running: start(
        bootstrap,
        ['member', topic, group, 'org.apache.kafka.clients.consumer.RangeAssignor', instance],
        (line) => {
          if (Array.isArray(line.assigned)) m.assignments.push(line.assigned as number[]);
          if (typeof line.committed === 'string') m.committed.push(line.committed);
        },
      ),
    };
    running.push(m.running);
    return m;
  };
  const stop = async (m: Member) => {
    m.running.process.stdin?.end('stop\n');
    await m.running.exited;
  };

  before(async () => {
    buildJar();
    local = await startLocalKafka('kafka-java-static');
    ({ http, bootstrap } = local);
  });
  after(async () => {
    for (const r of running) r.process.kill('SIGKILL');
    await local?.stop();
  });

  test('the leader, a static member, restarted within its session timeout gets its partitions back with no rebalance: the other member keeps its assignment untouched, and the restarted one consumes', async () => {
    const TOPIC = 'java-static';
    const GROUP = 'java-static-group';
    await post('/topics', { name: TOPIC, partitions: 4 });
    const a = member(TOPIC, GROUP, 'instance-a');
    const b = member(TOPIC, GROUP, 'instance-b');
    const spread = () => {
      const [pa, pb] = [a.assignments.at(-1) ?? [], b.assignments.at(-1) ?? []];
      return pa.length > 0 && pb.length > 0 && [...pa, ...pb].sort().join() === '0,1,2,3';
    };
    await until('the two static members to share the four partitions', spread);
    // The leader is the one whose client logged the last assignment it made (the harder restart: it is
    // answered skipAssignment, and must not re-assign).
    const generationLed = (m: Member) =>
      Math.max(
        -1,
        ...[...m.running.stderr().matchAll(/Finished assignment for group at generation (\d+)/g)].map((x) =>
          Number(x[1]),
        ),
      );
    const [leader, follower, leaderInstance] =
      generationLed(a) > generationLed(b) ? [a, b, 'instance-a'] : [b, a, 'instance-b'];
    const followerRebalances = follower.assignments.length;
    const leaderPartitions = leader.assignments.at(-1) as number[];

    // A static member's close sends no LeaveGroup: the group keeps its place for the session timeout.
    await stop(leader);
    const back = member(TOPIC, GROUP, leaderInstance);
    await until('the restarted member to be assigned', () => back.assignments.length > 0);
    assert.deepEqual(back.assignments[0], leaderPartitions, 'the same partitions as before the restart');

    // It consumes its partitions: one record per partition, each committed by its owner.
    await post(`/topics/${TOPIC}/records`, {
      records: [0, 1, 2, 3].map((partition) => ({ partition, value: `after-${partition}` })),
    });
    await until(
      'every partition to have its record committed',
      () => follower.committed.length + back.committed.length >= 4,
    );
    assert.deepEqual(back.committed.map((c) => Number(c.split(':')[0])).sort(), [...leaderPartitions].sort());
    // No rebalance happened: the other member's listener never ran again.
    assert.equal(
      follower.assignments.length,
      followerRebalances,
      `the follower saw ${JSON.stringify(follower.assignments)}`,
    );
    await stop(follower);
    await stop(back);
  });
});
