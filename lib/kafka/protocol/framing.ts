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
 * @example
 * const frames = new FrameSplitter();
 * socket.on('data', (chunk) => { for (const m of frames.push(chunk)) handle(decodeRequest(m)); });
 */
export class FrameSplitter {
  private pending: Uint8Array = new Uint8Array(0);
  private readonly maxFrameBytes: number;

  constructor(maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Bytes received that do not yet make a whole message. */
  get buffered(): number {
    return this.pending.length;
  }

  push(chunk: Uint8Array): Uint8Array[] {
    let data = chunk;
    if (this.pending.length > 0) {
      data = new Uint8Array(this.pending.length + chunk.length);
      data.set(this.pending);
      data.set(chunk, this.pending.length);
    }
    const out: Uint8Array[] = [];
    let pos = 0;
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    while (data.length - pos >= 4) {
      const size = view.getInt32(pos);
      if (size < 0 || size > this.maxFrameBytes) {
        throw new MalformedKafkaMessageError(`frame size ${size} is outside [0, ${this.maxFrameBytes}]`);
      }
      if (data.length - pos - 4 < size) break;
      out.push(data.slice(pos + 4, pos + 4 + size));
      pos += 4 + size;
    }
    this.pending = data.slice(pos);
    return out;
  }
}
