import { randomBytes } from 'node:crypto';
import type { BatchInput, LogRecord } from '../../lib/core/segment/index.ts';
import { encodeSegment } from '../../lib/core/segment/index.ts';
import type { ProduceRecord } from '../../lib/core/types.ts';
import { MiB } from './load.ts';

/** A produce request shape: `records` records of `valueBytes` random bytes each, no key, no headers. */
export interface Shape {
  readonly id: string;
  readonly records: number;
  readonly valueBytes: number;
}

export const SHAPES = {
  '1x1KiB': { id: '1x1KiB', records: 1, valueBytes: 1024 },
  '100x1KiB': { id: '100x1KiB', records: 100, valueBytes: 1024 },
  '1000x1KiB': { id: '1000x1KiB', records: 1000, valueBytes: 1024 },
  '1x1MiB': { id: '1x1MiB', records: 1, valueBytes: MiB },
} as const satisfies Record<string, Shape>;

export type ShapeId = keyof typeof SHAPES;

/** Payload bytes of one call of `shape` (values only: keys are null, there are no headers). */
export function payloadBytes(shape: Shape): number {
  return shape.records * shape.valueBytes;
}

/** Random (incompressible) bytes the record values are views into. */
const POOL = randomBytes(2 * MiB);

function value(shape: Shape, index: number): Uint8Array {
  const start = (index * 4099) % (POOL.length - shape.valueBytes);
  return new Uint8Array(POOL.buffer, POOL.byteOffset + start, shape.valueBytes);
}

/**
 * The records of one call. Record j goes to partition `(variant + j) % partitions`, explicitly, so a
 * call of n records touches min(n, partitions) partitions and successive variants rotate through them.
 */
export function produceRecords(shape: Shape, partitions: number, variant: number): ProduceRecord[] {
  return Array.from({ length: shape.records }, (_, j) => ({
    value: value(shape, j),
    partition: (variant + j) % partitions,
  }));
}

/** The same records as an HTTP produce body (`valueBase64`, explicit partitions). */
export function httpProduceBody(shape: Shape, partitions: number, variant: number): string {
  const records = Array.from({ length: shape.records }, (_, j) => ({
    partition: (variant + j) % partitions,
    valueBase64: Buffer.from(value(shape, j)).toString('base64'),
  }));
  return JSON.stringify({ records });
}

/** Partitions one call of `shape` touches on a topic of `partitions`. */
export function partitionsTouched(shape: Shape, partitions: number): number {
  return Math.min(shape.records, partitions);
}

/** The records of one call as the codec sees them (one batch per partition). */
export function logRecords(shape: Shape, timestamp: number): LogRecord[] {
  return Array.from({ length: shape.records }, (_, j) => ({
    key: null,
    value: value(shape, j),
    valueIsJson: false,
    headers: [],
    timestamp,
  }));
}

/** A segment object of one call, as produce would encode it, and the batches it holds. */
export function segmentOf(shape: Shape, partitions: number, variant: number, timestamp: number) {
  const byPartition = new Map<number, LogRecord[]>();
  for (const [j, record] of logRecords(shape, timestamp).entries()) {
    const partition = (variant + j) % partitions;
    const list = byPartition.get(partition) ?? [];
    list.push(record);
    byPartition.set(partition, list);
  }
  const batches: BatchInput[] = [...byPartition.entries()].map(([partition, records]) => ({
    partition,
    records,
    compression: 'none',
  }));
  return encodeSegment(batches);
}
