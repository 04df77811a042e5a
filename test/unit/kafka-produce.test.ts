import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { OutOfOrderSequenceError, UnknownProducerIdError, UnknownTopicError } from '../../lib/core/errors.ts';
import type { IssuedProducer } from '../../lib/core/ports.ts';
import { decide } from '../../lib/core/producer-state.ts';
import type { ProduceRequest, TopicRecord } from '../../lib/core/types.ts';
import { DEFAULT_TOPIC_CONFIG } from '../../lib/core/validation.ts';
import { EngineContext } from '../../lib/engine/context.ts';
import { type ProduceOptions, produce, StickyPartitions } from '../../lib/engine/produce.ts';
import { ApiKey, decodeResponse, encodeRecordBatch, encodeRequest } from '../../lib/kafka/index.ts';
import { ALL_APIS } from '../../lib/kafka/server/apis/index.ts';
import { KAFKA_PRODUCE_OPTIONS } from '../../lib/kafka/server/apis/produce.ts';
import type { KafkaEngine } from '../../lib/kafka/server/context.ts';
import { dispatch, servedVersions } from '../../lib/kafka/server/dispatch.ts';
import { toKafkaError } from '../../lib/kafka/server/error-codes.ts';

const bytes = (s: string) => new TextEncoder().encode(s);

const TOPIC: TopicRecord = {
  name: 'orders',
  id: 'abc',
  partitions: 2,
  config: DEFAULT_TOPIC_CONFIG,
  createdAt: 0,
};

describe('an idempotent producer without state on the partition, as Kafka clients see it', () => {
  test('a batch past sequence 0 from a producer the partition has no state for (new, or expired) is UNKNOWN_PRODUCER_ID (59), as a Kafka broker that lost the state answers', () => {
    const decision = decide(undefined, { producerId: '9', epoch: 0, sequence: 12, count: 1 });
    assert.equal(decision.kind, 'error');
    if (decision.kind !== 'error') return;
    assert.equal(toKafkaError(decision.error).errorCode, 59);
    // The adapter's rethrow for expired state (not `ahead`) keeps the flag; the message does not decide.
    const expired = new OutOfOrderSequenceError(decision.error.message, { ahead: false, noState: true });
    assert.equal(toKafkaError(expired).errorCode, 59);
    const sameWordsNoFlag = new OutOfOrderSequenceError(decision.error.message, { ahead: false });
    assert.equal(toKafkaError(sameWordsNoFlag).errorCode, 45);
  });

  test('a gap after known state stays OUT_OF_ORDER_SEQUENCE_NUMBER (45)', () => {
    const state = { epoch: 0, nextSequence: 5, window: [], lastAppend: 0 };
    const decision = decide(state, { producerId: '9', epoch: 0, sequence: 9, count: 1 });
    assert.equal(decision.kind, 'error');
    if (decision.kind !== 'error') return;
    assert.equal(toKafkaError(decision.error).errorCode, 45);
  });
});

/** An engine whose produce fails with `error` (or succeeds at offset 7), recording the options it got. */
function fakeEngine(error?: Error): KafkaEngine & { calls: [ProduceRequest, ProduceOptions | undefined][] } {
  const calls: [ProduceRequest, ProduceOptions | undefined][] = [];
  const engine = {
    calls,
    listTopics: async () => [TOPIC],
    listOffsets: async (_topic: string, _partition: number, spec: unknown) => (spec === 'earliest' ? 4 : 10),
    produce: async (request: ProduceRequest, options?: ProduceOptions) => {
      calls.push([request, options]);
      if (error !== undefined) throw error;
      return { offsets: request.records.map((_, i) => ({ partition: 1, offset: 7 + i })), objectKey: 'x' };
    },
  };
  return engine as unknown as KafkaEngine & { calls: [ProduceRequest, ProduceOptions | undefined][] };
}

const handlers = new Map(ALL_APIS.map((h) => [h.apiKey, h]));
const context = (engine: KafkaEngine) => ({
  engine,
  broker: { nodeId: 0, host: '127.0.0.1', port: 9092 },
  clusterId: 'test',
  clock: { now: () => 0, sleep: async () => {} },
  apis: servedVersions(ALL_APIS),
  signal: new AbortController().signal,
});

const idempotentBatch = encodeRecordBatch({
  baseOffset: 0,
  compression: 'none',
  baseTimestamp: 1,
  maxTimestamp: 1,
  producerId: 9n,
  producerEpoch: 0,
  baseSequence: 12,
  records: [{ timestampDelta: 0, offsetDelta: 0, key: null, value: bytes('x'), headers: [] }],
});

const produceRequest = (acks: number, version = 9) =>
  encodeRequest(
    { apiKey: ApiKey.Produce, apiVersion: version, correlationId: 5, clientId: 't' },
    {
      transactionalId: null,
      acks,
      timeoutMs: 1000,
      topicData: [{ name: 'orders', partitionData: [{ index: 1, records: idempotentBatch }] }],
    },
  );

type PartitionResponse = {
  errorCode: number;
  baseOffset: bigint;
  logStartOffset: bigint;
  logAppendTimeMs: bigint;
};
const partitionOf = (outcome: Awaited<ReturnType<typeof dispatch>>): PartitionResponse | undefined => {
  assert.equal(outcome.kind, 'respond');
  if (outcome.kind !== 'respond') return undefined;
  const { body } = decodeResponse(ApiKey.Produce, 9, outcome.bytes);
  return (body.responses as { partitionResponses: PartitionResponse[] }[])[0]?.partitionResponses[0];
};

describe('the Kafka door produce handler', () => {
  test("UNKNOWN_PRODUCER_ID carries the partition's logStartOffset (the Java producer retries it unchanged while it is -1), and logAppendTime is -1 (CreateTime)", async () => {
    const noState = decide(undefined, { producerId: '9', epoch: 0, sequence: 12, count: 1 });
    assert.equal(noState.kind, 'error');
    if (noState.kind !== 'error') return;
    const partition = partitionOf(
      await dispatch(produceRequest(-1), handlers, context(fakeEngine(noState.error))),
    );
    assert.deepEqual(
      [partition?.errorCode, partition?.baseOffset, partition?.logStartOffset, partition?.logAppendTimeMs],
      [59, -1n, 4n, -1n],
    );
  });

  test('a success answers the base offset with logStartOffset -1 (not read on the commit path)', async () => {
    const partition = partitionOf(await dispatch(produceRequest(-1), handlers, context(fakeEngine())));
    assert.deepEqual([partition?.errorCode, partition?.baseOffset, partition?.logStartOffset], [0, 7n, -1n]);
  });

  test("asks the engine to refuse an overtaken batch at once and to accept the producer's own epoch bump", async () => {
    const engine = fakeEngine();
    await dispatch(produceRequest(1), handlers, context(engine));
    assert.deepEqual(engine.calls[0]?.[1], { predecessorWaitsMs: [], acceptBumpedEpoch: true });
    assert.equal(engine.calls[0]?.[1], KAFKA_PRODUCE_OPTIONS);
  });

  test('acks=0: a failed produce closes the connection, as Kafka does, so the client notices; a successful one sends nothing', async () => {
    const failing = await dispatch(
      produceRequest(0),
      handlers,
      context(fakeEngine(new UnknownTopicError('orders'))),
    );
    assert.equal(failing.kind, 'close');
    if (failing.kind === 'close') assert.match(failing.reason, /acks=0 produce failed.*orders-1: error 3/);
    assert.deepEqual(await dispatch(produceRequest(0), handlers, context(fakeEngine())), { kind: 'silent' });
  });
});

/** An engine context on fakes: `appends` decides each index append (throw or base offset). */
function engineOn(issued: IssuedProducer, appends: (() => number)[]) {
  let calls = 0;
  const ctx = new EngineContext({
    objects: { put: async () => {} },
    topics: { get: async () => TOPIC },
    index: {
      prepare: async () => {},
      append: async () => {
        const next = appends[Math.min(calls, appends.length - 1)] as () => number;
        calls++;
        return { kind: 'appended', baseOffset: next() };
      },
    },
    producers: { get: async (id: string) => (id === issued.producerId ? issued : undefined) },
  } as unknown as ConstructorParameters<typeof EngineContext>[0]);
  return { ctx, appendCalls: () => calls };
}

const call = (epoch: number): ProduceRequest => ({
  topic: 'orders',
  records: [{ value: bytes('v'), partition: 0 }],
  producer: { producerId: '9', epoch, sequences: 0 },
});

describe("engine produce options (the Kafka door's, the HTTP API keeps the defaults)", () => {
  const ahead = () => {
    throw new OutOfOrderSequenceError('producer 9 expected sequence 0, got 3', { ahead: true });
  };

  test('by default an append ahead of its sequence waits for its predecessor and is tried again', async () => {
    const { ctx, appendCalls } = engineOn({ producerId: '9', epoch: 0 }, [ahead, () => 5]);
    const result = await produce(ctx, new StickyPartitions(), call(0));
    assert.deepEqual(result.offsets, [{ partition: 0, offset: 5 }]);
    assert.equal(appendCalls(), 2);
  });

  test('predecessorWaitsMs [] refuses an append ahead of its sequence at once, tried once', async () => {
    const { ctx, appendCalls } = engineOn({ producerId: '9', epoch: 0 }, [ahead, () => 5]);
    await assert.rejects(
      produce(ctx, new StickyPartitions(), call(0), { predecessorWaitsMs: [] }),
      OutOfOrderSequenceError,
    );
    assert.equal(appendCalls(), 1);
  });

  test('an epoch above the issued one is UnknownProducerId, unless acceptBumpedEpoch and the id is not transactional', async () => {
    const plain = engineOn({ producerId: '9', epoch: 0 }, [() => 5]);
    await assert.rejects(produce(plain.ctx, new StickyPartitions(), call(1)), UnknownProducerIdError);
    const bumped = await produce(plain.ctx, new StickyPartitions(), call(1), { acceptBumpedEpoch: true });
    assert.deepEqual(bumped.offsets, [{ partition: 0, offset: 5 }]);
    const transactional = engineOn({ producerId: '9', epoch: 0, transactionalId: 'tx' }, [() => 5]);
    await assert.rejects(
      produce(transactional.ctx, new StickyPartitions(), call(1), { acceptBumpedEpoch: true }),
      UnknownProducerIdError,
    );
  });
});
