import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { awsPorts } from '../../lib/adapters/aws.ts';
import { Streambed } from '../../lib/engine/streambed.ts';
import type { BenchConfig } from '../config.ts';
import { PRICES } from '../prices.ts';
import { count, Instruments } from '../support/instrument.ts';
import { GiB, MiB, ratio, round, runLoad } from '../support/load.ts';
import { type BenchStack, benchStack } from '../support/stack.ts';

/** Fetch function memory in infra/streambed.ts (MB), for the Lambda share of a read. */
const FETCH_MB = 1024;
/** Compaction's target object size (the topic default). */
const TARGET = 8 * MiB;
const RECORD_BYTES = 1024;

/** One catch-up read from offset 0 to the high watermark. */
export interface CompactionRead {
  readonly seconds: number;
  readonly mibPerSec: number;
  readonly vsFloor: number;
  readonly fetches: number;
  readonly getsPerGiB: number;
  readonly ddbReadsPerGiB: number;
  readonly rruPerGiB: number;
  /** S3 GETs and DynamoDB reads per GiB read, and the fetch function's time at this machine's speed. */
  readonly usdPerGiB: { readonly requests: number; readonly lambda: number };
}

export interface CompactionReadResult {
  /** What was written (scaled down from the 1 GiB: figures are per GiB). */
  readonly bytes: number;
  readonly calls: number;
  readonly objectsBefore: number;
  readonly objectsAfter: number;
  readonly sweepPasses: number;
  readonly floor: { readonly mibPerSec: number; readonly getsPerGiB: number; readonly usdPerGiB: number };
  readonly before: CompactionRead;
  readonly after: CompactionRead;
  readonly identical: boolean;
  readonly method: string;
}

/**
 * Issue 9's catch-up figure: a partition written in 1 KiB produce calls, read from offset 0 before
 * and after the sweep's small-object compaction (fresh engines, cold caches), beside the floor of
 * GETting the same bytes as target-sized objects. Runs on its own tables and bucket, with a clock it
 * moves past compaction's settling time.
 */
export async function compactionReadCost(
  config: BenchConfig,
  shared: BenchStack,
): Promise<CompactionReadResult> {
  const stack = await benchStack(shared.endpoints);
  try {
    const bytes = config.mode === 'quick' ? 512 * 1024 : 16 * MiB;
    const calls = bytes / RECORD_BYTES;
    const clock = { offset: 0 };
    const engine = () =>
      new Streambed(awsPorts({ ...stack.config, engine: { now: () => Date.now() + clock.offset } }));
    const writer = engine();
    await writer.createTopic({ name: 'small-calls', partitions: 1, config: { retentionMs: -1 } });
    const value = new Uint8Array(RECORD_BYTES).fill(0x61);
    const fill = await runLoad(
      { concurrency: 8, budgetMs: Number.POSITIVE_INFINITY, maxCalls: calls },
      async () => {
        await writer.produce({ topic: 'small-calls', records: [{ value, partition: 0 }] });
        return { bytes: RECORD_BYTES, records: 1 };
      },
    );
    if (fill.errors > 0) throw new Error(`writing failed: ${fill.firstError}`);
    const floor = await floorRead(stack, bytes);
    const objectsBefore = await objectCount(stack);
    const instruments = new Instruments().attach(stack.s3, stack.dynamodb, { capacity: true });
    const first = await catchUp(instruments, engine(), bytes, floor.mibPerSec);
    clock.offset += 10 * 60_000;
    let sweepPasses = 0;
    for (; sweepPasses < 20; sweepPasses++) {
      const report = await engine().sweep({ graceMs: 2 * 60_000 });
      if (report.failed.length > 0) throw new Error(`sweep failed: ${JSON.stringify(report.failed)}`);
      if (report.topics.every((t) => t.batchesCompacted === 0)) break;
    }
    // Past the grace: the replaced objects are collected.
    clock.offset += 30 * 60_000;
    await engine().sweep({ graceMs: 2 * 60_000 });
    const objectsAfter = await objectCount(stack);
    const second = await catchUp(instruments, engine(), bytes, floor.mibPerSec);
    return {
      bytes,
      calls,
      objectsBefore,
      objectsAfter,
      sweepPasses,
      floor: {
        mibPerSec: floor.mibPerSec,
        getsPerGiB: round(Math.ceil(bytes / TARGET) * (GiB / bytes), 1),
        usdPerGiB: round((GiB / TARGET) * (PRICES.s3GetPer1000.usd / 1000), 6),
      },
      before: first.read,
      after: second.read,
      identical: first.digest === second.digest && first.records === calls,
      method:
        `${round(bytes / MiB, 2)} MiB written in ${calls} produce calls of one 1 KiB record (8 in flight) to one ` +
        'partition, read from offset 0 with fetch (maxRecords 10000, maxBytes 8 MiB, a fresh engine each time) ' +
        'before and after the sweep compacted it; figures scaled to a GiB. The floor GETs the same bytes as ' +
        '8 MiB objects (the compaction target), 8 in flight. $ per GiB: S3 GETs and DynamoDB read units at ' +
        'list prices, and separately the fetch function (1024 MB arm64) for the read’s wall time here.',
    };
  } finally {
    stack.close();
  }
}

/** Reads the partition through; the records' digest (offsets and values) and the figures. */
async function catchUp(instruments: Instruments, engine: Streambed, bytes: number, floorMiBps: number) {
  instruments.reset();
  let offset = 0;
  let records = 0;
  let fetches = 0;
  let digest = 0;
  const start = performance.now();
  for (;;) {
    const out = await engine.fetch({
      topic: 'small-calls',
      partition: 0,
      offset,
      maxRecords: 10_000,
      maxBytes: 8 * MiB,
    });
    fetches++;
    for (const record of out.records) {
      digest = (digest * 31 + record.offset + (record.value?.length ?? 0)) % 2_147_483_647;
      records++;
    }
    offset = out.nextOffset;
    if (offset >= out.highWatermark || out.records.length === 0) break;
  }
  const seconds = (performance.now() - start) / 1000;
  const snapshot = instruments.snapshot();
  const perGiB = GiB / bytes;
  const gets = count(snapshot.requests, 's3:', ['GetObject']);
  const ddbReads = count(snapshot.requests, 'ddb:', ['GetItem', 'Query', 'BatchGetItem']);
  const rru = snapshot.capacity.read;
  const mibPerSec = round(bytes / MiB / seconds, 2);
  const read: CompactionRead = {
    seconds: round(seconds, 3),
    mibPerSec,
    vsFloor: ratio(mibPerSec, floorMiBps),
    fetches,
    getsPerGiB: round(gets * perGiB, 1),
    ddbReadsPerGiB: round(ddbReads * perGiB, 1),
    rruPerGiB: round(rru * perGiB, 1),
    usdPerGiB: {
      requests: round(
        (gets * perGiB * PRICES.s3GetPer1000.usd) / 1000 +
          (rru * perGiB * PRICES.ddbReadRequestUnitPerMillion.usd) / 1e6,
        6,
      ),
      lambda: round(seconds * perGiB * (FETCH_MB / 1024) * PRICES.lambdaArmGbSecond.usd, 6),
    },
  };
  return { read, records, digest };
}

/** The same number of bytes as target-sized objects, GET 8 in flight: MiB/s. */
async function floorRead(stack: BenchStack, bytes: number): Promise<{ mibPerSec: number }> {
  const objects = Math.max(1, Math.ceil(bytes / TARGET));
  const size = Math.ceil(bytes / objects);
  const body = new Uint8Array(size).fill(0x62);
  for (let i = 0; i < objects; i++) {
    await stack.s3.send(
      new PutObjectCommand({ Bucket: stack.bucket, Key: `floor/catchup-${i}`, Body: body }),
    );
  }
  const start = performance.now();
  const load = await runLoad(
    { concurrency: 8, budgetMs: Number.POSITIVE_INFINITY, maxCalls: objects },
    async (i) => {
      const out = await stack.s3.send(
        new GetObjectCommand({ Bucket: stack.bucket, Key: `floor/catchup-${i}` }),
      );
      const got = await out.Body?.transformToByteArray();
      return { bytes: got?.length ?? 0, records: 1 };
    },
  );
  if (load.errors > 0) throw new Error(`floor read failed: ${load.firstError}`);
  return { mibPerSec: round(bytes / MiB / ((performance.now() - start) / 1000), 2) };
}

async function objectCount(stack: BenchStack): Promise<number> {
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
