import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidArgumentError } from '../../lib/core/errors.ts';
import { planProduce } from '../../lib/core/produce-plan.ts';
import type { ProduceRequest } from '../../lib/core/types.ts';
import { resolveTopicConfig } from '../../lib/core/validation.ts';
import type { EngineDeps } from '../../lib/engine/context.ts';
import { Streambed } from '../../lib/engine/streambed.ts';

const topic = { name: 't', id: 'id', partitions: 2, config: resolveTopicConfig({}), createdAt: 0 };
const value = new Uint8Array([1]);
const plan = (request: unknown) => () => planProduce(request as ProduceRequest, topic, 0, 0);

/** Only validation is under test here: the ports answer just enough to reach it. */
const log = new Streambed({
  topics: { get: async () => topic },
  index: {
    readHead: async () => ({ partition: 0, logStartOffset: 0, highWatermark: 1, tail: [], tailBase: 1 }),
  },
} as unknown as EngineDeps);

describe('malformed requests are InvalidArgument errors, never TypeErrors', () => {
  const cases: [string, () => unknown][] = [
    ['headers given as a string', plan({ topic: 't', records: [{ value, headers: 'x' }] })],
    ['headers given as an object', plan({ topic: 't', records: [{ value, headers: {} }] })],
    ['a header of three elements', plan({ topic: 't', records: [{ value, headers: [['a', value, 1]] }] })],
    ['a null producer', plan({ topic: 't', records: [{ value }], producer: null })],
    ['a string valueIsJson', plan({ topic: 't', records: [{ value, valueIsJson: 'y' }] })],
    ['a sparse records array', plan({ topic: 't', records: Object.assign(new Array(2), { 1: { value } }) })],
    ['a null record', plan({ topic: 't', records: [null] })],
    ['a null request', plan(null)],
  ];
  for (const [name, run] of cases) {
    test(`planning: ${name}`, () => assert.throws(run, InvalidArgumentError));
  }
  const asyncCases: [string, () => Promise<unknown>][] = [
    ['listOffsets with a null spec', () => log.listOffsets('t', 0, null as never)],
    ['listOffsets with no spec', () => log.listOffsets('t', 0, undefined as never)],
    [
      'a commit with a null entry',
      () => log.commitOffsets({ group: 'g', topic: 't', offsets: [null as never] }),
    ],
    ['produce(null)', () => log.produce(null as never)],
    ['fetch(null)', () => log.fetch(null as never)],
    ['createTopic(null)', () => log.createTopic(null as never)],
  ];
  for (const [name, run] of asyncCases) {
    test(`engine: ${name}`, async () => await assert.rejects(run(), InvalidArgumentError));
  }
});
