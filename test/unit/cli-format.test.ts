import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UsageError } from '../../lib/cli/exit-codes.ts';
import { formatterFor, jsonLine, kcatFormatter } from '../../lib/cli/format.ts';
import type { ConsumerRecord } from '../../lib/client/index.ts';

const utf8 = (s: string) => new TextEncoder().encode(s);

const record = (overrides: Partial<ConsumerRecord> = {}): ConsumerRecord => ({
  topic: 'orders',
  partition: 2,
  offset: 17,
  timestamp: 1_717_200_000_000,
  key: utf8('c-42'),
  value: utf8('{"total":12}'),
  valueIsJson: true,
  headers: [
    ['source', utf8('web')],
    ['trace', utf8('abc')],
  ],
  ...overrides,
});

describe('kcat format strings', () => {
  test('every token prints its field: topic, partition, offset, key, value, timestamp, headers, lengths', () => {
    const out = kcatFormatter('%t|%p|%o|%k|%s|%T|%h|%K|%S')(record()).toString();
    assert.equal(out, 'orders|2|17|c-42|{"total":12}|1717200000000|source=web,trace=abc|4|12');
  });

  test('escapes \\n \\t \\\\ and %% become a newline, a tab, a backslash and a percent sign', () => {
    assert.equal(kcatFormatter('%o\\t100%%\\\\\\n')(record()).toString(), '17\t100%\\\n');
  });

  test('a null key and a tombstone print as nothing, their lengths as -1', () => {
    const out = kcatFormatter('[%k][%s] %K %S')(record({ key: null, value: null })).toString();
    assert.equal(out, '[][] -1 -1');
  });

  test('binary values are written byte for byte', () => {
    const bytes = new Uint8Array([0, 255, 10, 128]);
    assert.deepEqual([...kcatFormatter('%s')(record({ value: bytes }))], [0, 255, 10, 128]);
  });

  test('an unknown token or a trailing % is a usage error that names the token', () => {
    assert.throws(
      () => kcatFormatter('%x'),
      (e: unknown) => e instanceof UsageError && /%x/.test(e.message),
    );
    assert.throws(() => kcatFormatter('%s%'), UsageError);
    assert.throws(() => kcatFormatter('\\q'), UsageError);
  });
});

describe('consume output formats', () => {
  test('the default prints the value alone and a newline', () => {
    assert.equal(formatterFor(undefined)(record()).toString(), '{"total":12}\n');
  });

  test('json prints one object per line: JSON values as JSON, text as a string, headers by name', () => {
    const line = formatterFor('json')(record()).toString();
    assert.ok(line.endsWith('\n'));
    assert.deepEqual(JSON.parse(line), {
      topic: 'orders',
      partition: 2,
      offset: 17,
      timestamp: 1_717_200_000_000,
      key: 'c-42',
      value: { total: 12 },
      headers: { source: 'web', trace: 'abc' },
    });
    assert.equal(JSON.parse(jsonLine(record({ valueIsJson: false, value: utf8('hello') }))).value, 'hello');
  });

  test('json shows bytes that are not UTF-8 as base64 and a tombstone as null', () => {
    const binary = JSON.parse(jsonLine(record({ value: new Uint8Array([0xff, 0xfe]), valueIsJson: false })));
    assert.equal(binary.valueBase64, '//4=');
    assert.equal('value' in binary, false);
    assert.equal(JSON.parse(jsonLine(record({ value: null }))).value, null);
    assert.equal(JSON.parse(jsonLine(record({ key: new Uint8Array([0xff]) }))).keyBase64, '/w==');
  });

  test('a --format with no % token and not json is refused as a usage error', () => {
    assert.throws(() => formatterFor('yaml'), UsageError);
  });
});
