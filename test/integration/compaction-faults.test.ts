import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { awsPorts } from '../../lib/adapters/aws.ts';
import type { PartitionIndex } from '../../lib/core/ports.ts';
import type { EngineDeps } from '../../lib/engine/context.ts';
import { Streambed } from '../../lib/engine/streambed.ts';
import { segmentIds } from '../support/lookups.ts';
import { bytes, type TestStack, testStack } from '../support/stack.ts';

const MIN = 60_000;
const text = (v: Uint8Array | null) => (v === null ? null : new TextDecoder().decode(v));

/** An engine on a shifted clock whose index's page swaps do what `swap` says. */
function engineAt(
  stack: TestStack,
  clock: { offset: number },
  swap?: (real: PartitionIndex['replacePages']) => PartitionIndex['replacePages'],
) {
  const deps: EngineDeps = awsPorts({ ...stack.config, engine: { now: () => Date.now() + clock.offset } });
  if (swap === undefined) return new Streambed(deps);
  const real = deps.index.replacePages.bind(deps.index);
  const index = new Proxy(deps.index, {
    get: (target, name, receiver) =>
      name === 'replacePages' ? swap(real) : Reflect.get(target, name, receiver),
  });
  return new Streambed({ ...deps, index });
}

async function values(log: Streambed, topic: string) {
  const r = await log.fetch({ topic, partition: 0, offset: 0, maxRecords: 10_000 });
  return r.records.map((rec) => `${rec.offset}:${text(rec.key)}=${text(rec.value)}`);
}

async function changelog(log: Streambed, topic: string, config: Record<string, unknown>) {
  await log.createTopic({ name: topic, partitions: 1, config });
  for (let round = 0; round < 4; round++) {
    await log.produce({
      topic,
      records: Array.from({ length: 20 }, (_, k) => ({ key: bytes(`k${k}`), value: bytes(`r${round}`) })),
    });
  }
}

describe('compaction faults: nothing is lost and nothing is left behind', () => {
  let stack: TestStack;
  before(async () => {
    stack = await testStack();
  });
  after(() => stack.close());

  for (const [name, config] of [
    ['key compaction', { cleanupPolicy: 'compact' }],
    ['small-object compaction', { retentionMs: -1, targetObjectBytes: 64 * 1024 }],
  ] as const) {
    const topic = name.startsWith('key') ? 'crash-keyed' : 'crash-small';
    test(`${name}: a sweep that dies after writing its objects, before its swap, changes nothing; a later sweep deletes those objects and compacts`, async () => {
      const clock = { offset: 0 };
      const log = engineAt(stack, clock);
      await changelog(log, topic, config);
      const before = await values(log, topic);
      const produced = await segmentIds(stack, log, topic);
      clock.offset += 10 * MIN;
      const dying = engineAt(stack, clock, () => async () => {
        throw new Error('injected crash before the swap');
      });
      const report = await dying.sweep({ graceMs: 2 * MIN });
      assert.match(report.failed.map((f) => f.error).join(), /injected crash/);
      assert.deepEqual(await values(log, topic), before);
      const written = (await segmentIds(stack, log, topic)).filter((id) => !produced.includes(id));
      assert.ok(written.length >= 1, 'the dying sweep wrote its objects');

      clock.offset += 10 * MIN;
      await log.sweep({ graceMs: 2 * MIN });
      clock.offset += 10 * MIN;
      await log.sweep({ graceMs: 2 * MIN });
      const left = await segmentIds(stack, log, topic);
      for (const id of written) assert.ok(!left.includes(id), `object ${id} of the dead sweep is gone`);
      const after = await values(log, topic);
      if (name.startsWith('key')) {
        assert.deepEqual(
          after,
          Array.from({ length: 20 }, (_, k) => `${60 + k}:k${k}=r3`),
        );
      } else {
        assert.deepEqual(after, before);
      }
    });

    test(`${name}: a swap that loses to another sweep leaves the log as the winner made it, and the loser's objects are deleted`, async () => {
      const clock = { offset: 0 };
      const log = engineAt(stack, clock);
      const lost = `${topic}-lost`;
      await changelog(log, lost, config);
      const before = await values(log, lost);
      const produced = await segmentIds(stack, log, lost);
      clock.offset += 10 * MIN;
      // The loser's swap finds its pages changed: refused by the transaction's conditions.
      let loserWrote: string[] = [];
      const loser = engineAt(stack, clock, (real) => async (ref, replaced, entries, retired, pending) => {
        loserWrote = entries.filter((e) => e.byteLength > 0).map((e) => e.objectId);
        const changed = replaced.map((page) => ({ ...page, end: page.end + 1 }));
        return await real(
          ref,
          changed,
          entries.map((e, i) => (i === entries.length - 1 ? { ...e, recordCount: e.recordCount + 1 } : e)),
          retired,
          pending,
        );
      });
      await loser.sweep({ graceMs: 2 * MIN });
      assert.ok(loserWrote.length > 0);
      assert.deepEqual(await values(log, lost), before);
      await log.sweep({ graceMs: 2 * MIN });
      clock.offset += 10 * MIN;
      await log.sweep({ graceMs: 2 * MIN });
      const left = await segmentIds(stack, log, lost);
      for (const id of loserWrote) assert.ok(!left.includes(id), `the loser's object ${id} is gone`);
      assert.ok(
        left.every((id) => !produced.includes(id)),
        'the produced objects went too',
      );
      assert.equal(left.length, 1);
    });
  }

  test('key compaction stopped by its deadline between runs keeps what it swapped, moves the cleaned offset to it, and the next pass finishes', async () => {
    const own = await testStack({ pageSize: 1 });
    try {
      const clock = { offset: 0 };
      const log = engineAt(own, clock);
      await log.createTopic({ name: 'long', partitions: 1, config: { cleanupPolicy: 'compact' } });
      // 200 calls of 10 keys each, one page per call: the pass rewrites in 3 runs of at most 90 pages.
      for (let call = 0; call < 200; call++) {
        await log.produce({
          topic: 'long',
          records: Array.from({ length: 10 }, (_, k) => ({
            key: bytes(`k${(call * 10 + k) % 700}`),
            value: bytes(`c${call}`),
          })),
        });
      }
      clock.offset += 10 * MIN;
      let swaps = 0;
      // The first swap takes "10 minutes": the pass's deadline is gone when it comes back.
      const slow = engineAt(own, clock, (real) => async (...args) => {
        const done = await real(...args);
        if (++swaps === 1) clock.offset += 10 * MIN;
        return done;
      });
      await slow.sweep({ graceMs: 2 * MIN });
      assert.equal(swaps, 1);
      const { id } = await log.describeTopic('long');
      const gc = await awsPorts(own.config).index.readGcState(id);
      assert.equal(
        gc?.cleaned?.[0],
        900,
        'the cleaned offset moved to the end of the first run (90 pages of 10)',
      );
      await log.sweep({ graceMs: 2 * MIN });
      const r = await log.fetch({ topic: 'long', partition: 0, offset: 0, maxRecords: 10_000 });
      const latest = new Map<string, string>();
      for (let call = 0; call < 200; call++)
        for (let k = 0; k < 10; k++) latest.set(`k${(call * 10 + k) % 700}`, `c${call}`);
      assert.equal(r.records.length, 700);
      assert.deepEqual(new Map(r.records.map((rec) => [text(rec.key), text(rec.value)])), latest);
    } finally {
      await own.close();
    }
  });

  test('a pending record claimed by a collector makes its swap fail', async () => {
    const clock = { offset: 0 };
    const deps = awsPorts(stack.config);
    const log = new Streambed(deps);
    await changelog(log, 'claimed', { cleanupPolicy: 'compact' });
    const { id } = await log.describeTopic('claimed');
    const ref = { topic: 'claimed', topicId: id, partition: 0 };
    // Page the tail so there is a page to swap.
    assert.equal(await deps.index.pageIdleTail(ref, Date.now() + MIN), true);
    const [page] = await deps.index.pagesFrom(ref, 0, 10);
    assert.ok(page);
    const pending = await deps.index.notePending(id, undefined, page.entries[0]?.objectId as string);
    assert.equal(await deps.index.claimPending(id, pending), true);
    assert.equal(await deps.index.replacePages(ref, [page], page.entries, [], pending), false);
    void clock;
  });
});
