import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { CorruptRecordBatchError } from '../../lib/kafka/errors.ts';
import {
  decompressLz4,
  decompressSnappy,
  nativeCodecsAvailable,
} from '../../lib/kafka/protocol/compression.ts';

const require = createRequire(import.meta.url);
const snappy = require('snappy') as { compressSync(input: Uint8Array): Buffer };
const lz4 = require('lz4-napi') as { compressFrameSync(data: Buffer): Buffer };

const MiB = 1024 * 1024;
const sample = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + (i >> 9)) & 0xff));

/** snappy-java's SnappyOutputStream framing of `pieces`, each compressed as one chunk. */
function xerial(pieces: Uint8Array[]): Buffer {
  const header = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]);
  const chunks = pieces.flatMap((piece) => {
    const block = snappy.compressSync(piece);
    const length = Buffer.alloc(4);
    length.writeInt32BE(block.length);
    return [length, block];
  });
  return Buffer.concat([header, ...chunks]);
}

describe('Kafka snappy records sections', () => {
  test('the native codecs load on this machine', () => {
    assert.deepEqual(nativeCodecsAvailable(), { snappy: true, lz4: true });
  });

  test('a bare snappy block and a xerial-framed one (as Kafka and librdkafka write them) inflate to the records', () => {
    const records = sample(200_000);
    assert.deepEqual(Buffer.from(decompressSnappy(snappy.compressSync(records), 64 * MiB, 'w')), records);
    const framed = xerial([
      records.subarray(0, 32_768),
      records.subarray(32_768, 100_000),
      records.subarray(100_000),
    ]);
    assert.deepEqual(Buffer.from(decompressSnappy(framed, 64 * MiB, 'w')), records);
  });

  test('a block that declares more than the cap is refused before anything is inflated', () => {
    // A varint preamble of 100 MiB, then nothing: only the declared length is read.
    const bomb = Buffer.from([0x80, 0x80, 0x80, 0x32, 0x00]);
    assert.throws(
      () => decompressSnappy(bomb, 64 * MiB, 'w'),
      /inflates to 104857600 bytes, past the 67108864/,
    );
    const records = sample(10_000);
    assert.throws(() => decompressSnappy(xerial([records, records]), 15_000, 'w'), CorruptRecordBatchError);
  });

  test('damaged snappy bytes only ever throw CorruptRecordBatch', () => {
    const good = xerial([sample(5_000)]);
    fc.assert(
      fc.property(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 }), (at, flip) => {
        const bad = Buffer.from(good);
        bad[at] = (bad[at] as number) ^ flip;
        try {
          decompressSnappy(bad, 64 * MiB, 'w');
        } catch (error) {
          assert.ok(error instanceof CorruptRecordBatchError, String(error));
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('Kafka lz4 records sections', () => {
  test('an LZ4 frame inflates to the records', () => {
    const records = sample(300_000);
    assert.deepEqual(Buffer.from(decompressLz4(lz4.compressFrameSync(records), 64 * MiB, 'w')), records);
  });

  test('a frame of more blocks than the cap allows is refused before it is inflated; bytes after the frame are refused', () => {
    // Magic, FLG (version 01, independent blocks), BD (64 KiB blocks), header checksum (never reached),
    // three 64 KiB blocks stored as they are, the end mark: refused from the block sizes alone.
    const block = Buffer.concat([Buffer.from([0x00, 0x00, 0x01, 0x80]), Buffer.alloc(65_536)]);
    const many = Buffer.concat([
      Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x00]),
      block,
      block,
      block,
      Buffer.alloc(4),
    ]);
    assert.throws(
      () => decompressLz4(many, 100_000, 'w'),
      /3 blocks of up to 65536 bytes may inflate past the 100000/,
    );
    // One large block is bounded by its block size, and checked once inflated.
    const frame = lz4.compressFrameSync(sample(300_000));
    assert.throws(() => decompressLz4(frame, 100_000, 'w'), /past the 100000 bytes allowed/);
    assert.throws(
      () => decompressLz4(Buffer.concat([frame, Buffer.from([1])]), 64 * MiB, 'w'),
      /1 bytes after/,
    );
    assert.throws(() => decompressLz4(sample(100), 64 * MiB, 'w'), /not an LZ4 frame/);
  });

  test('damaged lz4 bytes only ever throw CorruptRecordBatch', () => {
    const good = lz4.compressFrameSync(sample(5_000));
    fc.assert(
      fc.property(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 }), (at, flip) => {
        const bad = Buffer.from(good);
        bad[at] = (bad[at] as number) ^ flip;
        try {
          decompressLz4(bad, 64 * MiB, 'w');
        } catch (error) {
          assert.ok(error instanceof CorruptRecordBatchError, String(error));
        }
      }),
      { numRuns: 300 },
    );
  });
});
