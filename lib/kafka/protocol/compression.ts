import { createRequire } from 'node:module';
import { CorruptRecordBatchError, UnsupportedCompressionTypeError } from '../errors.ts';

/*
 * Snappy and LZ4 records sections of Kafka record batches, read with two native packages (`snappy`,
 * `lz4-napi`, napi-rs builds; one binary package per platform). They load on first use; where a
 * platform's binary is missing the batch is refused with UNSUPPORTED_COMPRESSION_TYPE, as before they
 * were supported. Both formats state how large their output is before anything is inflated, and that is
 * checked against the caller's cap first, so a small request cannot make the server allocate gigabytes.
 *
 * Snappy, as Kafka writes it (snappy-java's SnappyOutputStream, "xerial" framing; librdkafka writes the
 * same), or a bare snappy block (some clients; snappy-java reads both):
 *
 *   offset  size  field
 *        0     8  magic         82 53 4E 41 50 50 59 00  ("\x82SNAPPY\0")
 *        8     4  version       int32 BE (1)
 *       12     4  compatible    int32 BE (1)
 *       16     …  chunks        int32 BE length n, then n bytes: one snappy block
 *
 *   a snappy block: varint (little-endian base 128) uncompressed length, then the compressed elements
 *
 * LZ4, as Kafka writes it since magic 1 (KafkaLZ4BlockOutputStream): one LZ4 frame (lz4 frame format 1.6):
 *
 *   offset  size  field
 *        0     4  magic         04 22 4D 18  (0x184D2204 little-endian)
 *        4     1  FLG           bits 7-6 version (01), 5 block independence, 4 block checksum,
 *                               3 content size, 2 content checksum, 0 dictionary id
 *        5     1  BD            bits 6-4 block max size: 4 = 64 KiB, 5 = 256 KiB, 6 = 1 MiB, 7 = 4 MiB
 *        6   0|8  content size  uint64 LE, when FLG bit 3
 *        …   0|4  dictionary id uint32 LE, when FLG bit 0
 *        …     1  header checksum
 *        …     …  blocks        uint32 LE size (high bit: stored uncompressed), data, [uint32 checksum];
 *                               a size of 0 ends the blocks
 *        …   0|4  content checksum, when FLG bit 2
 */

const XERIAL_MAGIC = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00];
const LZ4_MAGIC = 0x184d2204;
const LZ4_BLOCK_MAX = new Map([
  [4, 64 * 1024],
  [5, 256 * 1024],
  [6, 1024 * 1024],
  [7, 4 * 1024 * 1024],
]);

type Snappy = { uncompressSync(input: Uint8Array, options?: { asBuffer?: boolean }): string | Buffer };
type Lz4 = { decompressFrameSync(data: Buffer): Buffer };

const require = createRequire(import.meta.url);
let snappy: Snappy | null | undefined;
let lz4: Lz4 | null | undefined;

function load<T>(name: 'snappy' | 'lz4-napi'): T | null {
  try {
    return require(name) as T;
  } catch {
    return null;
  }
}

function snappyModule(): Snappy {
  snappy ??= load<Snappy>('snappy');
  if (snappy === null) throw new UnsupportedCompressionTypeError('snappy');
  return snappy;
}

function lz4Module(): Lz4 {
  lz4 ??= load<Lz4>('lz4-napi');
  if (lz4 === null) throw new UnsupportedCompressionTypeError('lz4');
  return lz4;
}

/** Whether `snappy` and `lz4-napi` load on this platform (their batches are refused where not). */
export function nativeCodecsAvailable(): { snappy: boolean; lz4: boolean } {
  snappy ??= load<Snappy>('snappy');
  lz4 ??= load<Lz4>('lz4-napi');
  return { snappy: snappy !== null, lz4: lz4 !== null };
}

function corrupt(where: string, codec: string, reason: string): CorruptRecordBatchError {
  return new CorruptRecordBatchError(`${where}: ${codec} records do not decompress: ${reason}`);
}

/** A snappy block's declared uncompressed length (its varint preamble), or -1 when it does not parse. */
function snappyLength(block: Uint8Array): number {
  let value = 0;
  for (let i = 0; i < 5 && i < block.length; i++) {
    const byte = block[i] as number;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return value;
  }
  return -1;
}

function uncompressBlock(block: Uint8Array, budget: number, where: string): Uint8Array {
  const length = snappyLength(block);
  if (length < 0) throw corrupt(where, 'snappy', 'a block has no length');
  if (length > budget) {
    throw corrupt(where, 'snappy', `a block inflates to ${length} bytes, past the ${budget} bytes allowed`);
  }
  let out: string | Buffer;
  try {
    out = snappyModule().uncompressSync(block, { asBuffer: true });
  } catch (cause) {
    if (cause instanceof UnsupportedCompressionTypeError) throw cause;
    throw corrupt(where, 'snappy', cause instanceof Error ? cause.message : String(cause));
  }
  if (typeof out === 'string' || out.length !== length) throw corrupt(where, 'snappy', 'a block is short');
  return out;
}

/**
 * Inflates a snappy records section (xerial framing or a bare block) of at most `maxBytes`.
 *
 * @example decompressSnappy(section, 64 * 1024 * 1024, 'topic orders partition 0')
 */
export function decompressSnappy(bytes: Uint8Array, maxBytes: number, where: string): Uint8Array {
  const framed = bytes.length >= 16 && XERIAL_MAGIC.every((b, i) => bytes[i] === b);
  if (!framed) return uncompressBlock(bytes, maxBytes, where);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (let pos = 16; pos < bytes.length; ) {
    if (pos + 4 > bytes.length) throw corrupt(where, 'snappy', 'a chunk length is cut short');
    const length = view.getInt32(pos);
    pos += 4;
    if (length < 0 || pos + length > bytes.length) throw corrupt(where, 'snappy', 'a chunk is cut short');
    const chunk = uncompressBlock(bytes.subarray(pos, pos + length), maxBytes - total, where);
    chunks.push(chunk);
    total += chunk.length;
    pos += length;
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  return Buffer.concat(chunks, total);
}

/**
 * Inflates an LZ4-frame records section of at most `maxBytes`: the frame is walked first (block sizes
 * only) to bound its output by its block count times its block size, then inflated.
 *
 * @example decompressLz4(section, 64 * 1024 * 1024, 'topic orders partition 0')
 */
export function decompressLz4(bytes: Uint8Array, maxBytes: number, where: string): Uint8Array {
  const fail = (reason: string) => corrupt(where, 'lz4', reason);
  if (bytes.length < 7) throw fail('the frame is cut short');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== LZ4_MAGIC) throw fail('not an LZ4 frame (magic)');
  const flg = bytes[4] as number;
  const bd = bytes[5] as number;
  if (flg >> 6 !== 1) throw fail(`frame version ${flg >> 6}, not 1`);
  const blockMax = LZ4_BLOCK_MAX.get((bd >> 4) & 0x07);
  if (blockMax === undefined) throw fail(`block size code ${(bd >> 4) & 0x07}`);
  const blockChecksum = (flg & 0x10) !== 0;
  let pos = 6;
  if ((flg & 0x08) !== 0) {
    if (pos + 8 > bytes.length) throw fail('the frame is cut short');
    const size = Number(view.getBigUint64(pos, true));
    if (size > maxBytes) throw fail(`the frame declares ${size} bytes, past the ${maxBytes} bytes allowed`);
    pos += 8;
  }
  if ((flg & 0x01) !== 0) throw fail('dictionary frames are not used by Kafka');
  pos += 1; // header checksum (the decoder checks it)
  let blocks = 0;
  for (;;) {
    if (pos + 4 > bytes.length) throw fail('the frame has no end mark');
    const word = view.getUint32(pos, true);
    pos += 4;
    if (word === 0) break;
    const size = word & 0x7fffffff;
    if (size > blockMax) throw fail(`a block of ${size} bytes in a frame of ${blockMax}-byte blocks`);
    pos += size + (blockChecksum ? 4 : 0);
    blocks++;
    // Blocks inflate to at most blockMax each: more than the cap's worth could inflate past it.
    if (blocks > Math.ceil(maxBytes / blockMax)) {
      throw fail(
        `${blocks} blocks of up to ${blockMax} bytes may inflate past the ${maxBytes} bytes allowed`,
      );
    }
  }
  if ((flg & 0x04) !== 0) pos += 4;
  if (pos !== bytes.length) throw fail(`${bytes.length - pos} bytes after the frame`);
  let out: Buffer;
  try {
    out = lz4Module().decompressFrameSync(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (cause) {
    if (cause instanceof UnsupportedCompressionTypeError) throw cause;
    throw fail(cause instanceof Error ? cause.message : String(cause));
  }
  if (out.length > maxBytes) throw fail(`inflates past the ${maxBytes} bytes allowed`);
  return out;
}
