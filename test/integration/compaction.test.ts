import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { awsPorts, createDispatcher } from '../../lib/adapters/aws.ts';
import { RequestCounter } from '../../lib/adapters/request-counter.ts';
import { isCompactedObject } from '../../lib/core/object-keys.ts';
import type { EngineDeps } from '../../lib/engine/context.ts';
import { InProcessInvoker } from '../../lib/engine/in-process-invoker.ts';
import { Streambed } from '../../lib/engine/streambed.ts';
import { segmentIds } from '../support/lookups.ts';
import { bytes, type TestStack, testStack } from '../support/stack.ts';

const MIN = 60_000;
const text = (v: Uint8Array | null | undefined) => new TextDecoder().decode(v ?? new Uint8Array());

/** An engine whose clock runs `clock.offset` ms ahead of real time. */
function engineAt(
  stack: TestStack,
  clock: { offset: number },
  wrap: (d: EngineDeps) => EngineDeps = (d) => d,
) {
  return new Streambed(wrap(awsPorts({ ...stack.config, engine: { now: () => Date.now() + clock.offset } })));
}

/** Reads the whole partition; asserts every offset from `from` once, in order. */
async function readAll(log: Streambed, topic: string, partition: number, from = 0) {
  const out: { offset: number; value: string; key: string; timestamp: number }[] = [];
  let offset = from;
  for (;;) {
    const r = await log.fetch({ topic, partition, offset, maxRecords: 10_000 });
    if (r.records.length === 0) break;
    for (const rec of r.records) {
      assert.equal(rec.offset, offset, 'offsets are read once, in order, without gaps');
      out.push({ offset: rec.offset, value: text(rec.value), key: text(rec.key), timestamp: rec.timestamp });
      offset++;
    }
  }
  return out;
}

describe('small-object compaction', () => {
  let stack: TestStack;
  before(async () => {
    stack = await testStack({ pageSize: 4 });
  });
  after(() => stack.close());

  test('runs of small batches become a few large objects: the same records at the same offsets, far fewer GETs, old objects collected', async () => {
    const clock = { offset: 0 };
    const log = engineAt(stack, clock);
    await log.createTopic({
      name: 'small',
      partitions: 2,
      config: { retentionMs: -1, targetObjectBytes: 64 * 1024 },
    });
    for (let i = 0; i < 120; i++) {
      await log.produce({
        topic: 'small',
        records: [
          { key: bytes(`k${i}`), value: bytes(`a${i}`.padEnd(200, '.')), partition: 0, timestamp: 1000 + i },
          { key: bytes(`k${i}`), value: bytes(`b${i}`), partition: 1, timestamp: 2000 + i },
        ],
      });
    }
    const before0 = await readAll(log, 'small', 0);
    const before1 = await readAll(log, 'small', 1);
    assert.equal(before0.length, 120);
    const counter = new RequestCounter().attach(stack.s3, 's3:');
    await readAll(stack.engine(), 'small', 0);
    const getsBefore = counter.snapshot()['s3:GetObject'] ?? 0;
    assert.equal((await segmentIds(stack, log, 'small')).length, 120);

    clock.offset += 30 * MIN;
    const report = await log.sweep({ graceMs: 2 * MIN });
    const swept = report.topics.find((t) => t.topic === 'small');
    assert.ok((swept?.batchesCompacted ?? 0) >= 200, JSON.stringify(swept));
    assert.deepEqual(await readAll(log, 'small', 0), before0);
    assert.deepEqual(await readAll(log, 'small', 1), before1);
    counter.reset();
    await readAll(stack.engine(), 'small', 0);
    const getsAfter = counter.snapshot()['s3:GetObject'] ?? 0;
    assert.ok(getsAfter * 10 <= getsBefore, `GETs for a full read: ${getsBefore} before, ${getsAfter} after`);
    // Objects whose every batch was rewritten go; the tail's batches (not paged yet) keep theirs.
    const ids = await segmentIds(stack, log, 'small');
    const compacted = ids.filter(isCompactedObject);
    assert.ok(compacted.length >= 2 && compacted.length <= 10, `${compacted.length} compacted objects`);
    assert.ok(ids.length - compacted.length <= 8, `${ids.length - compacted.length} produced objects left`);
    // A timestamp lookup still finds the first record at or after it.
    assert.equal(await log.listOffsets('small', 0, { timestamp: 1050 }), 50);
    assert.equal(await log.listOffsets('small', 1, { timestamp: 2117 }), 117);
    // Retention's byte count follows the rewritten sizes: it is the sum of the live entries' lengths.
    const index = awsPorts(stack.config).index;
    const { id } = await log.describeTopic('small');
    for (const partition of [0, 1]) {
      const ref = { topic: 'small', topicId: id, partition };
      const head = await index.readHead(ref);
      assert.ok(head !== undefined);
      let sum = 0;
      for await (const e of index.entriesFrom(ref, head.sizes.from, head)) {
        if (e.baseOffset < head.sizes.through) sum += e.byteLength;
      }
      for (const e of head.tail) if (e.baseOffset < head.sizes.through) sum += e.byteLength;
      assert.equal(head.sizes.bytes, sum, `partition ${partition}`);
    }
    // Nothing left to do: a second pass rewrites nothing.
    const again = await log.sweep({ graceMs: 2 * MIN });
    assert.equal(again.topics.find((t) => t.topic === 'small')?.batchesCompacted, 0);
  });

  test('compaction while producers, readers and a consumer function run: every acknowledged record read once, in order', async () => {
    const log = stack.engine();
    await log.createTopic({
      name: 'busy',
      partitions: 1,
      config: { retentionMs: -1, targetObjectBytes: 64 * 1024 },
    });
    // The sweeper runs 6 minutes ahead (so every batch looks settled), within its 10-minute grace.
    const sweeper = engineAt(stack, { offset: 6 * MIN });
    const acknowledged = new Map<number, string>();
    let producing = true;
    const producers = Array.from({ length: 4 }, async (_, p) => {
      for (let i = 0; producing; i++) {
        const value = `p${p}-${i}`;
        const { offsets } = await log.produce({
          topic: 'busy',
          records: [{ value: bytes(value), partition: 0 }],
        });
        acknowledged.set(offsets[0]?.offset as number, value);
      }
    });
    const reads: number[] = [];
    const readers = Array.from({ length: 2 }, async () => {
      const reader = stack.engine();
      while (producing) {
        const records = await readAll(reader, 'busy', 0);
        for (const r of records) {
          const expected = acknowledged.get(r.offset);
          if (expected !== undefined) assert.equal(r.value, expected);
        }
        reads.push(records.length);
      }
    });
    const invoker = new InProcessInvoker();
    const delivered: number[] = [];
    invoker.register('busy-fn', async (event) => {
      for (const r of event.Records) delivered.push(r.offset);
    });
    const dispatcher = createDispatcher(stack.config, { invoker });
    await dispatcher.subscribe({
      group: 'busy-consumer',
      topic: 'busy',
      target: 'busy-fn',
      startingPosition: 'earliest',
      batchSize: 50,
    });
    const { DynamoSubscriptionStore } = await import('../../lib/adapters/dynamodb/subscription-store.ts');
    const subscription = await new DynamoSubscriptionStore({
      client: stack.dynamodb,
      table: stack.tables.meta,
    }).get('busy-consumer');
    const consumer = (async () => {
      while (producing) await dispatcher.deliver(subscription as never, 0, Date.now() + 5_000);
    })();
    let compacted = 0;
    for (let pass = 0; pass < 6; pass++) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const report = await sweeper.sweep({ graceMs: 10 * MIN });
      compacted += report.topics.find((t) => t.topic === 'busy')?.batchesCompacted ?? 0;
    }
    producing = false;
    await Promise.all([...producers, ...readers, consumer]);
    await dispatcher.deliver(subscription as never, 0, Date.now() + 30_000);
    assert.ok(compacted > 0, 'compaction ran while the others did');
    const final = await readAll(log, 'busy', 0);
    assert.equal(final.length, acknowledged.size);
    for (const r of final) assert.equal(r.value, acknowledged.get(r.offset));
    assert.ok(reads.length > 2);
    // The consumer function saw every offset, first deliveries in order.
    const firsts: number[] = [];
    const seen = new Set<number>();
    for (const o of delivered) {
      if (!seen.has(o)) {
        seen.add(o);
        firsts.push(o);
      }
    }
    assert.deepEqual(
      firsts,
      final.map((r) => r.offset),
    );
  });
});
