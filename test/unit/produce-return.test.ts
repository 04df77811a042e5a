import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { InvalidProduceReturnError } from '../../lib/core/errors.ts';
import { MAX_OUTPUT_RECORDS, parseProduceReturn } from '../../lib/core/produce-return.ts';

const text = (bytes: Uint8Array | null | undefined) =>
  bytes === null || bytes === undefined ? bytes : new TextDecoder().decode(bytes);

describe('a consumer function return without produce has no outputs', () => {
  for (const [name, response] of [
    ['nothing', undefined],
    ['null', null],
    ['a string', 'done'],
    ['an empty object', {}],
    ['only batchItemFailures', { batchItemFailures: [] }],
    ['produce: null', { produce: null }],
    ['an empty produce', { produce: [] }],
  ] as const) {
    test(`${name} → []`, () => assert.deepEqual(parseProduceReturn(response), []));
  }
});

describe('produce records are read as the HTTP API reads records', () => {
  test('a JSON value is stored as its JSON text with the JSON flag; key and headers as UTF-8', () => {
    const [record] = parseProduceReturn({
      produce: [{ topic: 'invoices', key: 'c-42', value: { total: 12 }, headers: { source: 'billing' } }],
    });
    assert.equal(record?.topic, 'invoices');
    assert.equal(text(record?.key), 'c-42');
    assert.equal(text(record?.value), '{"total":12}');
    assert.equal(record?.valueIsJson, true);
    assert.deepEqual(
      record?.headers?.map(([name, value]) => [name, text(value)]),
      [['source', 'billing']],
    );
    assert.equal(record?.partition, undefined);
  });

  test('valueBase64 is binary (no JSON flag); value null is a tombstone; partition and timestamp are kept', () => {
    const [binary, tombstone] = parseProduceReturn({
      produce: [
        { topic: 'a', valueBase64: 'AAEC', partition: 3, timestamp: 1700000000000 },
        { topic: 'a', key: 'k', value: null },
      ],
    });
    assert.deepEqual([...(binary?.value ?? [])], [0, 1, 2]);
    assert.equal(binary?.valueIsJson, false);
    assert.equal(binary?.key, null);
    assert.equal(binary?.partition, 3);
    assert.equal(binary?.timestamp, 1700000000000);
    assert.equal(tombstone?.value, null);
    assert.equal(tombstone?.valueIsJson, false);
  });

  test('JSON values of every kind but null keep their JSON text (a string, a number, false)', () => {
    const values = parseProduceReturn({
      produce: [
        { topic: 'a', value: 'x' },
        { topic: 'a', value: 0 },
        { topic: 'a', value: false },
      ],
    }).map((r) => text(r.value));
    assert.deepEqual(values, ['"x"', '0', 'false']);
  });
});

describe('a bad produce return is refused with InvalidProduceReturn naming the field', () => {
  const cases: [string, unknown, RegExp][] = [
    ['produce is not an array', { produce: { topic: 'a' } }, /^produce must be an array/],
    ['a record is null', { produce: [null] }, /^produce\[0\] must be an object/],
    ['a record is an array', { produce: [[1]] }, /^produce\[0\] must be an object/],
    [
      'a sparse array',
      { produce: Object.assign(new Array(2), { 1: { topic: 'a', value: 1 } }) },
      /produce\[0\] is missing/,
    ],
    [
      'an unknown field',
      { produce: [{ topic: 'a', value: 1, offset: 3 }] },
      /produce\[0\]\.offset is not a record field/,
    ],
    ['no topic', { produce: [{ value: 1 }] }, /produce\[0\]\.topic must be/],
    ['a bad topic name', { produce: [{ topic: 'a b', value: 1 }] }, /produce\[0\]\.topic must be .*'a b'/],
    [
      'a numeric key',
      { produce: [{ topic: 'a', key: 7, value: 1 }] },
      /produce\[0\]\.key must be a string or null, got 7/,
    ],
    [
      'value and valueBase64',
      { produce: [{ topic: 'a', value: 1, valueBase64: 'AA==' }] },
      /produce\[0\] gives both value and valueBase64/,
    ],
    [
      'neither value nor valueBase64',
      { produce: [{ topic: 'a', key: 'k' }] },
      /produce\[0\] needs value or valueBase64/,
    ],
    [
      'unpadded base64',
      { produce: [{ topic: 'a', valueBase64: 'AAE' }] },
      /produce\[0\]\.valueBase64 must be padded base64/,
    ],
    [
      'base64 with bad characters',
      { produce: [{ topic: 'a', valueBase64: 'AA*=' }] },
      /produce\[0\]\.valueBase64 must be padded base64/,
    ],
    [
      'numeric valueBase64',
      { produce: [{ topic: 'a', valueBase64: 12 }] },
      /produce\[0\]\.valueBase64 must be padded base64/,
    ],
    [
      'headers as an array',
      { produce: [{ topic: 'a', value: 1, headers: [['h', 'v']] }] },
      /produce\[0\]\.headers must be an object/,
    ],
    [
      'a numeric header',
      { produce: [{ topic: 'a', value: 1, headers: { h: 1 } }] },
      /produce\[0\]\.headers\.h must be a string, got 1/,
    ],
    [
      'a negative partition',
      { produce: [{ topic: 'a', value: 1, partition: -1 }] },
      /produce\[0\]\.partition must be/,
    ],
    [
      'a fractional partition',
      { produce: [{ topic: 'a', value: 1, partition: 1.5 }] },
      /produce\[0\]\.partition must be/,
    ],
    [
      'partition 1000',
      { produce: [{ topic: 'a', value: 1, partition: 1000 }] },
      /produce\[0\]\.partition must be/,
    ],
    [
      'a string timestamp',
      { produce: [{ topic: 'a', value: 1, timestamp: 'now' }] },
      /produce\[0\]\.timestamp must be/,
    ],
    [
      'a value that is not JSON',
      { produce: [{ topic: 'a', value: 10n }] },
      /produce\[0\]\.value must be a JSON value/,
    ],
    [
      'a function as value',
      { produce: [{ topic: 'a', value: () => 1 }] },
      /produce\[0\]\.value must be a JSON value/,
    ],
    [
      'the second record bad',
      { produce: [{ topic: 'a', value: 1 }, { topic: 'a' }] },
      /produce\[1\] needs value/,
    ],
  ];
  for (const [name, response, message] of cases) {
    test(name, () => {
      assert.throws(
        () => parseProduceReturn(response),
        (error: unknown) =>
          error instanceof InvalidProduceReturnError &&
          error.code === 'InvalidProduceReturn' &&
          !error.retryable &&
          message.test(error.message),
      );
    });
  }

  test(`more than ${MAX_OUTPUT_RECORDS} records`, () => {
    const produce = Array.from({ length: MAX_OUTPUT_RECORDS + 1 }, () => ({ topic: 'a', value: 1 }));
    assert.throws(() => parseProduceReturn({ produce }), /at most 10000 records, got 10001/);
  });

  test('any JSON return either parses or throws InvalidProduceReturn, never another error', () => {
    const record = fc.record(
      {
        topic: fc.oneof(fc.constantFrom('a', 'orders.v1'), fc.string()),
        key: fc.oneof(fc.string(), fc.constant(null), fc.integer()),
        value: fc.jsonValue(),
        valueBase64: fc.oneof(fc.base64String(), fc.string()),
        headers: fc.oneof(fc.dictionary(fc.string(), fc.string()), fc.jsonValue()),
        partition: fc.oneof(fc.nat(1200), fc.double()),
        timestamp: fc.oneof(fc.nat(), fc.string()),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(fc.record({ produce: fc.array(record) }), fc.jsonValue()), (response) => {
        try {
          parseProduceReturn(response);
        } catch (error) {
          if (!(error instanceof InvalidProduceReturnError)) throw error;
        }
      }),
      { numRuns: 2000 },
    );
  });
});
