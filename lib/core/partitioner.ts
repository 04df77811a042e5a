import { InvalidArgumentError } from './errors.ts';

const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const R = 24;

/**
 * Kafka's murmur2 (Java `org.apache.kafka.common.utils.Utils.murmur2`): the hash the Java
 * producer's default partitioner applies to a record key. Returns a signed 32-bit integer, as Java.
 *
 * @example murmur2(new TextEncoder().encode('foobar')) // -790332482
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k =
      (data[i4] as number) |
      ((data[i4 + 1] as number) << 8) |
      ((data[i4 + 2] as number) << 16) |
      ((data[i4 + 3] as number) << 24);
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  // The last 1-3 bytes, as Java's falling-through `switch (length % 4)`.
  const rest = length & 3;
  if (rest !== 0) {
    const tail = length - rest;
    if (rest === 3) h ^= (data[tail + 2] as number) << 16;
    if (rest >= 2) h ^= (data[tail + 1] as number) << 8;
    h ^= data[tail] as number;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * Kafka's `Utils.toPositive`: clears the sign bit (not `Math.abs`, so `-1` maps to `2^31 - 1`).
 *
 * @example toPositive(-790332482) // 1357151166
 */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/**
 * The partition Kafka's default partitioner picks for a keyed record:
 * `toPositive(murmur2(key)) % partitions`.
 *
 * @example partitionForKey(new TextEncoder().encode('foobar'), 6) // 0
 */
export function partitionForKey(key: Uint8Array, partitions: number): number {
  if (!Number.isSafeInteger(partitions) || partitions < 1) {
    throw new InvalidArgumentError(`partitions must be a positive integer, got ${partitions}`);
  }
  return toPositive(murmur2(key)) % partitions;
}
