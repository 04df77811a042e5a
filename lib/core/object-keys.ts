import { randomBytes } from 'node:crypto';
import { InvalidArgumentError } from './errors.ts';

/**
 * Segment objects live under a per-topic prefix, so S3 lifecycle rules and sweepers can act on
 * one topic (any incarnation: `topics/<name>/`) or one incarnation (`topics/<name>/<topicId>/`):
 *
 *   topics/<topic name>/<topic id>/<object id>.sbs
 *
 * An object id is the creation time in ms, base 36 (12 chars, so ids sort by time), a dash, and
 * 48 random bits in hex (12 chars). The index stores it as 12 bytes (6 of time, 6 random).
 */
export function topicPrefix(topic: string, topicId: string): string {
  return `topics/${topic}/${topicId}/`;
}

export function segmentKey(topic: string, topicId: string, objectId: string): string {
  return `${topicPrefix(topic, topicId)}${objectId}.sbs`;
}

/** Bytes of an object id in the index. */
export const OBJECT_ID_BYTES = 12;
const OBJECT_ID = /^([0-9a-z]{12})-([0-9a-f]{12})$/;
const MAX_TIME = 2 ** 48 - 1;

/**
 * A new object id. The top bit of the random part says who wrote the object: clear for a produce
 * call, set for the compactor (whose objects hold batches at old offsets, so orphan collection,
 * which reasons from commit order, must not judge them; lib/engine/collect.ts).
 *
 * @example newObjectId(Date.now()) // '000mhx7s2kq0-5f1c0a9b3e2d'
 */
export function newObjectId(now: number, writer: 'produce' | 'compactor' = 'produce'): string {
  if (!Number.isSafeInteger(now) || now < 0 || now > MAX_TIME) throw new RangeError(`bad object time ${now}`);
  const random = randomBytes(6);
  random[0] = writer === 'compactor' ? (random[0] as number) | 0x80 : (random[0] as number) & 0x7f;
  return `${now.toString(36).padStart(12, '0')}-${random.toString('hex')}`;
}

/** Whether the compactor wrote this object (see {@link newObjectId}). */
export function isCompactedObject(objectId: string): boolean {
  const match = OBJECT_ID.exec(objectId);
  return match !== null && Number.parseInt((match[2] as string).slice(0, 2), 16) >= 0x80;
}

/** The 12 bytes of an object id. @example objectIdToBytes('000mhx7s2kq0-5f1c0a9b3e2d').length // 12 */
export function objectIdToBytes(objectId: string): Uint8Array {
  const match = OBJECT_ID.exec(objectId);
  const time = match === null ? Number.NaN : Number.parseInt(match[1] as string, 36);
  if (match === null || !(time <= MAX_TIME)) {
    throw new InvalidArgumentError(`'${objectId}' is not a segment object id`);
  }
  const out = new Uint8Array(OBJECT_ID_BYTES);
  let rest = time;
  for (let i = 5; i >= 0; i--) {
    out[i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  out.set(Buffer.from(match[2] as string, 'hex'), 6);
  return out;
}

/** The object id of 12 index bytes (the inverse of {@link objectIdToBytes}). */
export function objectIdFromBytes(bytes: Uint8Array): string {
  let time = 0;
  for (let i = 0; i < 6; i++) time = time * 256 + (bytes[i] as number);
  return `${time.toString(36).padStart(12, '0')}-${Buffer.from(bytes.subarray(6, 12)).toString('hex')}`;
}

/**
 * The creation time (ms, the producer's clock) an object id carries; NaN when it is not an id.
 * @example objectTime('000mhx7s2kq0-5f1c0a9b3e2d') // 1764288000000 or so
 */
export function objectTime(objectId: string): number {
  const match = OBJECT_ID.exec(objectId);
  return match === null ? Number.NaN : Number.parseInt(match[1] as string, 36);
}

/** The smallest object id of time `time`: every id created at or after it sorts at or after it. */
export function objectIdFloor(time: number): string {
  return `${Math.max(0, Math.floor(time)).toString(36).padStart(12, '0')}-`;
}

/** The object id of a segment key, or undefined when the key is not a segment of that prefix. */
export function objectIdOf(prefix: string, key: string): string | undefined {
  if (!key.startsWith(prefix) || !key.endsWith('.sbs')) return undefined;
  const id = key.slice(prefix.length, -'.sbs'.length);
  return id.includes('/') ? undefined : id;
}

/** A new random topic id (changes when a topic is deleted and created again). */
export function newTopicId(): string {
  return randomBytes(10).toString('hex');
}
