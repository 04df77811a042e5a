import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidArgumentError } from 'commander';
import {
  configEntry,
  integer,
  nonNegativeInt,
  partitionList,
  positiveInt,
  timestamp,
} from '../../lib/cli/args.ts';
import { checkConsumeOptions } from '../../lib/cli/consume.ts';
import { resolveConnection, table } from '../../lib/cli/context.ts';
import { UsageError } from '../../lib/cli/exit-codes.ts';
import { describeRows, resetTarget } from '../../lib/cli/groups.ts';
import { humanBytes, lineRecord } from '../../lib/cli/produce.ts';

describe('topic --config parsing', () => {
  test('numeric keys take numbers and string keys take text, accumulated over repeated flags', () => {
    const config = configEntry('cleanupPolicy=compact', configEntry('retentionMs=60000', {}));
    assert.deepEqual(config, { retentionMs: 60_000, cleanupPolicy: 'compact' });
    assert.deepEqual(configEntry('minCleanableDirtyRatio=0.25'), { minCleanableDirtyRatio: 0.25 });
  });

  test("Kafka's dotted names and any case name the same keys", () => {
    assert.deepEqual(configEntry('retention.ms=1000'), { retentionMs: 1000 });
    assert.deepEqual(configEntry('cleanup.policy=compact,delete'), { cleanupPolicy: 'compact,delete' });
    assert.deepEqual(configEntry('MAXRECORDBYTES=10'), { maxRecordBytes: 10 });
  });

  test('an unknown key is refused with the list of keys', () => {
    assert.throws(
      () => configEntry('retention=5'),
      (e: unknown) => e instanceof InvalidArgumentError && /retentionMs, retentionBytes/.test(e.message),
    );
  });

  test('a number key with text, a missing = or an empty value is refused', () => {
    assert.throws(() => configEntry('retentionMs=soon'), InvalidArgumentError);
    assert.throws(() => configEntry('retentionMs'), InvalidArgumentError);
    assert.throws(() => configEntry('=5'), InvalidArgumentError);
    assert.throws(() => configEntry('compression='), InvalidArgumentError);
  });
});

describe('argument parsers', () => {
  test('integers: non-negative, positive, and signed offsets', () => {
    assert.equal(nonNegativeInt('0'), 0);
    assert.throws(() => nonNegativeInt('-1'), InvalidArgumentError);
    assert.throws(() => nonNegativeInt('1.5'), InvalidArgumentError);
    assert.throws(() => positiveInt('0'), InvalidArgumentError);
    assert.equal(integer('-10'), -10);
    assert.throws(() => integer('ten'), InvalidArgumentError);
  });

  test('timestamps: ms since the epoch or an ISO date; anything else is refused', () => {
    assert.equal(timestamp('1717200000000'), 1_717_200_000_000);
    assert.equal(timestamp('2024-06-01T00:00:00Z'), 1_717_200_000_000);
    assert.throws(() => timestamp('yesterday'), InvalidArgumentError);
  });

  test('partition lists are sorted and deduplicated; a non-number is refused', () => {
    assert.deepEqual(partitionList('2, 0,1,2'), [0, 1, 2]);
    assert.throws(() => partitionList('0,a'), InvalidArgumentError);
  });
});

describe('produce input lines', () => {
  test('the key is split off at the first separator only', () => {
    assert.deepEqual(lineRecord('t', 'k:v:w', 1, { keySeparator: ':' }), {
      topic: 't',
      key: 'k',
      value: 'v:w',
    });
  });

  test('--json parses the value; --partition goes on every record', () => {
    assert.deepEqual(lineRecord('t', 'k\t{"a":1}', 1, { keySeparator: '\t', json: true, partition: 2 }), {
      topic: 't',
      key: 'k',
      partition: 2,
      json: { a: 1 },
    });
  });

  test('a line that is not JSON, or lacks the separator, is a usage error naming the line', () => {
    assert.throws(
      () => lineRecord('t', '{oops', 7, { json: true }),
      (e: unknown) => e instanceof UsageError && e.message.startsWith('line 7: not JSON'),
    );
    assert.throws(
      () => lineRecord('t', 'novalue', 3, { keySeparator: ':' }),
      (e: unknown) => e instanceof UsageError && e.message.startsWith('line 3:'),
    );
  });

  test('byte counts read as humans write them', () => {
    assert.equal(humanBytes(60), '60 bytes');
    assert.equal(humanBytes(46_285), '45.2 KiB');
  });
});

describe('flag combinations checked after parsing', () => {
  test('consume takes one start position at most, and no --partition or --offset with a --group', () => {
    assert.throws(() => checkConsumeOptions({ fromBeginning: true, offset: 3 }), UsageError);
    assert.throws(() => checkConsumeOptions({ group: 'g', partition: 0 }), UsageError);
    assert.throws(() => checkConsumeOptions({ group: 'g', offset: 0 }), UsageError);
    assert.doesNotThrow(() => checkConsumeOptions({ group: 'g', fromBeginning: true }));
  });

  test('reset-offsets needs exactly one --to-* target', () => {
    assert.equal(resetTarget({ topic: 't', toEarliest: true }), 'earliest');
    assert.deepEqual(resetTarget({ topic: 't', toDatetime: 5 }), { timestamp: 5 });
    assert.throws(() => resetTarget({ topic: 't' }), UsageError);
    assert.throws(() => resetTarget({ topic: 't', toLatest: true, toOffset: 3 }), UsageError);
  });
});

describe('connection defaults', () => {
  test("the endpoint comes from --endpoint, then STREAMBED_ENDPOINT, then npm start's", () => {
    assert.equal(resolveConnection({}, {}).endpoint, 'http://127.0.0.1:8080');
    assert.equal(resolveConnection({}, { STREAMBED_ENDPOINT: 'http://h:1' }).endpoint, 'http://h:1');
    assert.equal(
      resolveConnection({ endpoint: 'http://a:2' }, { STREAMBED_ENDPOINT: 'http://h:1' }).endpoint,
      'http://a:2',
    );
  });

  test('auth is sigv4 for an amazonaws.com host, none elsewhere, and --auth wins', () => {
    assert.equal(
      resolveConnection({ endpoint: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod' }, {}).auth,
      'sigv4',
    );
    assert.equal(resolveConnection({ endpoint: 'https://notamazonaws.com' }, {}).auth, 'none');
    assert.equal(resolveConnection({ endpoint: 'http://127.0.0.1:8080' }, {}).auth, 'none');
    assert.equal(resolveConnection({ endpoint: 'http://127.0.0.1:8080', auth: 'sigv4' }, {}).auth, 'sigv4');
  });
});

describe('tables', () => {
  test('columns are aligned under the header', () => {
    assert.equal(table(['A', 'LONGER'], [['xyz', 1]]), 'A    LONGER\nxyz  1\n');
  });

  test('groups describe shows every partition, with - where the group has no commit', () => {
    const rows = describeRows(
      'orders',
      [
        { partition: 0, highWatermark: 50 },
        { partition: 1, highWatermark: 7 },
      ],
      [{ partition: 0, offset: 40, metadata: '', highWatermark: 50, lagRecords: 10, lagSeconds: 12.54 }],
    );
    assert.deepEqual(rows, [
      ['orders', 0, 40, 50, 10, '13'],
      ['orders', 1, '-', 7, '-', '-'],
    ]);
  });
});
