import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Consumer } from '../../lib/client/consumer.ts';
import { errorFromResponse } from '../../lib/client/errors.ts';
import type { Transport } from '../../lib/client/transport.ts';
import { OffsetOutOfRangeError, UnknownMemberError } from '../../lib/core/errors.ts';

/** A group of one partition (0) on a log of `end` one-byte records, with every call logged. */
function fakeGroup(options: { heartbeatIntervalMs?: number; end?: number } = {}) {
  const members = new Set<string>();
  const commits: number[] = [];
  const heartbeats: number[] = [];
  const membership = (memberId: string) => ({
    memberId,
    sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 3_333,
    assignments: [{ partition: 0, leaseCounter: 1 }],
  });
  const end = options.end ?? 1_000;
  const calls = {
    commit: async (offset: number): Promise<void> => {
      commits.push(offset);
    },
    heartbeat: async (memberId: string) => {
      heartbeats.push(Date.now());
      if (!members.has(memberId)) throw new UnknownMemberError(`member ${memberId} is gone`);
      return membership(memberId);
    },
  };
  const transport = {
    limits: { maxRecordsPerRequest: 10_000, maxRequestPayloadBytes: 1 << 20, maxPartitionsPerCommit: 50 },
    joinGroup: async (_g: string, _t: string, o: { memberId: string }) => {
      members.add(o.memberId);
      return membership(o.memberId);
    },
    heartbeat: async (_g: string, _t: string, memberId: string) => await calls.heartbeat(memberId),
    leaveGroup: async (_g: string, _t: string, memberId: string) => {
      members.delete(memberId);
    },
    groupOffsets: async () => [{ partition: 0, offset: 0 }],
    listOffsets: async () => 0,
    commitAsMember: async (_g: string, _t: string, _m: string, offsets: { offset: number }[]) => {
      for (const o of offsets) await calls.commit(o.offset);
    },
    fetch: async (r: { offset: number }) => {
      const n = Math.max(0, Math.min(10, end - r.offset));
      return {
        records: Array.from({ length: n }, (_, i) => ({
          offset: r.offset + i,
          timestamp: 0,
          key: null,
          value: new Uint8Array([1]),
          valueIsJson: false,
          headers: [],
        })),
        nextOffset: r.offset + n,
        highWatermark: end,
        logStartOffset: 0,
      };
    },
  } as unknown as Transport;
  return { transport, members, commits, heartbeats, calls };
}

describe('consumer shutdown commits only what was consumed, and leaves for good', () => {
  test('a loop that throws on a record commits that record’s offset: it is delivered again', async () => {
    const g = fakeGroup();
    const consumer = new Consumer(g.transport, { group: 'g', topic: 't' });
    await assert.rejects(async () => {
      for await (const record of consumer) if (record.offset === 5) throw new Error('handler failed');
    }, /handler failed/);
    assert.equal(g.commits.at(-1), 5, 'the failed record is the next to read');
    assert.equal(g.members.size, 0, 'left the group');
  });

  test('close() while the loop handles a record does not commit past it', async () => {
    const g = fakeGroup();
    const consumer = new Consumer(g.transport, { group: 'g', topic: 't' });
    for await (const record of consumer) {
      if (record.offset === 3) await consumer.close(); // as a SIGTERM handler would, mid-record
    }
    assert.equal(g.commits.at(-1), 3);
  });

  test('commit() then break: the record the loop was on stays committed, and no commit goes back', async () => {
    const g = fakeGroup();
    const errors: unknown[] = [];
    const consumer = new Consumer(g.transport, { group: 'g', topic: 't', onError: (e) => errors.push(e) });
    for await (const record of consumer) {
      if (record.offset === 5) {
        await consumer.commit();
        break;
      }
    }
    assert.deepEqual(g.commits.slice(-1), [6]);
    assert.ok(
      g.commits.every((c, i) => i === 0 || c >= (g.commits[i - 1] as number)),
      `commits ${g.commits} only go forward`,
    );
    assert.deepEqual(errors, []);
  });

  test('poll callers commit every record returned on close, as Kafka does', async () => {
    const g = fakeGroup();
    const consumer = new Consumer(g.transport, { group: 'g', topic: 't', maxPollRecords: 4 });
    const got = await consumer.poll();
    await consumer.close();
    assert.equal(g.commits.at(-1), (got.at(-1)?.offset ?? -1) + 1);
  });

  test(
    'a heartbeat under way when close() leaves does not join the group again',
    { timeout: 10_000 },
    async () => {
      const g = fakeGroup({ heartbeatIntervalMs: 100 });
      let slowCommit: () => void = () => {};
      g.calls.commit = async () => {
        await new Promise<void>((resolve) => {
          slowCommit = resolve;
        });
      };
      const consumer = new Consumer(g.transport, { group: 'g', topic: 't', autoCommitIntervalMs: 1e9 });
      await consumer.poll();
      await consumer.poll();
      while (g.heartbeats.length === 0) await sleep(5); // a heartbeat's commit is now waiting
      const closing = consumer.close();
      slowCommit();
      await sleep(20);
      slowCommit();
      await closing;
      await sleep(250);
      assert.equal(g.members.size, 0, 'no member left behind');
    },
  );

  test(
    'a commit that keeps retrying does not hold the heartbeats back past half an interval',
    { timeout: 10_000 },
    async () => {
      const g = fakeGroup({ heartbeatIntervalMs: 100 });
      g.calls.commit = async () => {
        await sleep(60); // a slow, busy server: each attempt takes 60 ms and fails
        throw errorFromResponse(503, { error: { code: 'Throttled', message: 'busy' } }, null);
      };
      const errors: unknown[] = [];
      const consumer = new Consumer(g.transport, {
        group: 'g',
        topic: 't',
        autoCommitIntervalMs: 1e9,
        onError: (e) => errors.push(e),
        retry: { retries: 5, initialDelayMs: 40, maxDelayMs: 40 },
      });
      await consumer.poll();
      await consumer.poll();
      const start = g.heartbeats.length;
      await sleep(1_000);
      const beats = g.heartbeats.slice(start);
      assert.ok(beats.length >= 5, `${beats.length} heartbeats in 1 s at a 100 ms interval`);
      for (let i = 1; i < beats.length; i++) {
        const gap = (beats[i] as number) - (beats[i - 1] as number);
        assert.ok(gap < 400, `${gap} ms between heartbeats`);
      }
      await consumer.close();
      assert.ok(errors.length > 0, 'the failed commits were reported');
    },
  );

  test(
    'a seek made while the consumer resets after OffsetOutOfRange wins over the reset',
    { timeout: 10_000 },
    async () => {
      const g = fakeGroup({ end: 1_000 });
      const transport = g.transport as unknown as Record<string, unknown>;
      const fetch = transport.fetch as (r: { offset: number }) => Promise<unknown>;
      let refused = 0;
      transport.fetch = async (r: { offset: number }) => {
        if (r.offset < 100) {
          refused++;
          throw new OffsetOutOfRangeError(r.offset, 100, 1_000);
        }
        return await fetch(r);
      };
      let resetting: () => void = () => {};
      transport.listOffsets = async () => {
        await new Promise<void>((resolve) => {
          resetting = resolve;
        });
        return 100;
      };
      const consumer = new Consumer(g.transport, { group: 'g', topic: 't', autoOffsetReset: 'earliest' });
      const first = consumer.poll({ timeoutMs: 200 });
      while (refused === 0) await sleep(1);
      await sleep(5); // the reset is waiting for the log start
      await consumer.seek(0, 500);
      resetting();
      let records = await first;
      while (records.length === 0) records = await consumer.poll({ timeoutMs: 500 });
      assert.equal(records[0]?.offset, 500, 'read from the offset sought, not the reset one');
      await consumer.close();
    },
  );
});
