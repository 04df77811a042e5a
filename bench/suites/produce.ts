import { randomBytes } from 'node:crypto';
import type { BenchConfig } from '../config.ts';
import { floorProduce } from '../support/floor.ts';
import type { HttpApi } from '../support/http-client.ts';
import {
  count,
  DDB_WRITES,
  errorsNamed,
  type InstrumentSnapshot,
  retriedByName,
} from '../support/instrument.ts';
import {
  type LoadResult,
  mergeLoads,
  ratio,
  round,
  runLoad,
  sum,
  type Throughput,
  throughput,
} from '../support/load.ts';
import {
  httpProduceBody,
  partitionsTouched,
  payloadBytes,
  produceRecords,
  type Shape,
  segmentOf,
} from '../support/records.ts';
import type { BenchStack } from '../support/stack.ts';

/** Requests per call, as the SDK middleware counted them (not estimated). */
export interface RequestFigures {
  readonly s3PutsPerCall: number;
  /** DynamoDB writes (UpdateItem, PutItem, ...) per partition a call touched, paging included. */
  readonly ddbWritesPerPartition: number;
  readonly ddbRequestsPerCall: number;
  /** ConditionalCheckFailed responses per call (only when a head's tail is full, or a flush race). */
  readonly conditionalFailuresPerCall: number;
  /** Failed attempts the SDK retried on its own (e.g. MinIO's 503 SlowDown), per call. */
  readonly sdkRetriesPerCall: number;
  readonly requests: Record<string, number>;
  /** Failed SDK calls by command and error name. */
  readonly failedRequests: Record<string, number>;
  /** ...and the failed attempts the SDK retried, by command and error name. */
  readonly retriedRequests: Record<string, number>;
}

export interface ProduceMode extends Throughput, Partial<RequestFigures> {}

export interface ProduceCell {
  readonly shape: string;
  readonly partitions: number;
  readonly concurrency: number;
  readonly partitionsTouchedPerCall: number;
  readonly bytesPerCall: number;
  /** Raw PutObject of the same segment bytes, then one conditional PutItem per partition touched. */
  readonly floor: ProduceMode;
  /** Streambed.produce in this process. */
  readonly lib: ProduceMode;
  /** POST /topics/{topic}/records through the handlers, in a separate server process. */
  readonly http: ProduceMode;
  readonly libVsFloor: Ratios;
  readonly httpVsFloor: Ratios;
}

export interface Ratios {
  /** MiB/s ÷ the floor's MiB/s. */
  readonly throughput: number;
  /** p50 − the floor's p50, ms. */
  readonly p50DeltaMs: number;
  readonly p99DeltaMs: number;
}

const ratios = (mode: Throughput, floor: Throughput): Ratios => ({
  throughput: ratio(mode.mibPerSec, floor.mibPerSec),
  p50DeltaMs: round(mode.p50Ms - floor.p50Ms, 2),
  p99DeltaMs: round(mode.p99Ms - floor.p99Ms, 2),
});

function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [name, value] of Object.entries(from)) into[name] = (into[name] ?? 0) + value;
}

function requestFigures(snapshot: InstrumentSnapshot, calls: number, touched: number): RequestFigures {
  const ddbWrites = count(snapshot.requests, 'ddb:', DDB_WRITES);
  const retried = retriedByName(snapshot);
  return {
    s3PutsPerCall: round(count(snapshot.requests, 's3:', ['PutObject']) / calls, 3),
    ddbWritesPerPartition: round(ddbWrites / (calls * touched), 3),
    ddbRequestsPerCall: round(count(snapshot.requests, 'ddb:') / calls, 3),
    conditionalFailuresPerCall: round(
      errorsNamed(snapshot.errors, 'ConditionalCheckFailedException') / calls,
      3,
    ),
    sdkRetriesPerCall: round(sum(Object.values(retried)) / calls, 3),
    requests: snapshot.requests,
    failedRequests: snapshot.errors,
    retriedRequests: retried,
  };
}

/**
 * Produce throughput and latency through lib/ and through the HTTP handlers, beside the raw floor,
 * for every (shape, partitions, concurrency). Rounds alternate the order floor → lib → HTTP and
 * back so drift on a noisy machine hits all three alike.
 */
export async function produceSuite(
  config: BenchConfig,
  stack: BenchStack,
  http: HttpApi,
  log: (line: string) => void,
): Promise<ProduceCell[]> {
  const cells: ProduceCell[] = [];
  const engine = stack.engine();
  const run = randomBytes(2).toString('hex');
  for (const shape of config.produce.shapes) {
    for (const partitions of config.produce.partitions) {
      for (const concurrency of config.produce.concurrency) {
        const cell = await produceCell(config, stack, http, engine, shape, partitions, concurrency, run);
        cells.push(cell);
        log(
          `produce ${shape.id} p=${partitions} c=${concurrency}: floor ${cell.floor.mibPerSec} MiB/s, ` +
            `lib ${cell.lib.mibPerSec} (${cell.libVsFloor.throughput}x), http ${cell.http.mibPerSec} (${cell.httpVsFloor.throughput}x)`,
        );
      }
    }
  }
  return cells;
}

async function produceCell(
  config: BenchConfig,
  stack: BenchStack,
  http: HttpApi,
  engine: ReturnType<BenchStack['engine']>,
  shape: Shape,
  partitions: number,
  concurrency: number,
  run: string,
): Promise<ProduceCell> {
  const id = `${shape.id.toLowerCase()}-p${partitions}-c${concurrency}-${run}`;
  const libTopic = `lib-${id}`;
  const httpTopic = `http-${id}`;
  await engine.createTopic({ name: libTopic, partitions });
  await http.createTopic(httpTopic, partitions);

  const touched = partitionsTouched(shape, partitions);
  const bytes = payloadBytes(shape);
  // Each call uses variant (call index % partitions): records rotate over the partitions.
  const variants = Array.from({ length: partitions }, (_, v) => v);
  const records = variants.map((v) => produceRecords(shape, partitions, v));
  const bodies = variants.map((v) => httpProduceBody(shape, partitions, v));
  const segments = variants.map((v) => segmentOf(shape, partitions, v, Date.now()));

  const roundBudget = config.produce.budgetMs / config.produce.rounds;
  const maxCalls = Math.max(
    concurrency,
    Math.min(config.produce.maxCalls, Math.ceil(config.produce.maxBytes / bytes)),
  );
  const roundCalls = Math.max(concurrency, Math.ceil(maxCalls / config.produce.rounds));
  const loadOptions = { concurrency, budgetMs: roundBudget, maxCalls: roundCalls };
  const result = { bytes, records: shape.records };

  let floorKey = 0;
  const floorCall = async () => {
    const i = floorKey++;
    const segment = segments[i % partitions] as (typeof segments)[number];
    await floorProduce(stack, id, i, segment);
    return result;
  };
  const libCall = async (i: number) => {
    await engine.produce({ topic: libTopic, records: records[i % partitions] as (typeof records)[number] });
    return result;
  };
  const httpCall = async (i: number) => {
    await http.produce(httpTopic, bodies[i % partitions] as string);
    return result;
  };

  // Warm up: one call per worker (topic caches, connections, JIT), not measured.
  const warm = { concurrency, budgetMs: 0, maxCalls: concurrency };
  await runLoad(warm, floorCall);
  await runLoad(warm, libCall);
  await runLoad(warm, httpCall);

  const floorRuns: LoadResult[] = [];
  const libRuns: LoadResult[] = [];
  const httpRuns: LoadResult[] = [];
  const libCounts: Record<string, number> = {};
  const libErrors: Record<string, number> = {};
  const libAttempts: Record<string, number> = {};
  const httpCounts: Record<string, number> = {};
  const httpErrors: Record<string, number> = {};
  const httpAttempts: Record<string, number> = {};
  for (let r = 0; r < config.produce.rounds; r++) {
    const order = r % 2 === 0 ? (['floor', 'lib', 'http'] as const) : (['http', 'lib', 'floor'] as const);
    for (const mode of order) {
      if (mode === 'floor') floorRuns.push(await runLoad(loadOptions, floorCall));
      else if (mode === 'lib') {
        stack.instruments.reset();
        libRuns.push(await runLoad(loadOptions, libCall));
        const snapshot = stack.instruments.snapshot();
        addCounts(libCounts, snapshot.requests);
        addCounts(libErrors, snapshot.errors);
        addCounts(libAttempts, snapshot.attemptErrors);
      } else {
        await http.reset();
        httpRuns.push(await runLoad(loadOptions, httpCall));
        const snapshot = await http.snapshot();
        addCounts(httpCounts, snapshot.requests);
        addCounts(httpErrors, snapshot.errors);
        addCounts(httpAttempts, snapshot.attemptErrors);
      }
    }
  }
  const floor = throughput(mergeLoads(floorRuns));
  const libLoad = mergeLoads(libRuns);
  const httpLoad = mergeLoads(httpRuns);
  const lib: ProduceMode = {
    ...throughput(libLoad),
    ...requestFigures(
      { requests: libCounts, errors: libErrors, attemptErrors: libAttempts, capacity: zero },
      libLoad.calls,
      touched,
    ),
  };
  const httpMode: ProduceMode = {
    ...throughput(httpLoad),
    ...requestFigures(
      { requests: httpCounts, errors: httpErrors, attemptErrors: httpAttempts, capacity: zero },
      httpLoad.calls,
      touched,
    ),
  };
  return {
    shape: shape.id,
    partitions,
    concurrency,
    partitionsTouchedPerCall: touched,
    bytesPerCall: bytes,
    floor,
    lib,
    http: httpMode,
    libVsFloor: ratios(lib, floor),
    httpVsFloor: ratios(httpMode, floor),
  };
}

const zero = { write: 0, read: 0, failedWriteEstimate: 0 };
