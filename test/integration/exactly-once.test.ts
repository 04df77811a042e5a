import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TransactWriteItemsCommand, type TransactWriteItemsCommandInput } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { TopicRecord } from '../../lib/core/types.ts';
import type { EngineDeps } from '../../lib/engine/context.ts';
import { commitDelivered } from '../../lib/engine/delivery-commit.ts';
import { StickyPartitions } from '../../lib/engine/produce.ts';
import type { Streambed } from '../../lib/engine/streambed.ts';
import {
  committedOffset,
  contextOf,
  headChanges,
  highWatermarks,
  idsIn,
  jsonOutputs,
  rangeOf,
  readAll,
  takeLease,
} from '../support/exactly-once.ts';
import { loseNextResponse } from '../support/faults.ts';
import { segmentIds } from '../support/lookups.ts';
import { type TestStack, testStack } from '../support/stack.ts';

class InjectedCrash extends Error {}

let installed = 0;

/**
 * Every TransactWriteItems the client sends is counted; the next one is applied by the service and
 * then its response is lost with an error the SDK does not retry: the caller sees an unknown outcome.
 * With `apply: false` the request is lost on its way instead, and held back to be delivered late.
 */
function transactions(stack: TestStack) {
  const state = {
    sent: 0,
    armed: undefined as undefined | { apply: boolean },
    held: [] as TransactWriteItemsCommandInput[],
  };
  const stackOf = stack.dynamodb.middlewareStack as S3Client['middlewareStack'];
  stackOf.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'TransactWriteItemsCommand') return await next(args);
      state.sent++;
      const armed = state.armed;
      if (armed === undefined) return await next(args);
      state.armed = undefined;
      if (armed.apply) await next(args);
      else state.held.push(structuredClone(args.input as TransactWriteItemsCommandInput));
      throw Object.assign(new Error('socket hang up'), { $metadata: {} });
    },
    { step: 'deserialize', name: `countTransactions${++installed}` },
  );
  return state;
}

describe('exactly-once effects: a delivery commits its outputs and its offset in one transaction', () => {
  let stack: TestStack;
  let log: Streambed;
  let orders: TopicRecord;
  let counter: number;
  const sticky = new StickyPartitions();
  before(async () => {
    stack = await testStack({ pageSize: 4 });
    log = stack.engine();
    orders = await log.createTopic({ name: 'orders', partitions: 1 });
    await log.createTopic({ name: 'invoices', partitions: 3 });
    counter = await takeLease(contextOf(stack), 'billing', 'orders', 0, 'dispatcher:a');
  });
  after(() => stack.close());

  test('outputs are fetched like produced records, the offset moves, and the head updates reach the stream', async () => {
    const ctx = contextOf(stack);
    const binary = { topic: 'invoices', partition: 2, key: null, value: new Uint8Array([0, 1, 2]) };
    await commitDelivered(
      ctx,
      sticky,
      rangeOf(orders, 'dispatcher:a', counter, 3, [
        ...jsonOutputs('invoices', ['i0', 'i1']),
        { ...binary, headers: [['h', new TextEncoder().encode('v')] as const] },
      ]),
    );
    assert.equal(await committedOffset(log, 'billing', 'orders'), 3);
    const records = await readAll(log, 'invoices');
    assert.equal(records.length, 3);
    assert.deepEqual(
      records
        .filter((r) => r.value?.startsWith('{'))
        .map((r) => JSON.parse(r.value ?? '').id)
        .sort(),
      ['i0', 'i1'],
    );
    const fetched = await log.fetch({ topic: 'invoices', partition: 2, offset: 0 });
    const stored = fetched.records.find((r) => r.value?.[0] === 0);
    assert.deepEqual([...(stored?.value ?? [])], [0, 1, 2]);
    assert.equal(stored?.valueIsJson, false);
    assert.deepEqual(
      stored?.headers.map(([name, value]) => [name, new TextDecoder().decode(value)]),
      [['h', 'v']],
    );
    const invoices = await log.describeTopic('invoices');
    const grown = (await headChanges(stack)).filter(
      (c) => c.pk.startsWith(`${invoices.id}#`) && c.after > c.before,
    );
    assert.equal(
      grown.reduce((sum, c) => sum + c.after - c.before, 0),
      3,
      'the stream saw every output append',
    );
  });

  test('the entry that completes a page flushes it, as a plain append does', async () => {
    await log.createTopic({ name: 'paged', partitions: 1 });
    const ctx = contextOf(stack);
    const before = (await committedOffset(log, 'billing', 'orders')) ?? 0;
    for (let i = 1; i <= 5; i++) {
      await commitDelivered(
        ctx,
        sticky,
        rangeOf(orders, 'dispatcher:a', counter, before + i, jsonOutputs('paged', [`p${i}`])),
      );
    }
    const head = await ctx.index.readHead({
      topic: 'paged',
      topicId: (await log.describeTopic('paged')).id,
      partition: 0,
    });
    assert.equal(head?.tailBase, 4, 'the 4th append paged the first 4 entries out');
    assert.deepEqual(await idsIn(log, 'paged'), ['p1', 'p2', 'p3', 'p4', 'p5']);
  });

  test('without outputs it is the leased commit it always was', async () => {
    const ctx = contextOf(stack);
    const at = (await committedOffset(log, 'billing', 'orders')) ?? 0;
    const marks = await highWatermarks(log, 'invoices');
    await commitDelivered(ctx, sticky, rangeOf(orders, 'dispatcher:a', counter, at + 10, []));
    assert.equal(await committedOffset(log, 'billing', 'orders'), at + 10);
    assert.deepEqual(await highWatermarks(log, 'invoices'), marks);
  });
});

describe('a crash at every step of the commit, then the redelivery: each output exactly once', () => {
  let stack: TestStack;
  let log: Streambed;
  const sticky = new StickyPartitions();
  before(async () => {
    stack = await testStack({ pageSize: 4 });
    log = stack.engine();
  });
  after(() => stack.close());

  /** A fresh input and output topic; the group's lease taken by a first dispatcher. */
  async function setup(name: string) {
    const input = await log.createTopic({ name: `${name}-in`, partitions: 1 });
    await log.createTopic({ name: `${name}-out`, partitions: 2 });
    const counter = await takeLease(contextOf(stack), 'billing', input.name, 0, 'dispatcher:first');
    const outputs = jsonOutputs(`${name}-out`, ['a', 'b', 'c', 'd']);
    return { input, out: `${name}-out`, counter, outputs };
  }

  /** The redelivery: a second dispatcher takes the lease (the first one's expired) and commits again. */
  async function redeliver(input: TopicRecord, outputs: ReturnType<typeof jsonOutputs>) {
    const ctx = contextOf(stack);
    const counter = await takeLease(ctx, 'billing', input.name, 0, 'dispatcher:second');
    const at = (await committedOffset(log, 'billing', input.name)) ?? 0;
    // A dispatcher redelivers only what is not committed.
    if (at < 4) await commitDelivered(ctx, sticky, rangeOf(input, 'dispatcher:second', counter, 4, outputs));
  }

  const crashingPut =
    (when: 'before' | 'after') =>
    (deps: EngineDeps): EngineDeps => ({
      ...deps,
      objects: Object.assign(Object.create(Object.getPrototypeOf(deps.objects)), deps.objects, {
        put: async (key: string, body: Uint8Array) => {
          if (when === 'after') await deps.objects.put(key, body);
          throw new InjectedCrash(`crashed ${when} writing ${key}`);
        },
      }),
    });

  test('a crash before the PUT leaves nothing; the redelivery appends every output once', async () => {
    const { input, out, counter, outputs } = await setup('before-put');
    const dying = contextOf(stack, crashingPut('before'));
    await assert.rejects(
      commitDelivered(dying, sticky, rangeOf(input, 'dispatcher:first', counter, 4, outputs)),
      InjectedCrash,
    );
    assert.deepEqual(await segmentIds(stack, log, out), []);
    assert.deepEqual(await highWatermarks(log, out), [0, 0]);
    assert.equal(await committedOffset(log, 'billing', input.name), undefined);
    await redeliver(input, outputs);
    assert.deepEqual((await idsIn(log, out)).sort(), ['a', 'b', 'c', 'd']);
    assert.equal(await committedOffset(log, 'billing', input.name), 4);
  });

  test('a crash between the PUT and the transaction leaves an orphan object only; the redelivery appends once', async () => {
    const { input, out, counter, outputs } = await setup('after-put');
    const dying = contextOf(stack, crashingPut('after'));
    await assert.rejects(
      commitDelivered(dying, sticky, rangeOf(input, 'dispatcher:first', counter, 4, outputs)),
      InjectedCrash,
    );
    const orphaned = await segmentIds(stack, log, out);
    assert.equal(orphaned.length, 1);
    assert.deepEqual(await highWatermarks(log, out), [0, 0]);
    await redeliver(input, outputs);
    assert.deepEqual((await idsIn(log, out)).sort(), ['a', 'b', 'c', 'd']);
    assert.equal(await committedOffset(log, 'billing', input.name), 4);
    const orphans = await log.findOrphanSegments(out, 0);
    assert.deepEqual(
      orphans.map((o) => o.key.slice(o.key.lastIndexOf('/') + 1, -'.sbs'.length)),
      orphaned,
      'the crashed attempt left exactly one unreferenced object, which orphan collection finds',
    );
  });

  test('a crash after the transaction, before returning: committed once; a repeat of the commit appends nothing', async () => {
    const { input, out, counter, outputs } = await setup('after-txn');
    const dying = contextOf(stack, (deps) => ({
      ...deps,
      index: Object.assign(Object.create(Object.getPrototypeOf(deps.index)), deps.index, {
        appendAtomically: async (...args: Parameters<EngineDeps['index']['appendAtomically']>) => {
          await deps.index.appendAtomically(...args);
          throw new InjectedCrash('crashed after the transaction');
        },
      }),
    }));
    await assert.rejects(
      commitDelivered(dying, sticky, rangeOf(input, 'dispatcher:first', counter, 4, outputs)),
      InjectedCrash,
    );
    assert.equal(await committedOffset(log, 'billing', input.name), 4);
    // The same dispatcher retrying its commit (it saw an error) appends nothing more.
    await commitDelivered(contextOf(stack), sticky, rangeOf(input, 'dispatcher:first', counter, 4, outputs));
    await redeliver(input, outputs);
    assert.deepEqual((await idsIn(log, out)).sort(), ['a', 'b', 'c', 'd']);
    assert.equal(
      (await highWatermarks(log, out)).reduce((a, b) => a + b),
      4,
    );
  });

  test('a lost transaction response that the SDK retries appends once', async () => {
    const { input, out, counter, outputs } = await setup('lost-retried');
    const seen = transactions(stack);
    loseNextResponse(stack.dynamodb, 'TransactWriteItemsCommand');
    await commitDelivered(contextOf(stack), sticky, rangeOf(input, 'dispatcher:first', counter, 4, outputs));
    assert.ok(seen.sent >= 2, `the SDK sent the transaction again (${seen.sent} sends)`);
    assert.deepEqual((await idsIn(log, out)).sort(), ['a', 'b', 'c', 'd']);
    assert.equal(await committedOffset(log, 'billing', input.name), 4);
  });

  test('a lost response the SDK gives up on is resolved by reading the offset: applied, so done', async () => {
    const { input, out, counter, outputs } = await setup('lost-applied');
    const seen = transactions(stack);
    seen.armed = { apply: true };
    await commitDelivered(contextOf(stack), sticky, rangeOf(input, 'dispatcher:first', counter, 4, outputs));
    assert.equal(seen.sent, 1, 'found applied by reading, not sent again');
    assert.deepEqual((await idsIn(log, out)).sort(), ['a', 'b', 'c', 'd']);
    assert.equal(await committedOffset(log, 'billing', input.name), 4);
  });

  test('a request lost on its way is sent again; delivered late, after the resend applied, it is refused', async () => {
    const { input, out, counter, outputs } = await setup('late');
    const seen = transactions(stack);
    seen.armed = { apply: false };
    await commitDelivered(contextOf(stack), sticky, rangeOf(input, 'dispatcher:first', counter, 4, outputs));
    assert.equal(seen.sent, 2);
    const marks = await highWatermarks(log, out);
    const late = seen.held[0];
    assert.ok(late);
    await assert.rejects(
      stack.dynamodb.send(new TransactWriteItemsCommand(late)),
      (error: Error) => error.name === 'TransactionCanceledException',
    );
    assert.deepEqual(await highWatermarks(log, out), marks);
    assert.deepEqual((await idsIn(log, out)).sort(), ['a', 'b', 'c', 'd']);
  });
});
