import { awsPorts } from '../../lib/adapters/aws.ts';
import type { FetchedRecord } from '../../lib/core/types.ts';
import { Streambed } from '../../lib/engine/streambed.ts';
import { COMPACTION_SETTLE_MS } from '../../lib/engine/swap.ts';
import type { BenchConfig } from '../config.ts';
import { LAMBDA_MEMORY_MB, PRICES } from '../prices.ts';
import { count, DDB_READS, type InstrumentSnapshot, Instruments } from '../support/instrument.ts';
import {
  GiB,
  type LoadResult,
  MiB,
  ratio,
  round,
  runLoad,
  sum,
  type Throughput,
  throughput,
} from '../support/load.ts';
import { type BenchStack, benchStack } from '../support/stack.ts';
import {
  CallValues,
  type CatchUpFloor,
  layoutFloor,
  objectCount,
  TARGET,
  targetObjects,
  verifyRead,
} from './catchup-parts.ts';
import { FETCH_CONCURRENCY, storedBatches } from './fetch.ts';

const TOPIC = 'small-calls';
/** The sweeper function's memory in infra/lifecycle.ts (MB). */
const SWEEPER_MB = 512;
const GRACE_MS = 2 * 60_000;

/** Catch-up reads from offset 0 to the high watermark, each with a fresh engine (cold caches). */
export interface CatchUpReads {
  readonly reads: number;
  /** Segment objects and batches the index points to. */
  readonly objects: number;
  readonly batches: number;
  readonly secondsPerRead: number;
  readonly mibPerSec: number;
  /** Over the floor's MiB/s (target-sized objects). */
  readonly vsFloor: number;
  /** Over ranged GETs of the same stored batches (the fetch suite's floor, for this layout). */
  readonly vsLayoutFloor: number;
  readonly fetchesPerRead: number;
  readonly perGiB: {
    readonly gets: number;
    readonly ddbReads: number;
    readonly rru: number;
    /** S3 GETs and DynamoDB read units at list prices. */
    readonly usdRequests: number;
    /** The fetch function (1024 MB arm64) for the read's wall time on this machine. */
    readonly usdLambda: number;
  };
}

/** The sweep passes that compacted the partition and then collected the objects it replaced. */
export interface CatchUpCompaction {
  readonly passes: number;
  readonly collectionPasses: number;
  readonly batchesCompacted: number;
  readonly objectsBefore: number;
  readonly objectsAfter: number;
  readonly seconds: number;
  readonly requestsPerGiB: Record<string, number>;
  /** Requests and units at list prices; the sweeper (512 MB arm64) for the passes' wall time here. */
  readonly usdPerGiB: { readonly requests: number; readonly lambda: number };
}

/** Issue 9's catch-up figure, scaled down from 1 GiB: every per-GiB figure is this run's × GiB / bytes. */
export interface CompactedCatchUp {
  readonly bytes: number;
  readonly calls: number;
  readonly recordBytes: number;
  /** Writing it (for information). */
  readonly write: Throughput;
  readonly floor: CatchUpFloor;
  readonly layoutFloorBefore: CatchUpFloor;
  readonly layoutFloorAfter: CatchUpFloor;
  readonly before: CatchUpReads;
  readonly after: CatchUpReads;
  readonly compaction: CatchUpCompaction;
  /** Every read returned exactly what was written, and the reads after compaction what the one before did. */
  readonly identical: boolean;
  /** 'ok', or the first difference found. */
  readonly check: string;
  readonly method: string;
}

const usd = {
  get: PRICES.s3GetPer1000.usd / 1000,
  put: PRICES.s3PutPer1000.usd / 1000,
  wru: PRICES.ddbWriteRequestUnitPerMillion.usd / 1e6,
  rru: PRICES.ddbReadRequestUnitPerMillion.usd / 1e6,
  gbSecond: PRICES.lambdaArmGbSecond.usd,
  invocation: PRICES.lambdaRequestPerMillion.usd / 1e6,
};
/** S3 bills LIST, PUT, COPY, POST and DeleteObjects as PUT-class requests; DeleteObject is free. */
const S3_PUT_CLASS = ['PutObject', 'CopyObject', 'ListObjectsV2', 'DeleteObjects'];
const S3_GET_CLASS = ['GetObject', 'HeadObject'];

function requestsUsd(snapshot: InstrumentSnapshot): number {
  const { requests, capacity } = snapshot;
  return (
    count(requests, 's3:', S3_GET_CLASS) * usd.get +
    count(requests, 's3:', S3_PUT_CLASS) * usd.put +
    (capacity.write + capacity.failedWriteEstimate) * usd.wru +
    capacity.read * usd.rru
  );
}

/**
 * Issue 9's figure: a partition written in 1 KiB produce calls, read from offset 0 before and after
 * the sweep's small-object compaction, each read with a fresh engine (cold batch cache), beside the
 * floor of GETting the same bytes as target-sized objects and beside ranged GETs of the stored
 * batches (the fetch suite's floor). Runs on its own tables and bucket, with a clock it moves past
 * compaction's settling time. The reads must return what was written, the same before and after.
 */
export async function compactedCatchUpSuite(
  config: BenchConfig,
  shared: BenchStack,
  log: (line: string) => void,
): Promise<CompactedCatchUp> {
  const c = config.compactedCatchUp;
  const stack = await benchStack(shared.endpoints);
  try {
    const calls = Math.ceil(c.bytes / c.recordBytes);
    const bytes = calls * c.recordBytes;
    const perGiB = GiB / bytes;
    const clock = { offset: 0 };
    const engine = () =>
      new Streambed(awsPorts({ ...stack.config, engine: { now: () => Date.now() + clock.offset } }));
    const writer = engine();
    const topic = await writer.createTopic({ name: TOPIC, partitions: 1, config: { retentionMs: -1 } });
    log(
      `catchup: writing ${round(bytes / MiB, 2)} MiB in ${calls} produce calls of one ${c.recordBytes} B record`,
    );
    const values = new CallValues(c.recordBytes);
    const written = await runLoad(
      { concurrency: c.writers, budgetMs: Number.POSITIVE_INFINITY, maxCalls: calls },
      async (i) => {
        await writer.produce({ topic: TOPIC, records: [{ value: values.of(i), partition: 0 }] });
        return { bytes: c.recordBytes, records: 1 };
      },
    );
    if (written.errors > 0) throw new Error(`writing failed: ${written.firstError}`);
    const instruments = new Instruments().attach(stack.s3, stack.dynamodb, { capacity: true });
    const objectsBefore = await objectCount(stack);
    const ideal = await targetObjects(stack, bytes);
    const batchesBefore = await storedBatches(stack, TOPIC, topic.id, 0);
    const layoutBefore = layoutFloor(stack, batchesBefore, c.recordBytes, 'as written');
    const layoutFloorBefore = layoutBefore.figures([await layoutBefore.round()]);
    log(
      `catchup floors: ranged GETs of the ${batchesBefore.length} batches ${layoutFloorBefore.mibPerSec} MiB/s`,
    );

    // Before: one read (a minute or more here), beside one round of the floor.
    const floorRuns: LoadResult[] = [await ideal.round()];
    const first = await readThrough(instruments, engine(), c);
    const reference = verifyRead(first.records, calls, values);
    const problems = reference.problem === undefined ? [] : [`before compaction: ${reference.problem}`];
    log(
      `catchup before compaction: ${round(bytes / MiB / first.seconds, 2)} MiB/s, ${first.fetches} fetches`,
    );

    // Compaction: past the settling time, sweep until a pass merges nothing; past the grace, collect.
    clock.offset += COMPACTION_SETTLE_MS + 60_000;
    instruments.reset();
    const compactStart = performance.now();
    let passes = 0;
    let collectionPasses = 0;
    let batchesCompacted = 0;
    const pass = async () => {
      const report = await engine().sweep({ graceMs: GRACE_MS });
      if (report.failed.length > 0) throw new Error(`sweep failed: ${JSON.stringify(report.failed)}`);
      return report.topics;
    };
    while (passes < 20) {
      passes++;
      const merged = sum((await pass()).map((t) => t.batchesCompacted));
      batchesCompacted += merged;
      // A first pass may only count the pages for retention; compaction takes them on the next.
      if (merged === 0 && (batchesCompacted > 0 || passes >= 3)) break;
    }
    let deleted = 0;
    while (collectionPasses < 8) {
      clock.offset += 30 * 60_000;
      collectionPasses++;
      const now = sum((await pass()).map((t) => t.objectsDeleted));
      deleted += now;
      if (now === 0 && deleted > 0) break;
    }
    const compactSeconds = (performance.now() - compactStart) / 1000;
    const swept = instruments.snapshot();
    const objectsAfter = await objectCount(stack);
    const batchesAfter = await storedBatches(stack, TOPIC, topic.id, 0);
    const layoutAfter = layoutFloor(stack, batchesAfter, c.recordBytes, 'compacted');
    log(
      `catchup compaction: ${passes} + ${collectionPasses} passes, ${batchesCompacted} batches merged, ` +
        `${objectsBefore} → ${objectsAfter} objects, ${batchesAfter.length} batches`,
    );

    // After: `rounds` cold reads, each beside a round of both floors (before it, then after it).
    const afterReads: Read[] = [];
    const layoutRuns: LoadResult[] = [];
    const floors = async () => {
      floorRuns.push(await ideal.round());
      layoutRuns.push(await layoutAfter.round());
    };
    for (let r = 0; r < c.rounds; r++) {
      if (r % 2 === 0) await floors();
      const read = await readThrough(instruments, engine(), c);
      if (r % 2 === 1) await floors();
      const seen = verifyRead(read.records, calls, values, reference);
      if (seen.problem !== undefined) problems.push(`after compaction, read ${r + 1}: ${seen.problem}`);
      afterReads.push({ ...read, records: [] });
    }
    const floor = ideal.figures(floorRuns);
    const floorMiBps = floor.mibPerSec;
    const layoutFloorAfter = layoutAfter.figures(layoutRuns);
    const figures = (reads: readonly Read[], objects: number, batches: number, layout: CatchUpFloor) => {
      const n = reads.length;
      const seconds = sum(reads.map((r) => r.seconds));
      const mibPerSec = round((bytes * n) / MiB / seconds, 2);
      const per = (value: number) => round((value * perGiB) / n, 1);
      const gets = sum(reads.map((r) => count(r.snapshot.requests, 's3:', ['GetObject'])));
      return {
        reads: n,
        objects,
        batches,
        secondsPerRead: round(seconds / n, 3),
        mibPerSec,
        vsFloor: ratio(mibPerSec, floorMiBps),
        vsLayoutFloor: ratio(mibPerSec, layout.mibPerSec),
        fetchesPerRead: round(sum(reads.map((r) => r.fetches)) / n, 1),
        perGiB: {
          gets: per(gets),
          ddbReads: per(sum(reads.map((r) => count(r.snapshot.requests, 'ddb:', DDB_READS)))),
          rru: per(sum(reads.map((r) => r.snapshot.capacity.read))),
          usdRequests: round((sum(reads.map((r) => requestsUsd(r.snapshot))) * perGiB) / n, 6),
          usdLambda: round((seconds / n) * perGiB * (LAMBDA_MEMORY_MB.fetch / 1024) * usd.gbSecond, 6),
        },
      } satisfies CatchUpReads;
    };
    return {
      bytes,
      calls,
      recordBytes: c.recordBytes,
      write: throughput(written),
      floor,
      layoutFloorBefore,
      layoutFloorAfter,
      before: figures([first], objectsBefore, batchesBefore.length, layoutFloorBefore),
      after: figures(afterReads, objectsAfter, batchesAfter.length, layoutFloorAfter),
      compaction: {
        passes,
        collectionPasses,
        batchesCompacted,
        objectsBefore,
        objectsAfter,
        seconds: round(compactSeconds, 2),
        requestsPerGiB: Object.fromEntries(
          Object.entries(swept.requests).map(([name, n]) => [name, round(n * perGiB, 1)]),
        ),
        usdPerGiB: {
          requests: round(requestsUsd(swept) * perGiB, 6),
          lambda: round(
            (compactSeconds * (SWEEPER_MB / 1024) * usd.gbSecond +
              (passes + collectionPasses) * usd.invocation) *
              perGiB,
            6,
          ),
        },
      },
      identical: problems.length === 0,
      check: problems.length === 0 ? 'ok' : problems.join('; '),
      method:
        `${round(bytes / MiB, 2)} MiB written in ${calls} produce calls of one ${c.recordBytes} B record ` +
        `(${c.writers} in flight) to one partition; figures per GiB are this run's scaled by ${round(perGiB, 1)} ` +
        '(request counts scale exactly; MiB/s is what this machine did). Each read goes from offset 0 to the ' +
        `high watermark with a fresh engine (maxRecords ${c.maxRecords}, maxBytes ${round(c.maxBytes / MiB, 1)} MiB): ` +
        `once before compaction, ${c.rounds} times after it. Floor: GETs of the same bytes as ` +
        `${round(TARGET / MiB, 1)} MiB objects (the compaction target), up to ${FETCH_CONCURRENCY} in flight. Layout ` +
        'floor: ranged GETs of exactly the stored batches, 8 in flight (the fetch suite’s floor). A round of each ' +
        'floor runs beside each read, alternately before and after it. $ per GiB: S3 GETs and DynamoDB read units at list prices, and apart from them the fetch ' +
        'function (1024 MB arm64) for the read’s wall time here. Every read is checked against what was written ' +
        '(offsets dense, each value the bytes its call sent, keys null, no headers), and each read after ' +
        'compaction against the one before (the same call at every offset, the same timestamps).',
    };
  } finally {
    stack.close();
  }
}

/** One read through, with what it cost. */
interface Read {
  readonly seconds: number;
  readonly fetches: number;
  readonly snapshot: InstrumentSnapshot;
  readonly records: readonly (readonly FetchedRecord[])[];
}

/** Reads the partition from offset 0 to the high watermark; checks come after the clock stops. */
async function readThrough(
  instruments: Instruments,
  engine: Streambed,
  limits: { readonly maxRecords: number; readonly maxBytes: number },
): Promise<Read> {
  instruments.reset();
  const records: (readonly FetchedRecord[])[] = [];
  let offset = 0;
  let fetches = 0;
  const start = performance.now();
  for (;;) {
    const out = await engine.fetch({
      topic: TOPIC,
      partition: 0,
      offset,
      maxRecords: limits.maxRecords,
      maxBytes: limits.maxBytes,
    });
    fetches++;
    records.push(out.records);
    offset = out.nextOffset;
    if (offset >= out.highWatermark || out.records.length === 0) break;
  }
  const seconds = (performance.now() - start) / 1000;
  return { seconds, fetches, snapshot: instruments.snapshot(), records };
}
