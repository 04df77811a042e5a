import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { MalformedKafkaMessageError } from '../../lib/kafka/errors.ts';
import { FrameSplitter, frame } from '../../lib/kafka/protocol/framing.ts';

/** The frames of `messages`, back to back, as a socket would carry them. */
function stream(messages: readonly Uint8Array[]): Uint8Array {
  return Buffer.concat(messages.map(frame));
}

/** `bytes` cut at `cuts` (positions, any order, repeats allowed: empty chunks). */
function chunked(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const at = [0, ...cuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b), bytes.length];
  return at.slice(1).map((end, i) => bytes.subarray(at[i], end));
}

function split(chunks: readonly Uint8Array[], max?: number): { out: Uint8Array[]; buffered: number } {
  const splitter = new FrameSplitter(max);
  const out = chunks.flatMap((c) => splitter.push(c));
  return { out, buffered: splitter.buffered };
}

const plain = (m: Uint8Array) => Uint8Array.from(m);

describe('FrameSplitter', () => {
  const messages = [
    Uint8Array.of(1, 2, 3),
    new Uint8Array(0),
    Uint8Array.from({ length: 70_000 }, (_, i) => i % 251),
    Uint8Array.of(9),
  ];
  const bytes = stream(messages);

  test('a stream fed byte by byte gives the same frames as fed whole', () => {
    const whole = split([bytes]);
    const byByte = split([...bytes].map((b) => Uint8Array.of(b)));
    assert.deepEqual(whole.out.map(plain), messages);
    assert.deepEqual(byByte.out.map(plain), messages);
    assert.equal(byByte.buffered, 0);
  });

  test('a stream fed in random chunk sizes gives the same frames', () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed;
    };
    for (let round = 0; round < 20; round++) {
      const chunks: Uint8Array[] = [];
      for (let at = 0; at < bytes.length; ) {
        const n = random() % (round % 2 === 0 ? 17 : 9000);
        chunks.push(bytes.subarray(at, at + n));
        at += n;
      }
      assert.deepEqual(split(chunks).out.map(plain), messages);
    }
  });

  test('what is buffered counts the bytes of the frame not yet whole, its size prefix included', () => {
    const splitter = new FrameSplitter();
    assert.deepEqual(splitter.push(bytes.subarray(0, 2)), []);
    assert.equal(splitter.buffered, 2);
    assert.deepEqual(splitter.push(bytes.subarray(2, 6)), []);
    assert.equal(splitter.buffered, 6);
    assert.deepEqual(splitter.push(bytes.subarray(6, 7)).map(plain), [messages[0]]);
    assert.equal(splitter.buffered, 0);
  });

  test('a message is a plain Uint8Array, even cut from a Buffer chunk', () => {
    const [m] = new FrameSplitter().push(Buffer.from(stream([Uint8Array.of(5, 6)])));
    assert.ok(m !== undefined && !Buffer.isBuffer(m));
    assert.deepEqual(plain(m), Uint8Array.of(5, 6));
  });

  test('a frame size above the limit or negative is refused as soon as its 4 bytes arrive', () => {
    const splitter = new FrameSplitter(10);
    assert.deepEqual(splitter.push(Uint8Array.of(0, 0, 0)), []);
    assert.throws(() => splitter.push(Uint8Array.of(11)), MalformedKafkaMessageError);
    assert.throws(
      () => new FrameSplitter().push(Uint8Array.of(0xff, 0xff, 0xff, 0xff)),
      MalformedKafkaMessageError,
    );
  });

  test('property: no chunking of a stream changes the frames it gives', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (msgs, cuts) => {
          const all = stream(msgs);
          const { out, buffered } = split(chunked(all, cuts));
          assert.deepEqual(out.map(plain), msgs);
          assert.equal(buffered, 0);
        },
      ),
    );
  });

  test('property: a stream cut short gives the whole frames before the cut and buffers the rest', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 100 }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        fc.nat(),
        (msgs, cuts, cutAt) => {
          const all = stream(msgs);
          const end = cutAt % (all.length + 1);
          const { out, buffered } = split(chunked(all.subarray(0, end), cuts));
          assert.deepEqual(out.map(plain), split([all.subarray(0, end)]).out.map(plain));
          const whole = out.reduce((n, m) => n + 4 + m.length, 0);
          assert.equal(buffered, end - whole);
        },
      ),
    );
  });
});
