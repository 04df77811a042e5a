import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { S3Client } from '@aws-sdk/client-s3';
import { awsPorts } from '../../lib/adapters/aws.ts';
import { InvalidProduceReturnError, LeaseLostError, OffsetResetError } from '../../lib/core/errors.ts';
import type { OutputRecord } from '../../lib/core/produce-return.ts';
import type { TopicRecord } from '../../lib/core/types.ts';
import { EngineContext } from '../../lib/engine/context.ts';
import { checkOutputs, commitDelivered } from '../../lib/engine/delivery-commit.ts';
import { StickyPartitions } from '../../lib/engine/produce.ts';
import type { Streambed } from '../../lib/engine/streambed.ts';
import {
  committedOffset,
  contextOf,
  duplicates,
  highWatermarks,
  idsIn,
  jsonOutputs,
  rangeOf,
  readAll,
  takeLease,
} from '../support/exactly-once.ts';
import { segmentIds } from '../support/lookups.ts';
import { bytes, type TestStack, testStack } from '../support/stack.ts';

const toPartition = (records: OutputRecord[], partition: number) => records.map((r) => ({ ...r, partition }));

describe('exactly-once effects: fencing, limits and concurrent producers', () => {
  let stack: TestStack;
  let log: Streambed;
  const sticky = new StickyPartitions();
  before(async () => {
    stack = await testStack({ pageSize: 4 });
    log = stack.engine();
  });
  after(() => stack.close());

  async function input(
    name: string,
    owner = 'dispatcher:a',
  ): Promise<{ topic: TopicRecord; counter: number }> {
    const topic = await log.createTopic({ name, partitions: 1 });
    return { topic, counter: await takeLease(contextOf(stack), 'billing', name, 0, owner) };
  }

  test('producers racing on the output partitions: dense offsets, every output and every produced record once, in order', async (t) => {
    const { topic, counter } = await input('race-in');
    await log.createTopic({ name: 'race-out', partitions: 3 });
    const ctx = contextOf(stack);
    let sends = 0;
    (stack.dynamodb.middlewareStack as S3Client['middlewareStack']).add(
      (next, context) => async (args) => {
        if (context.commandName === 'TransactWriteItemsCommand') sends++;
        return await next(args);
      },
      { step: 'initialize', name: 'countRaceTransactions' },
    );
    const producers = [0, 1, 2, 3].map(async (w) => {
      for (let i = 0; i < 25; i++) {
        await log.produce({
          topic: 'race-out',
          records: [0, 1, 2].map((p) => ({
            partition: p,
            value: bytes(JSON.stringify({ id: `p${w}-${i}-${p}` })),
          })),
        });
      }
    });
    const commits = (async () => {
      for (let k = 0; k < 30; k++) {
        const outputs = [0, 1, 2].flatMap((p) => toPartition(jsonOutputs('race-out', [`o${k}-${p}`]), p));
        await commitDelivered(ctx, sticky, rangeOf(topic, 'dispatcher:a', counter, k + 1, outputs));
      }
    })();
    await Promise.all([...producers, commits]);
    const records = await readAll(log, 'race-out');
    for (const p of [0, 1, 2]) {
      const offsets = records.filter((r) => r.partition === p).map((r) => r.offset);
      assert.deepEqual(offsets, [...offsets.keys()], `partition ${p} is dense`);
      const outputs = records
        .filter((r) => r.partition === p)
        .map((r) => JSON.parse(r.value ?? '').id as string)
        .filter((id) => id.startsWith('o'));
      assert.deepEqual(
        outputs,
        Array.from({ length: 30 }, (_, k) => `o${k}-${p}`),
        `partition ${p}: outputs in commit order`,
      );
    }
    const ids = await idsIn(log, 'race-out');
    assert.deepEqual(duplicates(ids), []);
    assert.equal(ids.length, 4 * 25 * 3 + 30 * 3);
    assert.equal(await committedOffset(log, 'billing', 'race-in'), 30);
    assert.ok(sends >= 30);
    t.diagnostic(
      `${sends} transactions sent for 30 commits (the rest were cancelled by a racing append and sent again)`,
    );
  });

  test("a stale lease owner's commit appends nothing and moves nothing (LeaseLost)", async () => {
    const { topic, counter } = await input('stale-in', 'dispatcher:old');
    await log.createTopic({ name: 'stale-out', partitions: 2 });
    // The old owner's lease expired and a second dispatcher took the partition.
    await takeLease(contextOf(stack), 'billing', 'stale-in', 0, 'dispatcher:new');
    const outputs = jsonOutputs('stale-out', ['x', 'y']);
    await assert.rejects(
      commitDelivered(contextOf(stack), sticky, rangeOf(topic, 'dispatcher:old', counter, 2, outputs)),
      (error: Error) =>
        error instanceof LeaseLostError && /no longer holds partition 0 of 'stale-in'/.test(error.message),
    );
    await assert.rejects(
      commitDelivered(contextOf(stack), sticky, rangeOf(topic, 'dispatcher:old', counter, 2, [])),
      LeaseLostError,
    );
    assert.deepEqual(await highWatermarks(log, 'stale-out'), [0, 0]);
    assert.equal(await committedOffset(log, 'billing', 'stale-in'), undefined);
  });

  test('a reset between delivery and commit refuses the commit (OffsetReset) and appends nothing', async () => {
    const { topic, counter } = await input('reset-in');
    await log.createTopic({ name: 'reset-out', partitions: 1 });
    await log.commitOffsets({ group: 'billing', topic: 'reset-in', offsets: [{ partition: 0, offset: 5 }] });
    const read = (await log.fetchOffsets('billing', 'reset-in'))[0];
    const plainCommits = read?.plainCommits ?? 0;
    // While the dispatcher delivers [5, 8), an operator resets the group to 2.
    await log.commitOffsets({ group: 'billing', topic: 'reset-in', offsets: [{ partition: 0, offset: 2 }] });
    const outputs = jsonOutputs('reset-out', ['r5', 'r6', 'r7']);
    await assert.rejects(
      commitDelivered(
        contextOf(stack),
        sticky,
        rangeOf(topic, 'dispatcher:a', counter, 8, outputs, 'billing', plainCommits),
      ),
      (error: Error) => error instanceof OffsetResetError && /reset to 2/.test(error.message),
    );
    await assert.rejects(
      commitDelivered(
        contextOf(stack),
        sticky,
        rangeOf(topic, 'dispatcher:a', counter, 8, [], 'billing', plainCommits),
      ),
      OffsetResetError,
    );
    assert.deepEqual(await highWatermarks(log, 'reset-out'), [0]);
    assert.equal(await committedOffset(log, 'billing', 'reset-in'), 2);
  });

  test('outputs to 98 partitions commit in one transaction; 99 are refused before anything is written', async () => {
    const { topic, counter } = await input('wide-in');
    await log.createTopic({ name: 'wide', partitions: 100 });
    const across = (n: number) =>
      Array.from({ length: n }, (_, p) => toPartition(jsonOutputs('wide', [`w${p}`]), p)[0] as OutputRecord);
    await assert.rejects(
      commitDelivered(contextOf(stack), sticky, rangeOf(topic, 'dispatcher:a', counter, 1, across(99))),
      (error: Error) =>
        error instanceof InvalidProduceReturnError &&
        /writes to 99 partitions; one commit may write to at most 98/.test(error.message),
    );
    assert.deepEqual(await segmentIds(stack, log, 'wide'), [], 'no object was written');
    assert.equal(await committedOffset(log, 'billing', 'wide-in'), undefined);
    await commitDelivered(contextOf(stack), sticky, rangeOf(topic, 'dispatcher:a', counter, 1, across(98)));
    const marks = await highWatermarks(log, 'wide');
    assert.deepEqual(marks, [...Array.from({ length: 98 }, () => 1), 0, 0]);
    assert.equal(await committedOffset(log, 'billing', 'wide-in'), 1);
  });

  test('outputs naming an unknown topic or partition, or breaking a topic rule, are refused with the output named; nothing is written', async () => {
    const { topic, counter } = await input('bad-in');
    await log.createTopic({ name: 'bad-out', partitions: 2, config: { maxRecordBytes: 1024 } });
    await log.createTopic({ name: 'bad-compacted', partitions: 1, config: { cleanupPolicy: 'compact' } });
    const ok = jsonOutputs('bad-out', ['fine']);
    const cases: [string, OutputRecord[], RegExp][] = [
      [
        'an unknown topic',
        [...ok, ...jsonOutputs('nope', ['n'])],
        /^produce\[1\]\.topic: topic 'nope' does not exist/,
      ],
      [
        'a partition the topic lacks',
        [...ok, ...toPartition(jsonOutputs('bad-out', ['p']), 5)],
        /^produce\[1\]\.partition must be/,
      ],
      [
        'a keyless record on a compacted topic',
        [...ok, { topic: 'bad-compacted', value: bytes('v') }],
        /^produce\[1\] has no key/,
      ],
      [
        'a record over maxRecordBytes',
        [{ topic: 'bad-out', value: new Uint8Array(2000) }],
        /^produce\[0\] is \d+ bytes/,
      ],
    ];
    for (const [name, outputs, message] of cases) {
      await assert.rejects(
        commitDelivered(contextOf(stack), sticky, rangeOf(topic, 'dispatcher:a', counter, 1, outputs)),
        (error: Error) => error instanceof InvalidProduceReturnError && message.test(error.message),
        name,
      );
    }
    assert.deepEqual(await segmentIds(stack, log, 'bad-out'), []);
    assert.equal(await committedOffset(log, 'billing', 'bad-in'), undefined);
  });

  test('checkOutputs names the partitions outputs will write (keyless as topic/*) and refuses what a commit would', async () => {
    await log.createTopic({ name: 'check-out', partitions: 4 });
    const ctx = contextOf(stack);
    const partitions = await checkOutputs(ctx, [
      ...toPartition(jsonOutputs('check-out', ['a']), 3),
      { topic: 'check-out', value: bytes('keyless') },
      { topic: 'check-out', value: bytes('keyless too') },
    ]);
    assert.deepEqual([...partitions].sort(), ['check-out/*', 'check-out/3']);
    await assert.rejects(
      checkOutputs(ctx, [
        ...jsonOutputs('check-out', ['a']),
        ...toPartition(jsonOutputs('check-out', ['b']), 9),
      ]),
      (error: Error) =>
        error instanceof InvalidProduceReturnError && /^produce\[1\]\.partition must be/.test(error.message),
    );
    assert.deepEqual(await segmentIds(stack, log, 'check-out'), []);
  });

  test('an output topic deleted and created again since it was cached: the outputs go to the new one', async () => {
    const { topic, counter } = await input('again-in');
    await log.createTopic({ name: 'again-out', partitions: 1 });
    const ctx = contextOf(stack);
    await commitDelivered(
      ctx,
      sticky,
      rangeOf(topic, 'dispatcher:a', counter, 1, jsonOutputs('again-out', ['old'])),
    );
    await log.deleteTopic('again-out');
    await log.createTopic({ name: 'again-out', partitions: 1 });
    await commitDelivered(
      ctx,
      sticky,
      rangeOf(topic, 'dispatcher:a', counter, 2, jsonOutputs('again-out', ['new'])),
    );
    assert.deepEqual(await idsIn(log, 'again-out'), ['new']);
    assert.equal(await committedOffset(log, 'billing', 'again-in'), 2);
  });

  test('objects past the commit limit are written again; the late one stays an orphan; outputs appended once', async () => {
    const { topic, counter } = await input('late-in');
    await log.createTopic({ name: 'late-out', partitions: 1 });
    let skew = 0;
    const deps = awsPorts({ ...stack.config, engine: { now: () => Date.now() + skew } });
    const ctx = new EngineContext({
      ...deps,
      objects: Object.assign(Object.create(Object.getPrototypeOf(deps.objects)), deps.objects, {
        put: async (key: string, body: Uint8Array) => {
          await deps.objects.put(key, body);
          if (skew === 0) skew = 61_000; // the first PUT took longer than the commit limit
        },
      }),
    });
    await commitDelivered(
      ctx,
      sticky,
      rangeOf(topic, 'dispatcher:a', counter, 1, jsonOutputs('late-out', ['once'])),
    );
    assert.deepEqual(await idsIn(log, 'late-out'), ['once']);
    assert.equal((await segmentIds(stack, log, 'late-out')).length, 2);
    assert.equal((await log.findOrphanSegments('late-out', 0)).length, 1);
  });

  test('cost: ONE transaction per commit, of 2 + k items (lease check, offset, k heads) for outputs to k partitions', async (t) => {
    const { topic, counter } = await input('cost-in');
    await log.createTopic({ name: 'cost-out', partitions: 3 });
    const sent: { items: number; consumed: unknown }[] = [];
    (stack.dynamodb.middlewareStack as S3Client['middlewareStack']).add(
      (next, context) => async (args) => {
        if (context.commandName !== 'TransactWriteItemsCommand') return await next(args);
        const input = args.input as { ReturnConsumedCapacity?: string; TransactItems?: unknown[] };
        input.ReturnConsumedCapacity = 'TOTAL';
        const out = await next(args);
        sent.push({
          items: input.TransactItems?.length ?? 0,
          consumed: (out.output as { ConsumedCapacity?: unknown }).ConsumedCapacity,
        });
        return out;
      },
      { step: 'initialize', name: 'consumedCapacity' },
    );
    const outputs = [0, 1, 2].flatMap((p) => toPartition(jsonOutputs('cost-out', [`c${p}a`, `c${p}b`]), p));
    await commitDelivered(contextOf(stack), sticky, rangeOf(topic, 'dispatcher:a', counter, 1, outputs));
    assert.deepEqual(
      sent.map((s) => s.items),
      [5],
    );
    // DynamoDB Local's capacity figures are not AWS's (on AWS a transaction costs 2 WRU per item-KB).
    t.diagnostic(`consumed capacity as DynamoDB Local reports it: ${JSON.stringify(sent[0]?.consumed)}`);
  });
});
