import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DuplicateSequenceError,
  InvalidArgumentError,
  OutOfOrderSequenceError,
  ProducerFencedError,
  RecordTooLargeError,
  ThrottledError,
  UnknownProducerIdError,
  UnknownTopicError,
} from '../../lib/core/errors.ts';
import { crc32c } from '../../lib/core/segment/crc.ts';
import type { FetchedRecord, ProduceRequest, TopicRecord } from '../../lib/core/types.ts';
import { DEFAULT_TOPIC_CONFIG } from '../../lib/core/validation.ts';
import { UnsupportedCompressionTypeError } from '../../lib/kafka/errors.ts';
import {
  ApiKey,
  decodeRecordBatches,
  decodeResponse,
  encodeRecordBatch,
  encodeRequest,
} from '../../lib/kafka/index.ts';
import { ALL_APIS } from '../../lib/kafka/server/apis/index.ts';
import type { Clock, KafkaEngine } from '../../lib/kafka/server/context.ts';
import { dispatch, servedVersions } from '../../lib/kafka/server/dispatch.ts';
import { KafkaError, toKafkaError } from '../../lib/kafka/server/error-codes.ts';
import { GROUP_API_KEYS } from '../../lib/kafka/server/groups.ts';
import { longPoll } from '../../lib/kafka/server/long-poll.ts';
import { emptyBatch, toProduceRecords, toRecordBatch } from '../../lib/kafka/server/records.ts';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));

describe('the Streambed → Kafka error table', () => {
  test("maps each engine error to Kafka's code: unknown topic 3, too large 10, sequences 45/46, unknown producer 59, fenced 90, throttled 7 (retriable)", () => {
    const cases: [Error, number][] = [
      [new UnknownTopicError('orders'), 3],
      [new RecordTooLargeError('big'), 10],
      [new OutOfOrderSequenceError('gap'), 45],
      [new DuplicateSequenceError('old'), 46],
      [new UnknownProducerIdError('who'), 59],
      [new ProducerFencedError('newer epoch'), 90],
      [new ThrottledError('slow down'), 7],
      [new InvalidArgumentError('bad'), 42],
      [new UnsupportedCompressionTypeError('snappy'), 76],
      [new Error('boom'), -1],
    ];
    for (const [error, code] of cases) assert.equal(toKafkaError(error).errorCode, code, error.message);
  });

  test('a produce maps a bad record to INVALID_RECORD (87) through its override, and keeps the message', () => {
    const failure = toKafkaError(new InvalidArgumentError('records[0] has no key'), {
      InvalidArgument: KafkaError.INVALID_RECORD,
    });
    assert.deepEqual(failure, { errorCode: 87, errorMessage: 'records[0] has no key' });
  });
});

describe('record conversion between Kafka batches and Streambed records', () => {
  test('a produced batch becomes records for its partition with key, null value (tombstone), headers and CreateTime timestamps', () => {
    const encoded = encodeRecordBatch({
      baseOffset: 0,
      compression: 'gzip',
      baseTimestamp: 1_700_000_000_000,
      maxTimestamp: 1_700_000_000_005,
      records: [
        {
          timestampDelta: 0,
          offsetDelta: 0,
          key: bytes('k'),
          value: bytes('v'),
          headers: [{ key: 'h', value: bytes('x') }],
        },
        {
          timestampDelta: 5,
          offsetDelta: 1,
          key: bytes('k'),
          value: null,
          headers: [{ key: 'n', value: null }],
        },
      ],
    });
    const [batch] = decodeRecordBatches(encoded);
    assert.ok(batch);
    const records = toProduceRecords(batch, 2);
    assert.deepEqual(
      records.map((r) => [
        r.partition,
        text(r.key ?? null),
        text(r.value),
        r.timestamp,
        r.headers?.map(([k, v]) => [k, text(v)]),
      ]),
      [
        [2, 'k', 'v', 1_700_000_000_000, [['h', 'x']]],
        [2, 'k', null, 1_700_000_000_005, [['n', '']]],
      ],
    );
  });

  test("trailing holes (the engine's nextOffset past the last record) are covered by lastOffsetDelta; a fetch of only holes gets an empty batch up to nextOffset", () => {
    const fetched: FetchedRecord[] = [3, 5].map((offset) => ({
      offset,
      key: bytes('k'),
      value: bytes('v'),
      valueIsJson: false,
      headers: [],
      timestamp: 1_700_000_000_000,
      appendTime: 0,
    }));
    const [covered] = decodeRecordBatches(encodeRecordBatch(toRecordBatch(fetched, 'none', 9)));
    assert.deepEqual([covered?.baseOffset, covered?.lastOffsetDelta, covered?.records.length], [3n, 5, 2]);
    const [plain] = decodeRecordBatches(encodeRecordBatch(toRecordBatch(fetched, 'none', 6)));
    assert.equal(plain?.lastOffsetDelta, 2);
    const [empty] = decodeRecordBatches(encodeRecordBatch(emptyBatch(5, 10)));
    assert.deepEqual([empty?.baseOffset, empty?.lastOffsetDelta, empty?.records.length], [5n, 4, 0]);
  });

  test("fetched records become one batch at the first record's offset, a compacted log's holes as gaps in the offset deltas", () => {
    const fetched: FetchedRecord[] = [10, 11, 14].map((offset, i) => ({
      offset,
      key: bytes(`k${offset}`),
      value: bytes(`v${offset}`),
      valueIsJson: false,
      headers: [['h', bytes(String(i))]],
      timestamp: 1_700_000_000_000 + 10 - i,
      appendTime: 0,
    }));
    const [batch] = decodeRecordBatches(encodeRecordBatch(toRecordBatch(fetched)));
    assert.ok(batch);
    assert.equal(batch.baseOffset, 10n);
    assert.equal(batch.lastOffsetDelta, 4);
    assert.deepEqual(
      batch.records.map((r) => r.offsetDelta),
      [0, 1, 4],
    );
    assert.deepEqual(
      batch.records.map((r) => Number(batch.baseTimestamp) + r.timestampDelta),
      fetched.map((r) => r.timestamp),
    );
    assert.equal(batch.maxTimestamp, 1_700_000_000_010n);
    assert.deepEqual(
      batch.records.map((r) => text(r.value)),
      ['v10', 'v11', 'v14'],
    );
  });
});

/** A clock whose sleeps pass instantly, recording each. */
function fakeClock(): Clock & { slept: number[] } {
  let now = 1_000;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
}

describe('the fetch long poll', () => {
  test('answers at once when the first look has min.bytes', async () => {
    const clock = fakeClock();
    const value = await longPoll(async () => ({ value: 'data', bytes: 10, failed: false }), {
      maxWaitMs: 500,
      minBytes: 1,
      clock,
    });
    assert.equal(value, 'data');
    assert.deepEqual(clock.slept, []);
  });

  test('looks again with doubling backoff (20, 40, 80 ... capped) and answers at max.wait.ms with the last look, never sleeping past it', async () => {
    const clock = fakeClock();
    let looks = 0;
    const value = await longPoll(async () => ({ value: ++looks, bytes: 0, failed: false }), {
      maxWaitMs: 1_000,
      minBytes: 1,
      clock,
      maxBackoffMs: 200,
    });
    assert.deepEqual(clock.slept, [20, 40, 80, 160, 200, 200, 200, 100]);
    assert.equal(value, looks);
    assert.equal(looks, 9);
  });

  test('answers as soon as data arrives, or an error is found, before the deadline', async () => {
    const clock = fakeClock();
    let looks = 0;
    const value = await longPoll(
      async () => ({ value: ++looks, bytes: looks === 3 ? 5 : 0, failed: false }),
      {
        maxWaitMs: 10_000,
        minBytes: 1,
        clock,
      },
    );
    assert.equal(value, 3);
    assert.deepEqual(clock.slept, [20, 40]);
    const failed = await longPoll(async () => ({ value: 'error', bytes: 0, failed: true }), {
      maxWaitMs: 10_000,
      minBytes: 1,
      clock: fakeClock(),
    });
    assert.equal(failed, 'error');
  });
});

const TOPIC: TopicRecord = {
  name: 'orders',
  id: 'abc',
  partitions: 2,
  config: DEFAULT_TOPIC_CONFIG,
  createdAt: 0,
};

/** An engine that knows one topic and records produce calls. */
function fakeEngine(): KafkaEngine & { produced: ProduceRequest[] } {
  const produced: ProduceRequest[] = [];
  const engine = {
    produced,
    listTopics: async () => [TOPIC],
    describeTopic: async (name: string) => {
      if (name !== 'orders') throw new UnknownTopicError(name);
      return { ...TOPIC, partitionStates: [] };
    },
    produce: async (request: ProduceRequest) => {
      produced.push(request);
      return {
        offsets: request.records.map((_, i) => ({ partition: 0, offset: 7 + i })),
        objectKey: 'x',
        duplicatePartitions: [],
      };
    },
  };
  return engine as unknown as KafkaEngine & { produced: ProduceRequest[] };
}

const handlers = new Map(ALL_APIS.map((h) => [h.apiKey, h]));

function context(engine: KafkaEngine) {
  return {
    engine,
    broker: { nodeId: 0, host: '127.0.0.1', port: 9092 },
    clusterId: 'test',
    clock: fakeClock(),
    apis: servedVersions(ALL_APIS),
    signal: new AbortController().signal,
  };
}

function batchWithCompressionCode(code: number): Uint8Array {
  const b = encodeRecordBatch({
    baseOffset: 0,
    compression: 'none',
    baseTimestamp: 1,
    maxTimestamp: 1,
    records: [{ timestampDelta: 0, offsetDelta: 0, key: null, value: bytes('x'), headers: [] }],
  });
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  view.setInt16(21, (view.getInt16(21) & ~7) | code);
  view.setUint32(17, crc32c(b.subarray(21)));
  return b;
}

describe('the request dispatcher', () => {
  const produceRequest = (acks: number, records: Uint8Array) =>
    encodeRequest(
      { apiKey: ApiKey.Produce, apiVersion: 9, correlationId: 5, clientId: 't' },
      {
        transactionalId: null,
        acks,
        timeoutMs: 1000,
        topicData: [{ name: 'orders', partitionData: [{ index: 1, records }] }],
      },
    );

  test('a batch of a compression code Kafka does not define is answered with UNSUPPORTED_COMPRESSION_TYPE (76) for its partition, and nothing is produced', async () => {
    for (const code of [5, 7]) {
      const engine = fakeEngine();
      const outcome = await dispatch(
        produceRequest(-1, batchWithCompressionCode(code)),
        handlers,
        context(engine),
      );
      assert.equal(outcome.kind, 'respond');
      if (outcome.kind !== 'respond') return;
      const { body } = decodeResponse(ApiKey.Produce, 9, outcome.bytes);
      const partition = (
        body.responses as { partitionResponses: { errorCode: number; errorMessage: string }[] }[]
      )[0]?.partitionResponses[0];
      assert.equal(partition?.errorCode, 76);
      assert.match(partition?.errorMessage ?? '', /not supported/);
      assert.equal(engine.produced.length, 0);
    }
  });

  test('acks=0 produces and sends no response; acks=1 answers with the base offset after the engine returns', async () => {
    const engine = fakeEngine();
    assert.deepEqual(
      await dispatch(produceRequest(0, batchWithCompressionCode(0)), handlers, context(engine)),
      {
        kind: 'silent',
      },
    );
    assert.equal(engine.produced.length, 1);
    assert.equal(engine.produced[0]?.records[0]?.partition, 1);
    const outcome = await dispatch(produceRequest(1, batchWithCompressionCode(0)), handlers, context(engine));
    assert.equal(outcome.kind, 'respond');
    if (outcome.kind !== 'respond') return;
    const { correlationId, body } = decodeResponse(ApiKey.Produce, 9, outcome.bytes);
    assert.equal(correlationId, 5);
    const partition = (
      body.responses as { partitionResponses: { errorCode: number; baseOffset: bigint }[] }[]
    )[0]?.partitionResponses[0];
    assert.deepEqual([partition?.errorCode, partition?.baseOffset], [0, 7n]);
  });

  test('ApiVersions of an unknown version gets a v0 answer with UNSUPPORTED_VERSION and the served list, as Kafka does', async () => {
    const frame = new Uint8Array([0, 18, 0, 99, 0, 0, 0, 3, 0, 0]);
    const outcome = await dispatch(frame, handlers, context(fakeEngine()));
    assert.equal(outcome.kind, 'respond');
    if (outcome.kind !== 'respond') return;
    const { body } = decodeResponse(ApiKey.ApiVersions, 0, outcome.bytes);
    assert.equal(body.errorCode, 35);
    const keys = (body.apiKeys as { apiKey: number }[]).map((a) => a.apiKey);
    assert.deepEqual(keys, [0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 19, 20, 21, 22, 32, 37]);
  });

  test('an API not served is answered with UNSUPPORTED_VERSION when its response has an error code (Heartbeat, on a server without a group coordinator), else the connection closes as Kafka does', async () => {
    const heartbeat = encodeRequest(
      { apiKey: ApiKey.Heartbeat, apiVersion: 3, correlationId: 9, clientId: 't' },
      { groupId: 'g', generationId: 1, memberId: 'm', groupInstanceId: null },
    );
    const withoutGroups = {
      ...context(fakeEngine()),
      apis: servedVersions(ALL_APIS.filter((h) => !GROUP_API_KEYS.has(h.apiKey))),
    };
    const outcome = await dispatch(heartbeat, handlers, withoutGroups);
    assert.equal(outcome.kind, 'respond');
    if (outcome.kind === 'respond')
      assert.equal(decodeResponse(ApiKey.Heartbeat, 3, outcome.bytes).body.errorCode, 35);
    const unknownKey = new Uint8Array([0x03, 0xe7, 0, 0, 0, 0, 0, 1, 0, 0]);
    assert.equal((await dispatch(unknownKey, handlers, context(fakeEngine()))).kind, 'close');
  });

  test('CreatePartitions is refused with INVALID_REQUEST and a message saying Streambed topics cannot grow', async () => {
    const request = encodeRequest(
      { apiKey: ApiKey.CreatePartitions, apiVersion: 3, correlationId: 1, clientId: 't' },
      { topics: [{ name: 'orders', count: 4, assignments: null }], timeoutMs: 1000, validateOnly: false },
    );
    const outcome = await dispatch(request, handlers, context(fakeEngine()));
    assert.equal(outcome.kind, 'respond');
    if (outcome.kind !== 'respond') return;
    const result = (
      decodeResponse(ApiKey.CreatePartitions, 3, outcome.bytes).body.results as {
        errorCode: number;
        errorMessage: string;
      }[]
    )[0];
    assert.equal(result?.errorCode, 42);
    assert.match(result?.errorMessage ?? '', /Streambed topics cannot grow/);
  });
});
