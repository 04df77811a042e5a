import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { InvalidArgumentError } from '../../lib/core/errors.ts';
import { murmur2, partitionForKey, toPositive } from '../../lib/core/partitioner.ts';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

const MASK = 0xffff_ffffn;
const M = 0x5bd1e995n;
const mul = (a: bigint, b: bigint): bigint => (a * b) & MASK;
const at = (data: Uint8Array, i: number): bigint => BigInt(data[i] as number); // Java: data[i] & 0xff

/** Java's Utils.murmur2 transcribed with unsigned 32-bit BigInt arithmetic (independent of Math.imul). */
function referenceMurmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (0x9747b28cn ^ BigInt(length)) & MASK;
  for (let i = 0; i < Math.floor(length / 4); i++) {
    const i4 = i * 4;
    let k =
      (at(data, i4) + (at(data, i4 + 1) << 8n) + (at(data, i4 + 2) << 16n) + (at(data, i4 + 3) << 24n)) &
      MASK;
    k = mul(k, M);
    k ^= k >> 24n;
    k = mul(k, M);
    h = mul(h, M);
    h ^= k;
  }
  const tail = length - (length % 4);
  if (length % 4 === 3) h ^= at(data, tail + 2) << 16n;
  if (length % 4 >= 2) h ^= at(data, tail + 1) << 8n;
  if (length % 4 >= 1) {
    h ^= at(data, tail);
    h = mul(h, M);
  }
  h ^= h >> 13n;
  h = mul(h, M);
  h ^= h >> 15n;
  return Number(BigInt.asIntN(32, h));
}

describe('murmur2', () => {
  // Kafka's UtilsTest.testMurmur2 (apache/kafka clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java).
  const kafkaVectors: [string, Uint8Array, number][] = [
    ['"21"', utf8('21'), -973932308],
    ['"foobar"', utf8('foobar'), -790332482],
    ['"a-little-bit-long-string"', utf8('a-little-bit-long-string'), -985981536],
    ['"a-little-bit-longer-string"', utf8('a-little-bit-longer-string'), -1486304829],
    [
      '"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"',
      utf8('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'),
      -58897971,
    ],
    ["bytes {'a', 'b', 'c'}", Uint8Array.of(0x61, 0x62, 0x63), 479470107],
  ];
  for (const [name, bytes, hash] of kafkaVectors) {
    test(`hashes ${name} to ${hash}, as Kafka's Java client`, () => {
      assert.equal(murmur2(bytes), hash);
    });
  }

  test('the BigInt reference below agrees with the Kafka vectors', () => {
    for (const [, bytes, hash] of kafkaVectors) assert.equal(referenceMurmur2(bytes), hash);
  });

  test('matches a straightforward 32-bit BigInt transcription of the Java code for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 67 }), (bytes) => {
        assert.equal(murmur2(bytes), referenceMurmur2(bytes));
      }),
      { numRuns: 300 },
    );
  });

  test('treats bytes >= 0x80 as unsigned, like Java data[i] & 0xff', () => {
    for (const bytes of [[0xff], [0x80, 0x81], [0xfe, 0xff, 0x90], [0xff, 0xff, 0xff, 0xff, 0x80]]) {
      assert.equal(murmur2(Uint8Array.from(bytes)), referenceMurmur2(Uint8Array.from(bytes)));
    }
  });

  test('always returns a signed 32-bit integer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const h = murmur2(bytes);
        assert.equal(h, h | 0);
      }),
    );
  });
});

describe('toPositive', () => {
  test('clears the sign bit of a negative hash instead of negating it', () => {
    assert.equal(toPositive(-790332482), 1357151166);
    assert.equal(toPositive(-1), 0x7fffffff);
    assert.equal(toPositive(-2147483648), 0);
  });

  test('leaves non-negative values unchanged', () => {
    assert.equal(toPositive(0), 0);
    assert.equal(toPositive(479470107), 479470107);
    assert.equal(toPositive(0x7fffffff), 0x7fffffff);
  });
});

describe('partitionForKey', () => {
  test('is toPositive(murmur2(key)) % partitions', () => {
    assert.equal(partitionForKey(utf8('foobar'), 10), 1357151166 % 10);
    assert.equal(partitionForKey(utf8('foobar'), 10), 6);
    assert.equal(partitionForKey(utf8('foobar'), 50), 16);
    assert.equal(partitionForKey(utf8('abc'), 7), 479470107 % 7);
  });

  test('always lands in [0, partitions)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.integer({ min: 1, max: 10_000 }),
        (key, partitions) => {
          const p = partitionForKey(key, partitions);
          assert.ok(Number.isInteger(p) && p >= 0 && p < partitions, `${p} not in [0, ${partitions})`);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('rejects a partition count that is not a positive integer', () => {
    for (const partitions of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => partitionForKey(utf8('k'), partitions), InvalidArgumentError);
    }
  });
});
