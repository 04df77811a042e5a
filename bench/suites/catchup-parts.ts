/**
 * The catch-up suite's parts (catchup.ts): the values its produce calls send, the check of what a
 * read returns, and its floors.
 */
import { randomBytes } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { FetchedRecord } from '../../lib/core/types.ts';
import { DEFAULT_TOPIC_CONFIG } from '../../lib/core/validation.ts';
import { PRICES } from '../prices.ts';
import { GiB, type LoadResult, MiB, mergeLoads, round, runLoad, throughput } from '../support/load.ts';
import type { BenchStack } from '../support/stack.ts';
import { FETCH_CONCURRENCY, rangedGet, type StoredBatch } from './fetch.ts';

/** The compaction target: the topic default (8 MiB). */
export const TARGET = DEFAULT_TOPIC_CONFIG.targetObjectBytes as number;

/** A floor: the same payload read straight from MinIO, no Streambed in the way. */
export interface CatchUpFloor {
  readonly label: string;
  readonly objects: number;
  readonly getsPerGiB: number;
  readonly mibPerSec: number;
  /** Its S3 GETs at list price. */
  readonly usdPerGiB: number;
}

/** The value of call `i`: random bytes with `i` in the first 4, so a read can tell which call wrote it. */
export class CallValues {
  private readonly pool: Buffer;
  readonly size: number;
  constructor(size: number) {
    this.size = size;
    this.pool = randomBytes(MiB + size);
  }
  of(call: number): Buffer {
    const start = (call * 4099) % (this.pool.length - this.size);
    const value = Buffer.from(this.pool.subarray(start, start + this.size));
    value.writeUInt32LE(call, 0);
    return value;
  }
}

/** What one read saw, by offset: the call that wrote each record (its value's first 4 bytes) and its timestamp. */
export interface SeenRead {
  readonly call: Int32Array;
  readonly timestamp: Float64Array;
  /** The first thing wrong, if any. */
  readonly problem?: string;
}

/**
 * Checks a catch-up read of a partition written by `calls` produce calls of one record each: the
 * offsets are exactly 0..calls-1, every value is the bytes its call sent (and every call appears
 * once), keys are null, there are no headers. With `reference` (the read before compaction), every
 * offset must also hold the same call with the same timestamp.
 *
 * @example
 * const before = verifyRead(pages, 16384, values);
 * const after = verifyRead(pagesAfter, 16384, values, before); // after.problem undefined: identical
 */
export function verifyRead(
  pages: readonly (readonly FetchedRecord[])[],
  calls: number,
  values: CallValues,
  reference?: SeenRead,
): SeenRead {
  const call = new Int32Array(calls).fill(-1);
  const timestamp = new Float64Array(calls);
  const callSeen = new Uint8Array(calls);
  const result = (problem?: string): SeenRead =>
    problem === undefined ? { call, timestamp } : { call, timestamp, problem };
  let records = 0;
  for (const page of pages) {
    for (const record of page) {
      records++;
      const at = `offset ${record.offset}`;
      if (!Number.isInteger(record.offset) || record.offset < 0 || record.offset >= calls)
        return result(`${at} is outside 0..${calls - 1}`);
      if (call[record.offset] !== -1) return result(`${at} read twice`);
      const value = record.value;
      if (value === null || value.byteLength !== values.size)
        return result(`${at}: value of ${value?.byteLength ?? 'null'} bytes, not ${values.size}`);
      if (record.key !== null || record.headers.length > 0) return result(`${at}: a key or headers appeared`);
      const writer = Buffer.from(value.buffer, value.byteOffset, value.byteLength).readUInt32LE(0);
      if (writer >= calls || callSeen[writer] === 1)
        return result(`${at}: call ${writer} unknown or seen twice`);
      if (!values.of(writer).equals(value))
        return result(`${at}: the value differs from what call ${writer} sent`);
      callSeen[writer] = 1;
      call[record.offset] = writer;
      timestamp[record.offset] = record.timestamp;
      if (reference !== undefined) {
        if (reference.call[record.offset] !== writer)
          return result(`${at}: call ${writer}, before compaction call ${reference.call[record.offset]}`);
        if (reference.timestamp[record.offset] !== record.timestamp)
          return result(`${at}: timestamp ${record.timestamp}, before ${reference.timestamp[record.offset]}`);
      }
    }
  }
  if (records !== calls) return result(`read ${records} records, wrote ${calls}`);
  return result();
}

/** A floor read in rounds (beside the reads they are compared with), and its figures over them. */
export interface FloorReader {
  round(): Promise<LoadResult>;
  figures(rounds: readonly LoadResult[]): CatchUpFloor;
}

/** A floor's figures over its rounds: `gets` GETs per round, or `perGiB` GETs per GiB when given. */
function floorFigures(
  label: string,
  objects: number,
  gets: number,
  rounds: readonly LoadResult[],
  perGiB?: number,
): CatchUpFloor {
  const merged = mergeLoads(rounds);
  const getsPerGiB = perGiB ?? gets / (merged.bytes / rounds.length / GiB);
  return {
    label,
    objects,
    getsPerGiB: round(getsPerGiB, 1),
    mibPerSec: throughput(merged).mibPerSec,
    usdPerGiB: round(getsPerGiB * (PRICES.s3GetPer1000.usd / 1000), 6),
  };
}

/** The floor: the same number of bytes as target-sized objects, each round GETting them all. */
export async function targetObjects(stack: BenchStack, bytes: number): Promise<FloorReader> {
  const objects = Math.max(1, Math.ceil(bytes / TARGET));
  const size = Math.ceil(bytes / objects);
  const body = randomBytes(size);
  for (let i = 0; i < objects; i++) {
    await stack.s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: `floor/target-${i}`, Body: body }));
  }
  return {
    round: async () => {
      const load = await runLoad(
        { concurrency: FETCH_CONCURRENCY, budgetMs: Number.POSITIVE_INFINITY, maxCalls: objects },
        async (i) => {
          const key = `floor/target-${i}`;
          const out = await stack.s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: key }));
          const got = (await out.Body?.transformToByteArray()) ?? new Uint8Array();
          if (got.byteLength !== size) throw new Error(`short read of ${key}`);
          return { bytes: got.byteLength, records: 1 };
        },
      );
      if (load.errors > 0) throw new Error(`floor read failed: ${load.firstError}`);
      return load;
    },
    // Per GiB: GiB / TARGET GETs, also when a quick run's bytes fill less than one object.
    figures: (rounds) =>
      floorFigures(`${round(TARGET / MiB, 1)} MiB objects`, objects, objects, rounds, GiB / TARGET),
  };
}

/** Ranged GETs of exactly the stored batches, 8 in flight: the fetch suite's floor for this layout. */
export function layoutFloor(
  stack: BenchStack,
  batches: readonly StoredBatch[],
  recordBytes: number,
  label: string,
): FloorReader {
  return {
    round: async () => {
      const load = await runLoad(
        { concurrency: FETCH_CONCURRENCY, budgetMs: Number.POSITIVE_INFINITY, maxCalls: batches.length },
        async (i) => {
          const batch = batches[i] as StoredBatch;
          await rangedGet(stack, batch);
          return { bytes: batch.records * recordBytes, records: batch.records };
        },
      );
      if (load.errors > 0) throw new Error(`layout floor failed: ${load.firstError}`);
      return load;
    },
    figures: (rounds) =>
      floorFigures(
        `ranged GETs of the ${batches.length} batch${batches.length === 1 ? '' : 'es'} ${label}`,
        new Set(batches.map((b) => b.key)).size,
        batches.length,
        rounds,
      ),
  };
}

/** Segment objects under the topics prefix. */
export async function objectCount(stack: BenchStack): Promise<number> {
  let total = 0;
  let token: string | undefined;
  do {
    const out = await stack.s3.send(
      new ListObjectsV2Command({ Bucket: stack.bucket, Prefix: 'topics/', ContinuationToken: token }),
    );
    total += out.KeyCount ?? 0;
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token !== undefined);
  return total;
}
