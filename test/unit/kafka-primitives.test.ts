import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { InvalidArgumentError } from '../../lib/core/errors.ts';
import { KafkaReader, KafkaWriter, MalformedKafkaMessageError, ZERO_UUID } from '../../lib/kafka/index.ts';

const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

function written(f: (w: KafkaWriter) => void): string {
  const w = new KafkaWriter(1);
  f(w);
  return toHex(w.finish());
}

describe('varint (zigzag int32)', () => {
  const cases: [number, string][] = [
    [0, '00'],
    [-1, '01'],
    [1, '02'],
    [63, '7e'],
    [-64, '7f'],
    [64, '8001'],
    [-65, '8101'],
    [2 ** 31 - 1, 'feffffff0f'],
    [-(2 ** 31), 'ffffffff0f'],
  ];
  for (const [value, bytes] of cases) {
    test(`${value} <-> ${bytes}`, () => {
      assert.equal(
        written((w) => w.varint(value)),
        bytes,
      );
      assert.equal(new KafkaReader(hex(bytes)).varint('v'), value);
    });
  }

  test('round-trips every int32; out of range is refused', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (v) => {
        const w = new KafkaWriter(1);
        w.varint(v);
        const r = new KafkaReader(w.finish());
        assert.equal(r.varint('v'), v);
        assert.equal(r.remaining, 0);
      }),
    );
    assert.throws(() => new KafkaWriter().varint(2 ** 31), InvalidArgumentError);
    assert.throws(() => new KafkaWriter().varint(1.5), InvalidArgumentError);
  });
});

describe('varlong (zigzag int64)', () => {
  const cases: [bigint, string][] = [
    [0n, '00'],
    [-1n, '01'],
    [1n, '02'],
    [2n ** 63n - 1n, 'feffffffffffffffff01'],
    [-(2n ** 63n), 'ffffffffffffffffff01'],
  ];
  for (const [value, bytes] of cases) {
    test(`${value} <-> ${bytes}`, () => {
      assert.equal(
        written((w) => w.varlong(value)),
        bytes,
      );
      assert.equal(new KafkaReader(hex(bytes)).varlong('v'), value);
    });
  }

  test('round-trips every int64; more than 10 bytes or 64 bits is malformed', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (v) => {
        const w = new KafkaWriter(1);
        w.varlong(v);
        assert.equal(new KafkaReader(w.finish()).varlong('v'), v);
      }),
    );
    assert.throws(
      () => new KafkaReader(hex('ffffffffffffffffff03')).varlong('v'),
      MalformedKafkaMessageError,
    );
    assert.throws(
      () => new KafkaReader(hex('ffffffffffffffffffff01')).varlong('v'),
      MalformedKafkaMessageError,
    );
    assert.throws(() => new KafkaWriter().varlong(2n ** 63n), InvalidArgumentError);
  });
});

describe('unsigned varint', () => {
  test('edges, and what is not a uint32', () => {
    assert.equal(
      written((w) => w.uvarint(300)),
      'ac02',
    );
    assert.equal(
      written((w) => w.uvarint(2 ** 32 - 1)),
      'ffffffff0f',
    );
    assert.equal(new KafkaReader(hex('ffffffff0f')).uvarint('u'), 2 ** 32 - 1);
    assert.throws(() => new KafkaReader(hex('ffffffff1f')).uvarint('u'), /exceeds 32 bits/);
    assert.throws(() => new KafkaReader(hex('8080')).uvarint('u'), /needs 1 bytes, 0 left/);
    assert.throws(() => new KafkaWriter().uvarint(-1), InvalidArgumentError);
  });
});

describe('fixed-width, strings, bytes, uuid', () => {
  test('big-endian integers at their edges', () => {
    const w = new KafkaWriter(1);
    w.int8(-128);
    w.int16(-32768);
    w.int32(2 ** 31 - 1);
    w.int64(-1n);
    w.uint16(65535);
    w.uint32(2 ** 32 - 1);
    w.float64(1.5);
    w.bool(true);
    assert.equal(
      toHex(w.finish()),
      `80 8000 7fffffff ${'ff'.repeat(8)} ffff ffffffff 3ff8000000000000 01`.replace(/ /g, ''),
    );
    const r = new KafkaReader(w.finish());
    assert.deepStrictEqual(
      [
        r.int8(''),
        r.int16(''),
        r.int32(''),
        r.int64(''),
        r.uint16(''),
        r.uint32(''),
        r.float64(''),
        r.bool(''),
      ],
      [-128, -32768, 2 ** 31 - 1, -1n, 65535, 2 ** 32 - 1, 1.5, true],
    );
    assert.throws(() => new KafkaWriter().int16(32768), InvalidArgumentError);
    assert.throws(() => new KafkaWriter().int64(2 ** 53), InvalidArgumentError);
  });

  test('classic and compact strings and bytes, null included', () => {
    assert.equal(
      written((w) => w.string('ab')),
      '00026162',
    );
    assert.equal(
      written((w) => w.string('ab', true)),
      '036162',
    );
    assert.equal(
      written((w) => w.string(null)),
      'ffff',
    );
    assert.equal(
      written((w) => w.string(null, true)),
      '00',
    );
    assert.equal(
      written((w) => w.bytesField(Uint8Array.of(9))),
      '0000000109',
    );
    assert.equal(
      written((w) => w.bytesField(null)),
      'ffffffff',
    );
    assert.equal(
      written((w) => w.bytesField(Uint8Array.of(9), true)),
      '0209',
    );
    assert.equal(new KafkaReader(hex('036162')).string('s', true), 'ab');
    assert.equal(new KafkaReader(hex('ffff')).string('s', false, true), null);
    assert.throws(() => new KafkaReader(hex('ffff')).string('s'), /null where a string is required/);
    assert.throws(() => new KafkaReader(hex('fffe')).string('s', false, true), /negative length -2/);
    assert.throws(() => new KafkaReader(hex('0005616263')).string('s'), /needs 5 bytes, 3 left/);
  });

  test('uuids are Kafka base64url text; arrays cannot claim more elements than bytes', () => {
    const bytes = hex('00112233445566778899aabbccddeeff');
    const text = new KafkaReader(bytes).uuid('u');
    assert.equal(text, 'ABEiM0RVZneImaq7zN3u_w');
    assert.equal(
      written((w) => w.uuid(text)),
      toHex(bytes),
    );
    assert.equal(
      written((w) => w.uuid(ZERO_UUID)),
      '00'.repeat(16),
    );
    assert.throws(() => new KafkaWriter().uuid('ABEiM0RVZneImaq7zN3u_'), InvalidArgumentError);
    assert.throws(
      () => new KafkaReader(hex('7fffffff00')).arrayLength('a', false),
      /array of 2147483647 elements/,
    );
  });
});
