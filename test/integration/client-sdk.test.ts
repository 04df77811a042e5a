import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type ConsumerRecord,
  DirectTransport,
  HttpTransport,
  keyText,
  OutOfOrderSequenceError,
  type Producer,
  RemoteError,
  StreambedClient,
  ThrottledError,
  TopicAlreadyExistsError,
  type Transport,
  UnknownPartitionError,
  UnknownTopicError,
  valueJson,
  valueText,
} from '../../lib/client/index.ts';
import { localApi } from '../support/http.ts';
import { type TestStack, testStack } from '../support/stack.ts';

/**
 * A transport that passes calls through and injects faults into produce calls by their number
 * (1-based): `lose` lets the first call from that number on that succeeds reach the server and then
 * loses its answer (a retryable network error); `refuse` fails it before it reaches the server (a retryable Throttled), once the
 * `refuseAfterStarted`-th produce call has started, so later requests are in flight past it.
 */
class FaultyTransport {
  produceCalls = 0;
  readonly errors: unknown[] = [];
  readonly lose = new Set<number>();
  readonly refuse = new Set<number>();
  refuseAfterStarted = 0;
  private started: (() => void)[] = [];
  /** While set, produce calls wait for it (to hold requests in flight). */
  gate: Promise<void> | undefined;
  pendingAtGate = 0;

  readonly inner: Transport;
  constructor(inner: Transport) {
    this.inner = inner;
  }

  transport(): Transport {
    return new Proxy(this.inner, {
      get: (target, name, receiver) => {
        if (name === 'produce')
          return (request: Parameters<Transport['produce']>[0]) => this.produce(request);
        const value = Reflect.get(target, name, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }

  private async produce(request: Parameters<Transport['produce']>[0]) {
    const n = ++this.produceCalls;
    for (const wake of this.started.splice(0)) wake();
    try {
      if (this.gate !== undefined) {
        this.pendingAtGate++;
        await this.gate;
        this.pendingAtGate--;
      }
      if (this.refuse.has(n)) {
        this.refuse.delete(n);
        while (this.produceCalls < this.refuseAfterStarted)
          await new Promise<void>((r) => this.started.push(r));
        // With Retry-After 1 s: the server waits up to 300 ms for an overtaken predecessor
        // (PREDECESSOR_WAITS_MS), so a retry of this call within that window would let the later calls
        // wait for it instead of being refused out of order, and the reorder path would go untested.
        throw Object.defineProperty(
          new ThrottledError(`injected: produce call ${n} refused`),
          Symbol.for('streambed.retryAfterMs'),
          { value: 1_000 },
        );
      }
      const result = await this.inner.produce(request);
      const armed = [...this.lose].find((k) => k <= n);
      if (armed !== undefined) {
        this.lose.delete(armed);
        throw new RemoteError('NetworkError', 0, `injected: the answer to produce call ${n} was lost`, true);
      }
      return result;
    } catch (error) {
      this.errors.push(error);
      throw error;
    }
  }
}

/** Every record of a topic, per partition, read back through the transport. */
async function readAll(transport: Transport, topic: string): Promise<Map<number, ConsumerRecord[]>> {
  const { partitionStates } = await transport.describeTopic(topic);
  const out = new Map<number, ConsumerRecord[]>();
  for (const { partition, highWatermark } of partitionStates) {
    const records: ConsumerRecord[] = [];
    let offset = 0;
    while (offset < highWatermark) {
      const result = await transport.fetch({ topic, partition, offset, maxRecords: 10_000 });
      records.push(...result.records.map((r) => ({ topic, partition, ...r })));
      offset = result.nextOffset;
    }
    out.set(partition, records);
  }
  return out;
}

/** Sends `count` keyed records without waiting for each; returns their delivery promises. */
async function sendKeyed(producer: Producer, topic: string, keys: number, count: number) {
  const deliveries = [];
  for (let i = 0; i < count; i++) {
    const key = `k${i % keys}`;
    const { delivered } = await producer.send({ topic, key, value: `${key}:${Math.floor(i / keys)}` });
    deliveries.push({ key, i, delivered });
  }
  return deliveries;
}

/** Asserts each key's values come back exactly once and in send order, at the offsets `send` reported. */
async function assertExactlyOnceInOrder(
  transport: Transport,
  topic: string,
  deliveries: Awaited<ReturnType<typeof sendKeyed>>,
  keys: number,
): Promise<void> {
  const byPartition = await readAll(transport, topic);
  const all = [...byPartition.values()].flat();
  assert.equal(all.length, deliveries.length, 'every record once, no duplicates');
  for (const records of byPartition.values()) {
    const next = new Map<string, number>();
    for (const record of records) {
      const [key, n] = (valueText(record) as string).split(':') as [string, string];
      assert.equal(keyText(record), key);
      assert.equal(Number(n), next.get(key) ?? 0, `key ${key} in order on partition ${record.partition}`);
      next.set(key, Number(n) + 1);
    }
  }
  const seen = new Set<number>();
  for (const d of deliveries) seen.add(Math.floor(d.i / keys));
  const located = new Map(all.map((r) => [`${r.partition}/${r.offset}`, valueText(r)]));
  for (const d of deliveries) {
    const meta = await d.delivered;
    assert.equal(
      located.get(`${meta.partition}/${meta.offset}`),
      `${d.key}:${Math.floor(d.i / keys)}`,
      'the offset send reported holds the record',
    );
  }
}

async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  rounds = 600,
): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    if (await condition()) return;
    await sleep(50);
  }
  assert.fail(`gave up waiting for ${what}`);
}

interface Setup {
  readonly name: string;
  start(): Promise<{
    transport: Transport;
    faultyFetch?: { loseNext: (path: RegExp) => void; lost: () => number };
    close(): Promise<void>;
  }>;
}

const setups: Setup[] = [
  {
    name: 'HTTP (npm start handlers, unsigned)',
    async start() {
      const api = await localApi();
      let loseOn: RegExp | undefined;
      let lost = 0;
      // A fetch that delivers the request, then loses the answer: the HTTP transport's network error path.
      const lossy: typeof fetch = async (input, init) => {
        const response = await fetch(input, init);
        const url = String(input);
        if (loseOn !== undefined && init?.method === 'POST' && loseOn.test(url) && response.ok) {
          loseOn = undefined;
          lost++;
          await response.arrayBuffer();
          throw new TypeError('fetch failed (injected: the answer was lost)');
        }
        return response;
      };
      return {
        transport: new HttpTransport({ endpoint: api.url, auth: 'none', fetch: lossy }),
        faultyFetch: {
          loseNext: (path) => {
            loseOn = path;
          },
          lost: () => lost,
        },
        close: () => api.close(),
      };
    },
  },
  {
    name: 'direct (engine on MinIO + DynamoDB Local)',
    async start() {
      const stack: TestStack = await testStack();
      return {
        transport: new DirectTransport({
          s3: stack.s3,
          dynamodb: stack.dynamodb,
          bucket: stack.bucket,
          tables: stack.tables,
        }),
        close: async () => stack.close(),
      };
    },
  },
];

for (const setup of setups) {
  describe(`client SDK over ${setup.name}`, () => {
    let env: Awaited<ReturnType<Setup['start']>>;
    let transport: Transport;
    let client: StreambedClient;
    before(async () => {
      env = await setup.start();
      transport = env.transport;
      client = new StreambedClient({ transport });
    });
    after(async () => {
      await client.close();
      await env.close();
    });

    test('admin round trip: create, list, describe, list offsets, delete; errors are typed', async () => {
      const admin = client.admin();
      const created = await admin.createTopic({
        name: 'adm',
        partitions: 3,
        config: { retentionMs: 3_600_000 },
      });
      assert.deepEqual([created.name, created.partitions, created.config.retentionMs], ['adm', 3, 3_600_000]);
      await assert.rejects(admin.createTopic({ name: 'adm', partitions: 1 }), (e: unknown) => {
        assert.ok(e instanceof TopicAlreadyExistsError);
        assert.equal(e.code, 'TopicAlreadyExists');
        assert.equal(e.retryable, false);
        return true;
      });
      assert.ok((await admin.listTopics()).some((t) => t.name === 'adm'));
      const producer = client.producer({ lingerMs: 0 });
      for (let i = 0; i < 3; i++)
        await producer.send({ topic: 'adm', partition: 1, json: { i }, timestamp: 1_000 + i });
      await producer.close();
      const described = await admin.describeTopic('adm');
      assert.deepEqual(
        described.partitionStates.map((p) => p.highWatermark),
        [0, 3, 0],
      );
      assert.deepEqual(
        [...(await admin.listOffsets('adm', 'latest'))],
        [
          [0, 0],
          [1, 3],
          [2, 0],
        ],
      );
      assert.equal((await admin.listOffsets('adm', { timestamp: 1_001 }, [1])).get(1), 1);
      assert.deepEqual(await admin.deleteRecords('adm', 1, 1), { logStartOffset: 1 });
      assert.equal((await admin.listOffsets('adm', 'earliest', [1])).get(1), 1);
      await admin.deleteTopic('adm');
      await assert.rejects(admin.describeTopic('adm'), (e: unknown) => {
        assert.ok(e instanceof UnknownTopicError, String(e));
        assert.deepEqual([e.code, e.status, e.topic], ['UnknownTopic', 404, 'adm']);
        return true;
      });
    });

    test('error mapping: unknown topic and partition are typed errors with stable codes', async () => {
      const producer = client.producer();
      await assert.rejects(producer.send({ topic: 'no-such-topic', value: 'x' }), (e: unknown) => {
        assert.ok(e instanceof UnknownTopicError, String(e));
        assert.equal(e.code, 'UnknownTopic');
        return true;
      });
      await client.admin().createTopic({ name: 'errs', partitions: 2 });
      await assert.rejects(producer.send({ topic: 'errs', partition: 7, value: 'x' }), UnknownPartitionError);
      await assert.rejects(transport.fetch({ topic: 'errs', partition: 9, offset: 0 }), (e: unknown) => {
        assert.ok(e instanceof UnknownPartitionError, String(e));
        assert.equal(e.code, 'UnknownPartition');
        return true;
      });
      await assert.rejects(transport.fetch({ topic: 'nope', partition: 0, offset: 0 }), UnknownTopicError);
      await producer.close();
    });

    test('10,000 records through a lingering producer come back exactly once, in order per partition, with a lost answer retried', async () => {
      const faulty = new FaultyTransport(transport);
      await transport.createTopic({ name: 'bulk', partitions: 4 });
      if (env.faultyFetch !== undefined) env.faultyFetch.loseNext(/\/topics\/bulk\/records$/);
      else faulty.lose.add(3);
      const producer = new StreambedClient({ transport: faulty.transport() }).producer({
        lingerMs: 5,
        batchRecords: 500,
      });
      const deliveries = await sendKeyed(producer, 'bulk', 37, 10_000);
      await producer.flush();
      await producer.close();
      if (env.faultyFetch !== undefined) assert.equal(env.faultyFetch.lost(), 1, 'an answer was lost');
      else
        assert.equal(
          faulty.errors.filter((e) => e instanceof RemoteError && e.code === 'NetworkError').length,
          1,
          'an answer was lost',
        );
      // Anything else the server refused was a pipelined request that overtook an earlier one.
      for (const e of faulty.errors)
        assert.ok(e instanceof RemoteError || e instanceof OutOfOrderSequenceError, String(e));
      assert.ok(
        faulty.produceCalls >= 20,
        `batched into requests of at most 500 (${faulty.produceCalls} calls)`,
      );
      assert.ok(producer.producerIdentity !== undefined, 'idempotent by default');
      await assertExactlyOnceInOrder(transport, 'bulk', deliveries, 37);
    });

    test('the control: without idempotence the same lost answer appends a request twice', async () => {
      const faulty = new FaultyTransport(transport);
      await transport.createTopic({ name: 'plain', partitions: 2 });
      if (env.faultyFetch !== undefined) env.faultyFetch.loseNext(/\/topics\/plain\/records$/);
      else faulty.lose.add(2);
      const producer = new StreambedClient({ transport: faulty.transport() }).producer({
        lingerMs: 5,
        batchRecords: 100,
        maxInFlight: 1,
        idempotent: false,
      });
      const deliveries = await sendKeyed(producer, 'plain', 3, 1_000);
      await producer.flush();
      await producer.close();
      const stored = [...(await readAll(transport, 'plain')).values()].flat().length;
      assert.ok(stored > deliveries.length, `${stored} records stored for ${deliveries.length} sent`);
    });

    test('maxInFlight 5: a middle request refused while later ones are in flight is retried, and order holds', async () => {
      const faulty = new FaultyTransport(transport);
      await transport.createTopic({ name: 'pipeline', partitions: 2 });
      faulty.refuse.add(3);
      faulty.refuseAfterStarted = 5; // requests 4 and 5 are on the wire before 3 fails
      const producer = new StreambedClient({ transport: faulty.transport() }).producer({
        lingerMs: 1_000,
        batchRecords: 100,
        maxInFlight: 5,
      });
      const deliveries = await sendKeyed(producer, 'pipeline', 5, 2_000);
      await producer.flush();
      await producer.close();
      assert.ok(faulty.errors[0] instanceof ThrottledError, 'request 3 was refused');
      assert.ok(
        faulty.errors.some((e) => e instanceof OutOfOrderSequenceError),
        'later requests reached the server before the retry of 3, and were refused out of order',
      );
      await assertExactlyOnceInOrder(transport, 'pipeline', deliveries, 5);
    });

    test('backpressure: send waits while bufferBytes of records are unacknowledged', async () => {
      const faulty = new FaultyTransport(transport);
      await transport.createTopic({ name: 'pressure', partitions: 2 });
      let open!: () => void;
      faulty.gate = new Promise((resolve) => {
        open = resolve;
      });
      const bufferBytes = 64 * 1024;
      const producer = new StreambedClient({ transport: faulty.transport() }).producer({
        lingerMs: 0,
        batchRecords: 8,
        bufferBytes,
      });
      const value = 'x'.repeat(1_000);
      let sent = 0;
      let peak = 0;
      const sender = (async () => {
        const deliveries = [];
        for (let i = 0; i < 400; i++) {
          deliveries.push((await producer.send({ topic: 'pressure', key: `k${i % 7}`, value })).delivered);
          sent++;
          peak = Math.max(peak, producer.bufferedBytes);
        }
        return deliveries;
      })();
      await waitFor(() => faulty.pendingAtGate === 5, 'five requests held in flight');
      const stalledAt = sent;
      await sleep(300);
      assert.equal(sent, stalledAt, 'send waits while the buffer is full');
      assert.ok(sent < 400);
      assert.ok(producer.bufferedBytes <= bufferBytes, `${producer.bufferedBytes} bytes buffered`);
      faulty.gate = undefined;
      open();
      const deliveries = await sender;
      await producer.close();
      assert.ok(peak <= bufferBytes, `the buffer never held more than bufferBytes (peak ${peak})`);
      assert.equal((await Promise.all(deliveries)).length, 400);
      assert.equal([...(await readAll(transport, 'pressure')).values()].flat().length, 400);
    });

    test('a consumer group of 2 splits the partitions, rebalances when one leaves, and commits resume where left', async () => {
      await transport.createTopic({ name: 'grouped', partitions: 4 });
      const producer = client.producer({ lingerMs: 0 });
      for (let i = 0; i < 200; i++) await producer.send({ topic: 'grouped', partition: i % 4, json: { i } });
      await producer.flush();
      const events: string[] = [];
      const member = (name: string) =>
        client.consumer({
          group: 'g2',
          topic: 'grouped',
          memberId: name,
          sessionTimeoutMs: 3_000,
          autoOffsetReset: 'earliest',
          pollIntervalMs: 50,
          onAssigned: (ps) => {
            events.push(`${name}+${ps.join(',')}`);
          },
          onRevoked: (ps) => {
            events.push(`${name}-${ps.join(',')}`);
          },
        });
      const a = member('a');
      const b = member('b');
      const seen = new Map<string, Set<number>>([
        ['a', new Set()],
        ['b', new Set()],
      ]);
      const consumeRound = async (c: typeof a, name: string) => {
        for (const r of await c.poll({ timeoutMs: 50 }))
          seen.get(name)?.add((valueJson<{ i: number }>(r) as { i: number }).i);
      };
      await a.connect();
      await b.connect();
      await waitFor(async () => {
        await consumeRound(a, 'a');
        await consumeRound(b, 'b');
        const held = [...a.assignment(), ...b.assignment()].sort();
        return a.assignment().length === 2 && b.assignment().length === 2 && held.join() === '0,1,2,3';
      }, 'the two members to hold two partitions each');
      await waitFor(async () => {
        await consumeRound(a, 'a');
        await consumeRound(b, 'b');
        return new Set([...(seen.get('a') ?? []), ...(seen.get('b') ?? [])]).size === 200;
      }, 'all 200 records consumed by the pair');
      await a.commit();
      await b.commit();
      await b.close();
      assert.ok(
        events.some((e) => e.startsWith('b-')),
        'b revoked its partitions on leave',
      );
      await waitFor(async () => {
        await consumeRound(a, 'a');
        return a.assignment().length === 4;
      }, 'a to take over the partitions b left');
      for (let i = 200; i < 240; i++)
        await producer.send({ topic: 'grouped', partition: i % 4, json: { i } });
      await producer.flush();
      await waitFor(async () => {
        await consumeRound(a, 'a');
        return [...Array(40).keys()].every((k) => seen.get('a')?.has(200 + k));
      }, 'a to consume the new records');
      await a.close(); // commits its positions
      const lag = await client.admin().describeGroup('g2', 'grouped');
      assert.equal(lag.lagRecords, 0);
      assert.deepEqual(
        lag.partitions.map((p) => p.offset),
        [60, 60, 60, 60],
      );
      // A new member resumes at the committed offsets: it gets only what comes after.
      for (let i = 240; i < 244; i++)
        await producer.send({ topic: 'grouped', partition: i % 4, json: { i } });
      await producer.close();
      const c = member('c');
      const got: number[] = [];
      await waitFor(async () => {
        for (const r of await c.poll({ timeoutMs: 50 }))
          got.push((valueJson<{ i: number }>(r) as { i: number }).i);
        return got.length >= 4;
      }, 'c to read the 4 new records');
      await c.close();
      assert.deepEqual(
        got.sort((x, y) => x - y),
        [240, 241, 242, 243],
      );
    });

    test('the async iterator with automatic commits; a forced reset while the member reads is picked up from the committed offsets', async () => {
      await transport.createTopic({ name: 'iterated', partitions: 2 });
      const producer = client.producer({ lingerMs: 0 });
      for (let i = 0; i < 20; i++) await producer.send({ topic: 'iterated', partition: i % 2, json: { i } });
      await producer.flush();
      const errors: unknown[] = [];
      const consumer = client.consumer({
        group: 'iter',
        topic: 'iterated',
        autoOffsetReset: 'earliest',
        autoCommitIntervalMs: 1,
        sessionTimeoutMs: 3_000,
        pollIntervalMs: 50,
        onError: (e) => errors.push(e),
      });
      const got: number[] = [];
      for await (const record of consumer) {
        got.push((valueJson<{ i: number }>(record) as { i: number }).i);
        // Leaving the loop closes the consumer and commits what it moved past: the record it is on
        // would be read again (at least once), so commit it first.
        if (got.length === 20) {
          await consumer.commit();
          break;
        }
      }
      assert.deepEqual(
        got.sort((x, y) => x - y),
        [...Array(20).keys()],
      );
      const admin = client.admin();
      assert.equal((await admin.describeGroup('iter', 'iterated')).lagRecords, 0);

      // A member reads; the offsets are reset under it (forced); its next commit is refused and it
      // goes on from the reset offsets.
      const member = client.consumer({
        group: 'iter',
        topic: 'iterated',
        autoCommit: false,
        sessionTimeoutMs: 3_000,
        pollIntervalMs: 50,
      });
      await member.connect();
      assert.deepEqual(
        [...member.positions()],
        [
          [0, 10],
          [1, 10],
        ],
      );
      await admin.resetOffsets({ group: 'iter', topic: 'iterated', to: { offset: 4 }, force: true });
      await assert.rejects(member.commit(), (e: unknown) => (e as { code?: string }).code === 'OffsetReset');
      const again: number[] = [];
      await waitFor(async () => {
        for (const r of await member.poll({ timeoutMs: 50 }))
          again.push((valueJson<{ i: number }>(r) as { i: number }).i);
        return again.length >= 12;
      }, 'the member to hold its partitions again and read from the reset offsets');
      assert.deepEqual(
        again.sort((x, y) => x - y),
        [8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
      );
      await member.close();
      await producer.close();
    });

    test('leaving an iterator loop by a throw or a break commits only what it moved past: the group reads that record again', async () => {
      await transport.createTopic({ name: 'left', partitions: 1 });
      const producer = client.producer({ lingerMs: 0 });
      for (let i = 0; i < 12; i++) await producer.send({ topic: 'left', partition: 0, json: { i } });
      await producer.flush();
      const admin = client.admin();
      const committed = async () => (await admin.describeGroup('leaver', 'left')).partitions[0]?.offset;
      const member = (autoOffsetReset: 'earliest' | 'latest' = 'latest') =>
        client.consumer({
          group: 'leaver',
          topic: 'left',
          autoOffsetReset,
          // No automatic commit while the loop runs: what the group holds is close()'s own commit.
          autoCommitIntervalMs: 600_000,
          sessionTimeoutMs: 3_000,
          pollIntervalMs: 50,
        });
      const read = (record: Parameters<typeof valueJson>[0]) =>
        (valueJson<{ i: number }>(record) as { i: number }).i;

      // A handler that fails on record 6.
      const seen: number[] = [];
      await assert.rejects(async () => {
        for await (const record of member('earliest')) {
          seen.push(read(record));
          if (read(record) === 6) throw new Error('the handler failed on 6');
          await sleep(5);
        }
      }, /the handler failed on 6/);
      assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6]);
      assert.equal(await committed(), 6);

      // The next member starts at the failed record; a break on record 8 (handled, not committed)
      // leaves 8 to be read again.
      const again: number[] = [];
      for await (const record of member()) {
        again.push(read(record));
        if (read(record) === 8) break;
      }
      assert.deepEqual(again, [6, 7, 8]);
      assert.equal(await committed(), 8);

      // commit() before the break moves past it.
      const last: number[] = [];
      const third = member();
      for await (const record of third) {
        last.push(read(record));
        if (read(record) === 9) {
          await third.commit();
          break;
        }
      }
      assert.deepEqual(last, [8, 9]);
      assert.equal(await committed(), 10);
      await producer.close();
    });

    test('seek to an offset, a timestamp, the beginning and the end; autoOffsetReset after records were deleted', async () => {
      await transport.createTopic({ name: 'seeking', partitions: 1 });
      const producer = client.producer({ lingerMs: 0 });
      for (let i = 0; i < 10; i++)
        await producer.send({ topic: 'seeking', partition: 0, value: `v${i}`, timestamp: 10_000 + i });
      await producer.close();
      const consumer = client.consumer({
        group: 'seekers',
        topic: 'seeking',
        autoOffsetReset: 'earliest',
        autoCommit: false,
        pollIntervalMs: 50,
      });
      const next = async () => (await consumer.poll({ maxRecords: 1, timeoutMs: 200 }))[0]?.offset;
      assert.equal(await next(), 0);
      await consumer.seek(0, 7);
      assert.equal(await next(), 7);
      await consumer.seek(0, { timestamp: 10_003 });
      assert.equal(await next(), 3);
      await consumer.seek(0, 'beginning');
      assert.equal(await next(), 0);
      await consumer.seek(0, 'end');
      assert.equal(await next(), undefined);
      await consumer.seek(0, 2);
      consumer.pause([0]);
      assert.deepEqual(await consumer.poll({ timeoutMs: 100 }), []);
      consumer.resume([0]);
      assert.equal(await next(), 2);
      await consumer.commit([{ partition: 0, offset: 2 }]);
      await consumer.close();

      // The committed offset 2 falls below the log start: a new member starts at the earliest offset.
      await transport.deleteRecords('seeking', 0, 5);
      const early = client.consumer({
        group: 'seekers',
        topic: 'seeking',
        autoOffsetReset: 'earliest',
        pollIntervalMs: 50,
      });
      assert.equal((await early.poll({ maxRecords: 1, timeoutMs: 1_000 }))[0]?.offset, 5);
      await early.close();
      // With 'latest', a group without commits starts at the high watermark.
      const late = client.consumer({
        group: 'latecomers',
        topic: 'seeking',
        autoOffsetReset: 'latest',
        pollIntervalMs: 50,
      });
      await late.connect();
      assert.deepEqual([...late.positions()], [[0, 10]]);
      const p2 = client.producer({ lingerMs: 0 });
      await (await p2.send({ topic: 'seeking', partition: 0, value: 'new' })).delivered;
      await p2.close();
      const [fresh] = await late.poll({ timeoutMs: 2_000 });
      assert.equal(fresh === undefined ? undefined : valueText(fresh), 'new');
      await late.close();
    });
  });
}
