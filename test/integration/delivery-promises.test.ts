import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { awsPorts, createDispatcher } from '../../lib/adapters/aws.ts';
import { DynamoLeaseStore } from '../../lib/adapters/dynamodb/lease-store.ts';
import { SUBSCRIPTION_PK } from '../../lib/adapters/dynamodb/subscription-store.ts';
import type { FailedBatchRecord, StreambedEvent } from '../../lib/core/subscription.ts';
import { EngineContext } from '../../lib/engine/context.ts';
import { type Outputs, producedOutputs, type Skip } from '../../lib/engine/delivery-io.ts';
import type { LagReport } from '../../lib/engine/dispatcher.ts';
import { InProcessInvoker } from '../../lib/engine/in-process-invoker.ts';
import { StickyPartitions } from '../../lib/engine/produce.ts';
import { Streambed } from '../../lib/engine/streambed.ts';
import { subscriptionOf } from '../support/lookups.ts';
import { bytes, type TestStack, testStack, text } from '../support/stack.ts';

/** How far ahead of real time the clock of a dispatcher (or producer) runs in the record-age test. */
const AHEAD = 600_000;

describe('consumer-function promises of design.md §6 not proven elsewhere', () => {
  let stack: TestStack;
  let log: Streambed;
  before(async () => {
    stack = await testStack();
    log = stack.engine();
  });
  after(() => stack.close());

  const position = async (group: string, topic: string, partition = 0) =>
    (await log.fetchOffsets(group, topic)).find((o) => o.partition === partition)?.offset;

  /** The failure records an on-failure topic received. */
  const failures = async (topic: string) =>
    (await log.fetch({ topic, partition: 0, offset: 0, maxRecords: 1000 })).records.map(
      (r) => JSON.parse(text(r.value) ?? '') as FailedBatchRecord,
    );

  const values = (prefix: string, count: number) =>
    Array.from({ length: count }, (_, i) => ({ value: bytes(`${prefix}${i}`) }));

  /** A handler that records the offsets of each invocation and throws when `fails` says so. */
  function recording(invoker: InProcessInvoker, target: string, fails: (offsets: number[]) => boolean) {
    const invocations: number[][] = [];
    const delivered: number[] = [];
    invoker.register(target, async (event: StreambedEvent) => {
      const offsets = event.Records.map((r) => r.offset);
      invocations.push(offsets);
      if (fails(offsets)) throw new Error(`cannot handle ${offsets.join(',')}`);
      delivered.push(...offsets);
    });
    return { invocations, delivered };
  }

  test('records appended longer ago than maxRecordAgeSeconds are not delivered: they go to onFailure as RecordAgeExceeded, and younger records are delivered', async () => {
    await log.createTopic({ name: 'aged', partitions: 1 });
    await log.createTopic({ name: 'aged-dlq', partitions: 1 });
    // Records 0-4 are appended now; 5-7 by a clock 10 minutes ahead, as the dispatcher's runs.
    const ahead = () => Date.now() + AHEAD;
    const later = new Streambed(awsPorts({ ...stack.config, engine: { now: ahead } }));
    await log.produce({ topic: 'aged', records: values('old-', 5) });
    await later.produce({ topic: 'aged', records: values('young-', 3) });
    const invoker = new InProcessInvoker();
    const seen = recording(invoker, 'aged-fn', () => false);
    const dispatcher = createDispatcher({ ...stack.config, engine: { now: ahead } }, { invoker });
    await dispatcher.subscribe({
      group: 'aged',
      topic: 'aged',
      target: 'aged-fn',
      startingPosition: 'earliest',
      maxRecordAgeSeconds: 60,
      onFailure: { topic: 'aged-dlq' },
    });
    const spec = await subscriptionOf(stack, 'aged');
    assert.equal(await dispatcher.deliver(spec, 0, ahead() + 30_000), 'caught-up');
    assert.deepEqual(seen.invocations, [[5, 6, 7]]);
    const sent = await failures('aged-dlq');
    assert.equal(sent.length, 1);
    assert.equal(sent[0]?.requestContext.condition, 'RecordAgeExceeded');
    assert.deepEqual(
      [sent[0]?.streambedBatchInfo.startOffset, sent[0]?.streambedBatchInfo.endOffset],
      [0, 4],
    );
    assert.equal(sent[0]?.streambedBatchInfo.batchSize, 5);
    assert.equal(await position('aged', 'aged'), 8);
  });

  test('without onFailure, once maxRetryAttempts are exhausted the failing batch is dropped and delivery moves on past it', async () => {
    await log.createTopic({ name: 'dropped', partitions: 1 });
    await log.produce({ topic: 'dropped', records: values('d', 10) });
    const invoker = new InProcessInvoker();
    const seen = recording(invoker, 'dropped-fn', (offsets) => offsets.includes(3));
    const dispatcher = createDispatcher(stack.config, { invoker, retryBaseMs: 1, retryMaxMs: 5 });
    await dispatcher.subscribe({
      group: 'dropped',
      topic: 'dropped',
      target: 'dropped-fn',
      startingPosition: 'earliest',
      batchSize: 5,
      maxRetryAttempts: 2,
    });
    const spec = await subscriptionOf(stack, 'dropped');
    assert.equal(await dispatcher.deliver(spec, 0, Date.now() + 30_000), 'caught-up');
    // One attempt and two retries of [0, 5), then it is dropped (a function error fails it whole).
    assert.deepEqual(seen.invocations, [
      [0, 1, 2, 3, 4],
      [0, 1, 2, 3, 4],
      [0, 1, 2, 3, 4],
      [5, 6, 7, 8, 9],
    ]);
    assert.equal(await position('dropped', 'dropped'), 10);
    // The partition is not stuck: its failure record is cleared, and later records flow.
    const lease = await new DynamoLeaseStore({ client: stack.dynamodb, table: stack.tables.meta }).get(
      'dropped',
      'dropped',
      0,
    );
    assert.equal(lease?.failedOffset, -1);
    await log.produce({ topic: 'dropped', records: values('e', 2) });
    assert.equal(await dispatcher.deliver(spec, 0, Date.now() + 30_000), 'caught-up');
    assert.deepEqual(seen.delivered, [5, 6, 7, 8, 9, 10, 11]);
    assert.equal(await position('dropped', 'dropped'), 12);
  });

  test('attempts go on counting when another dispatcher takes the partition over: the record is given up after maxRetryAttempts counted across both', async () => {
    await log.createTopic({ name: 'handover', partitions: 1 });
    await log.createTopic({ name: 'handover-dlq', partitions: 1 });
    await log.produce({ topic: 'handover', records: values('h', 3) });
    // Record 0 always fails. The first dispatcher's second attempt runs past its deadline, so it
    // stops there (as a dispatcher Lambda does at the end of its own invocation).
    let firstDeadline = 0;
    const seen = { invocations: [] as number[][], delivered: [] as number[] };
    const handler = (overrun: boolean) => async (event: StreambedEvent) => {
      const offsets = event.Records.map((r) => r.offset);
      seen.invocations.push(offsets);
      if (overrun && seen.invocations.length === 2) await sleep(Math.max(0, firstDeadline - Date.now() + 50));
      if (offsets.includes(0)) throw new Error('cannot handle 0');
      seen.delivered.push(...offsets);
    };
    const failing = new InProcessInvoker({ 'handover-fn': handler(true) });
    const invoker = new InProcessInvoker({ 'handover-fn': handler(false) });
    const first = createDispatcher(stack.config, { invoker: failing, retryBaseMs: 10, retryMaxMs: 10 });
    await first.subscribe({
      group: 'handover',
      topic: 'handover',
      target: 'handover-fn',
      startingPosition: 'earliest',
      batchSize: 1,
      maxRetryAttempts: 4,
      functionTimeoutSeconds: 1,
      onFailure: { topic: 'handover-dlq' },
    });
    const spec = await subscriptionOf(stack, 'handover');
    firstDeadline = Date.now() + 10_000;
    assert.equal(await first.deliver(spec, 0, firstDeadline), 'deadline');
    assert.deepEqual(seen.invocations, [[0], [0]]);
    const leases = new DynamoLeaseStore({ client: stack.dynamodb, table: stack.tables.meta });
    const kept = await leases.get('handover', 'handover', 0);
    assert.deepEqual([kept?.failedOffset, kept?.attempts], [0, 2]);
    assert.equal(await position('handover', 'handover'), 0);

    const second = createDispatcher(stack.config, { invoker, retryBaseMs: 10, retryMaxMs: 10 });
    assert.notEqual(second.ownerId, first.ownerId);
    assert.equal(await second.deliver(spec, 0, Date.now() + 30_000), 'caught-up');
    // 5 attempts in all (1 + 4 retries): 2 by the first dispatcher, 3 by the second.
    assert.deepEqual(seen.invocations, [[0], [0], [0], [0], [0], [1], [2]]);
    const sent = await failures('handover-dlq');
    assert.equal(sent.length, 1);
    assert.equal(sent[0]?.requestContext.condition, 'RetryAttemptsExhausted');
    assert.equal(sent[0]?.requestContext.approximateInvokeCount, 5);
    assert.equal(sent[0]?.streambedBatchInfo.startOffset, 0);
    assert.deepEqual(seen.delivered, [1, 2]);
    assert.equal(await position('handover', 'handover'), 3);
    assert.equal((await leases.get('handover', 'handover', 0))?.failedOffset, -1);
  });

  /**
   * Orders delivered with factor 4 by a dispatcher whose outputs crash once, before or after the real
   * commit, on the `nth` commit that passes more than one batch (more outputs than one batch returns);
   * then a successor delivers the rest. Returns the output topic.
   */
  async function crashOnce(when: 'before' | 'after', nth: number): Promise<string> {
    const input = `par-crash-${when}-${nth}`;
    const output = `${input}-invoices`;
    await log.createTopic({ name: input, partitions: 1 });
    await log.createTopic({ name: output, partitions: 3 });
    const invoker = new InProcessInvoker();
    invoker.register('par-invoice-fn', async (event) => ({
      produce: event.Records.map((r) => ({
        topic: output,
        key: r.key,
        value: `invoice for ${Buffer.from(String(r.valueBase64), 'base64').toString()}`,
      })),
    }));
    const batchSize = 5;
    const real = producedOutputs(new EngineContext(awsPorts(stack.config)), new StickyPartitions());
    const crash = { multi: 0, outputs: 0 };
    const outputs: Outputs = {
      parse: (response) => real.parse(response),
      fits: (o) => real.fits(o),
      async commit(commit) {
        if (commit.outputs.length > batchSize && ++crash.multi === nth) {
          crash.outputs = commit.outputs.length;
          if (when === 'after') await real.commit(commit);
          throw new Error(`crash ${when} the commit transaction`);
        }
        await real.commit(commit);
      },
    };
    const crashing = createDispatcher(stack.config, { invoker, outputs, onError: () => {} });
    await crashing.subscribe({
      group: input,
      topic: input,
      target: 'par-invoice-fn',
      startingPosition: 'earliest',
      batchSize,
      parallelizationFactor: 4,
    });
    await log.produce({
      topic: input,
      records: Array.from({ length: 200 }, (_, i) => ({
        key: bytes(`c${i % 20}`),
        value: bytes(`order-${i}`),
      })),
    });
    const spec = await subscriptionOf(stack, input);
    await assert.rejects(crashing.deliver(spec, 0, Date.now() + 60_000), /crash/);
    assert.ok(crash.outputs > batchSize, `crashed on a commit of ${crash.outputs} outputs`);
    assert.ok(((await position(input, input)) ?? 0) < 200, 'the successor has records left to deliver');
    const successor = createDispatcher(stack.config, { invoker });
    assert.equal(await successor.deliver(spec, 0, Date.now() + 60_000), 'caught-up');
    assert.equal(await position(input, input), 200);
    return output;
  }

  for (const when of ['before', 'after'] as const) {
    test(`with parallelizationFactor 4, a dispatcher that crashes ${when} a commit passing several batches (the 1st to 4th such commit): with its successor, every order's invoice is in the log exactly once, in key order`, async () => {
      for (const nth of [1, 2, 3, 4]) {
        const output = await crashOnce(when, nth);
        const invoices = new Map<string, string[]>();
        for (let partition = 0; partition < 3; partition++) {
          for (let offset = 0; ; ) {
            const page = await log.fetch({ topic: output, partition, offset, maxRecords: 1000 });
            if (page.records.length === 0) break;
            for (const r of page.records) {
              const key = text(r.key) ?? '';
              invoices.set(key, [...(invoices.get(key) ?? []), JSON.parse(text(r.value) ?? 'null')]);
            }
            offset = page.nextOffset;
          }
        }
        assert.equal([...invoices.values()].flat().length, 200, `crash at commit ${nth}`);
        for (let c = 0; c < 20; c++) {
          assert.deepEqual(
            invoices.get(`c${c}`),
            Array.from({ length: 10 }, (_, j) => `invoice for order-${c + 20 * j}`),
            `crash at commit ${nth}: c${c}`,
          );
        }
      }
    });
  }

  test('a subscription stored by an older version, without parallelizationFactor or functionTimeoutSeconds, reads with their defaults and is delivered', async () => {
    await log.createTopic({ name: 'legacy', partitions: 1 });
    await log.produce({ topic: 'legacy', records: values('l', 25) });
    const old = {
      group: 'legacy',
      topic: 'legacy',
      target: 'legacy-fn',
      batchSize: 10,
      maxBatchingWindowSeconds: 0,
      startingPosition: 'earliest',
      maxRetryAttempts: -1,
      maxRecordAgeSeconds: -1,
      bisectBatchOnFunctionError: false,
      reportBatchItemFailures: false,
      enabled: true,
    };
    await stack.dynamodb.send(
      new PutItemCommand({
        TableName: stack.tables.meta,
        Item: { pk: { S: SUBSCRIPTION_PK }, sk: { S: 'legacy' }, spec: { S: JSON.stringify(old) } },
      }),
    );
    assert.deepEqual(await subscriptionOf(stack, 'legacy'), {
      ...old,
      parallelizationFactor: 1,
      functionTimeoutSeconds: 3,
    });
    const invoker = new InProcessInvoker();
    const events: StreambedEvent[] = [];
    invoker.register('legacy-fn', async (event) => {
      events.push(event);
    });
    // The sweep finds it in the stored list, as a deployed dispatcher would.
    await createDispatcher(stack.config, { invoker }).sweep(Date.now() + 30_000);
    assert.deepEqual(
      events.map((e) => e.Records.map((r) => r.offset)),
      [0, 10, 20].map((from) => Array.from({ length: Math.min(10, 25 - from) }, (_, i) => from + i)),
    );
    // One lane: each event carries its commit token.
    assert.deepEqual(
      events.map((e) => [e.commit?.startOffset, e.commit?.endOffset]),
      [
        [0, 10],
        [10, 20],
        [20, 25],
      ],
    );
    assert.equal(await position('legacy', 'legacy'), 25);
  });

  test('a topic deleted and created again after the subscription is delivered from its start, although the subscription says latest', async () => {
    await log.createTopic({ name: 'reborn', partitions: 1 });
    await log.produce({ topic: 'reborn', records: values('before-', 3) });
    const invoker = new InProcessInvoker();
    const seen: string[] = [];
    invoker.register('reborn-fn', async (event) => {
      for (const r of event.Records) seen.push(Buffer.from(String(r.valueBase64), 'base64').toString());
    });
    const dispatcher = createDispatcher(stack.config, { invoker });
    await dispatcher.subscribe({ group: 'reborn', topic: 'reborn', target: 'reborn-fn' });
    await log.produce({ topic: 'reborn', records: values('old-', 2) });
    await dispatcher.sweep(Date.now() + 30_000);
    assert.deepEqual(seen, ['old-0', 'old-1'], 'latest: the records before subscribing are not delivered');
    await log.deleteTopic('reborn');
    await log.createTopic({ name: 'reborn', partitions: 1 });
    await log.produce({ topic: 'reborn', records: values('new-', 4) });
    await dispatcher.sweep(Date.now() + 30_000);
    assert.deepEqual(seen, ['old-0', 'old-1', 'new-0', 'new-1', 'new-2', 'new-3']);
    assert.equal(await position('reborn', 'reborn'), 4);
  });

  test('a topic deleted and created again does not inherit the failure record of its old incarnation: it is not reported stuck, and its record at that offset gets all of its retries', async () => {
    await log.createTopic({ name: 'phoenix', partitions: 1 });
    await log.createTopic({ name: 'phoenix-dlq', partitions: 1 });
    await log.produce({ topic: 'phoenix', records: values('old-', 1) });
    let deadline = 0;
    const calls: string[] = [];
    // old-0 always fails, and its second attempt overruns the delivery's deadline: the delivery stops
    // with 2 of its 3 attempts made (the lease keeps fo 0, fa 2). new-0 fails once, then succeeds.
    const invoker = new InProcessInvoker({
      'phoenix-fn': async (event: StreambedEvent) => {
        for (const r of event.Records) {
          const value = Buffer.from(String(r.valueBase64), 'base64').toString();
          calls.push(value);
          if (value === 'old-0' && calls.length === 2) await sleep(Math.max(0, deadline - Date.now() + 50));
          const once = value === 'new-0' && calls.filter((c) => c === value).length === 1;
          if (value === 'old-0' || once) throw new Error(`${value} failed`);
        }
      },
    });
    const dispatcher = createDispatcher(stack.config, {
      invoker,
      retryBaseMs: 10,
      retryMaxMs: 10,
      stuckAfterMs: 300,
      onStuck: () => {},
    });
    await dispatcher.subscribe({
      group: 'phoenix',
      topic: 'phoenix',
      target: 'phoenix-fn',
      startingPosition: 'earliest',
      batchSize: 1,
      maxRetryAttempts: 2,
      functionTimeoutSeconds: 1,
      onFailure: { topic: 'phoenix-dlq' },
    });
    deadline = Date.now() + 6_000;
    assert.equal(await dispatcher.deliver(await subscriptionOf(stack, 'phoenix'), 0, deadline), 'deadline');
    assert.deepEqual(calls, ['old-0', 'old-0']);
    await log.deleteTopic('phoenix');
    await log.createTopic({ name: 'phoenix', partitions: 1 });
    await log.produce({ topic: 'phoenix', records: values('new-', 1) });
    let reports: LagReport[] = [];
    await dispatcher.sweep(Date.now() + 30_000, (r) => {
      reports = r;
    });
    assert.deepEqual(
      {
        reported: reports.filter((r) => r.group === 'phoenix').map((r) => ({ lag: r.lag, stuck: r.stuck })),
        invoked: calls.slice(2),
        givenUp: (await failures('phoenix-dlq')).map((m) => m.requestContext.approximateInvokeCount),
        position: await position('phoenix', 'phoenix'),
      },
      {
        reported: [{ lag: 1, stuck: false }],
        invoked: ['new-0', 'new-0'],
        givenUp: [],
        position: 1,
      },
    );
  });

  test("after a topic is deleted and created again, the dispatcher's commits on it are not taken for a reset: no skip is reported and no record is invoked twice", async () => {
    await log.createTopic({ name: 'renewed', partitions: 1 });
    const invoker = new InProcessInvoker();
    const seen = recording(invoker, 'renewed-fn', () => false);
    const skips: Skip[] = [];
    const dispatcher = createDispatcher(stack.config, { invoker, onSkip: (skip) => skips.push(skip) });
    // Subscribing gives the partition its starting offset by a plain commit (counted in pv).
    await dispatcher.subscribe({ group: 'renewed', topic: 'renewed', target: 'renewed-fn', batchSize: 1 });
    await log.deleteTopic('renewed');
    await log.createTopic({ name: 'renewed', partitions: 1 });
    await log.produce({ topic: 'renewed', records: values('r', 3) });
    await dispatcher.sweep(Date.now() + 30_000);
    assert.deepEqual({ skips, invocations: seen.invocations }, { skips: [], invocations: [[0], [1], [2]] });
    assert.equal(await position('renewed', 'renewed'), 3);
  });

  test('a subscription starting at a timestamp starts at the first record at or after it (the high watermark where none is that recent)', async () => {
    await log.createTopic({ name: 'stamped', partitions: 2 });
    // Partition 0: timestamps 1000, 2000, …, 10000; partition 1: 1500, 2500, …, 5500.
    await log.produce({
      topic: 'stamped',
      records: [
        ...Array.from({ length: 10 }, (_, i) => ({
          value: bytes(`a${i}`),
          partition: 0,
          timestamp: (i + 1) * 1000,
        })),
        ...Array.from({ length: 5 }, (_, i) => ({
          value: bytes(`b${i}`),
          partition: 1,
          timestamp: (i + 1) * 1000 + 500,
        })),
      ],
    });
    const invoker = new InProcessInvoker();
    const seen: [number, number][] = [];
    invoker.register('stamped-fn', async (event) => {
      for (const r of event.Records) seen.push([r.partition, r.offset]);
    });
    const dispatcher = createDispatcher(stack.config, { invoker });
    await dispatcher.subscribe({
      group: 'stamped',
      topic: 'stamped',
      target: 'stamped-fn',
      startingPosition: { timestamp: 6000 },
    });
    assert.deepEqual(
      (await log.fetchOffsets('stamped', 'stamped')).map((o) => [o.partition, o.offset]),
      [
        [0, 5],
        [1, 5],
      ],
    );
    await log.produce({ topic: 'stamped', records: [{ value: bytes('b5'), partition: 1 }] });
    await dispatcher.sweep(Date.now() + 30_000);
    assert.deepEqual(
      seen.sort((a, b) => a[0] - b[0] || a[1] - b[1]),
      [
        [0, 5],
        [0, 6],
        [0, 7],
        [0, 8],
        [0, 9],
        [1, 5],
      ],
    );
  });
});
