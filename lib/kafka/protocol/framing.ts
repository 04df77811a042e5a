import { MalformedKafkaMessageError } from '../errors.ts';

/*
 * On a Kafka connection every request and response is size-delimited:
 *
 *   int32 size     bytes that follow (header + body), big-endian, >= 0
 *   size bytes     the message (api.ts)
 *
 * A peer announcing more than `maxFrameBytes` (Kafka's socket.request.max.bytes, 100 MiB by
 * default) is refused before anything is buffered for it.
 */

/** Kafka's default socket.request.max.bytes. */
export const DEFAULT_MAX_FRAME_BYTES = 100 * 1024 * 1024;

/**
 * Prefixes a message with its int32 size, ready to write to a socket.
 *
 * @example frame(encodeResponse(ApiKey.Heartbeat, 4, 7, { errorCode: 0 })) // 00 00 00 0b 00 00 00 07 ...
 */
export function frame(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + message.length);
  new DataView(out.buffer).setInt32(0, message.length);
  out.set(message, 4);
  return out;
}

/**
 * Splits a byte stream into messages: push each chunk as it arrives, get back the messages it
 * completed (each without its size prefix, in order).
 *
 * Linear in the bytes pushed, however the stream is chunked: chunks are kept in a list, not joined,
 * until a frame is whole; then its bytes are copied once into the message. A frame lying wholly in one
 * chunk is not copied at all: the message is a view of the chunk (a socket's chunks are fresh buffers,
 * written by nobody after they arrive).
 *
 * @example
 * const frames = new FrameSplitter();
 * socket.on('data', (chunk) => { for (const m of frames.push(chunk)) handle(decodeRequest(m)); });
 */
export class FrameSplitter {
  /** Received bytes not yet returned: `chunks[first]` from `head` on, then the later chunks whole. */
  private chunks: Uint8Array[] = [];
  private first = 0;
  private head = 0;
  private total = 0;
  /** The size of the frame being gathered, once its 4 size bytes arrived; -1 before. */
  private size = -1;
  private readonly maxFrameBytes: number;

  constructor(maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Bytes received that do not yet make a whole message (a pending size prefix included). */
  get buffered(): number {
    return this.total + (this.size === -1 ? 0 : 4);
  }

  push(chunk: Uint8Array): Uint8Array[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.total += chunk.length;
    }
    const out: Uint8Array[] = [];
    for (;;) {
      if (this.size === -1) {
        if (this.total < 4) break;
        const size = this.int32();
        if (size < 0 || size > this.maxFrameBytes) {
          throw new MalformedKafkaMessageError(`frame size ${size} is outside [0, ${this.maxFrameBytes}]`);
        }
        this.size = size;
      }
      if (this.total < this.size) break;
      out.push(this.take(this.size));
      this.size = -1;
    }
    return out;
  }

  /** Consumes a big-endian int32 (4 bytes are buffered). */
  private int32(): number {
    let v = 0;
    for (let i = 0; i < 4; i++) {
      const c = this.chunks[this.first] as Uint8Array;
      v = (v << 8) | (c[this.head] as number);
      this.advance(1, c);
    }
    this.total -= 4;
    return v | 0;
  }

  /** Consumes the next `n` buffered bytes (n ≤ total): a view when they lie in one chunk, else one copy. */
  private take(n: number): Uint8Array {
    if (n === 0) return new Uint8Array(0);
    this.total -= n;
    const c = this.chunks[this.first] as Uint8Array;
    if (c.length - this.head >= n) {
      // A plain Uint8Array even over a Buffer (whose slice() would not copy).
      const view = new Uint8Array(c.buffer, c.byteOffset + this.head, n);
      this.advance(n, c);
      return view;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const from = this.chunks[this.first] as Uint8Array;
      const part = Math.min(n - filled, from.length - this.head);
      out.set(from.subarray(this.head, this.head + part), filled);
      filled += part;
      this.advance(part, from);
    }
    return out;
  }

  /** Moves past `n` bytes of the first chunk `c`, dropping it once used up. */
  private advance(n: number, c: Uint8Array): void {
    this.head += n;
    if (this.head < c.length) return;
    this.head = 0;
    this.first++;
    if (this.first === this.chunks.length) {
      this.chunks = [];
      this.first = 0;
    } else if (this.first >= 64 && this.first * 2 >= this.chunks.length) {
      // Compact now and then: each chunk is moved O(1) times, so pushes stay linear.
      this.chunks = this.chunks.slice(this.first);
      this.first = 0;
    }
  }
}
