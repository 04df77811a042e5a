import { randomBytes } from 'node:crypto';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { IndexEntry } from '../../lib/core/index-entry.ts';
import { segmentKey } from '../../lib/core/object-keys.ts';
import type { ProduceRecord } from '../../lib/core/types.ts';
import type { Streambed } from '../../lib/engine/streambed.ts';
import type { BenchConfig } from '../config.ts';
import type { HttpApi } from '../support/http-client.ts';
import {
  GiB,
  type LoadResult,
  MiB,
  mergeLoads,
  percentile,
  ratio,
  round,
  runLoad,
  sum,
  type Throughput,
  throughput,
} from '../support/load.ts';
import { payloadBytes, produceRecords, type Shape } from '../support/records.ts';
import type { BenchStack } from '../support/stack.ts';

/** One stored batch, as the floor reads it: a ranged GET of exactly its bytes. */
export interface StoredBatch {
  readonly key: string;
  readonly offset: number;
  readonly length: number;
  readonly records: number;
}

export interface FetchCell {
  readonly shape: string;
  readonly consumers: number;
  /** Ranged GETs of the same batches, 8 in flight per consumer (fetch's own parallelism). Latency is per GET. */
  readonly floor: Throughput;
  /** Streambed.fetch with default limits (500 records, 1 MiB), each consumer on its own partition. Latency per fetch. */
  readonly lib: Throughput;
  /** GET .../records through the handlers (base64 values in JSON), decoded by the client. */
  readonly http: Throughput;
  readonly libVsFloor: number;
  readonly httpVsFloor: number;
}

export interface CatchUpRead {
  readonly label: string;
  readonly maxRecords: number | null;
  readonly maxBytes: number | null;
  readonly seconds: number;
  readonly mibPerSec: number;
  readonly fetches: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly vsFloor: number;
  readonly requests: Record<string, number>;
  /** Requests per GiB of payload read, by command. */
  readonly requestsPerGiB: Record<string, number>;
  readonly recordsRead: number;
  readonly complete: boolean;
}

export interface CatchUp {
  readonly payloadBytes: number;
  readonly batches: number;
  readonly batchShape: string;
  /** Writing the data: 8 concurrent producers, one partition (for information). */
  readonly fill: Throughput;
  readonly floor: { readonly seconds: number; readonly mibPerSec: number; readonly gets: number };
  readonly reads: CatchUpRead[];
}

export interface FetchResults {
  readonly cells: FetchCell[];
  readonly catchUp: CatchUp;
}

export const FETCH_CONCURRENCY = 8; // EngineDeps.fetchConcurrency's default

function toPartition(records: ProduceRecord[], partition: number): ProduceRecord[] {
  return records.map((record) => ({ ...record, partition }));
}

/** Writes `bytesPerPartition` of `shape` calls into every partition, `concurrency` calls in flight. */
async function fill(
  engine: Streambed,
  topic: string,
  partitions: number,
  shape: Shape,
  bytesPerPartition: number,
  concurrency: number,
): Promise<LoadResult> {
  const perPartition = Math.max(1, Math.ceil(bytesPerPartition / payloadBytes(shape)));
  const byPartition = Array.from({ length: partitions }, (_, p) =>
    toPartition(produceRecords(shape, 1, 0), p),
  );
  const result = await runLoad(
    { concurrency, budgetMs: Number.POSITIVE_INFINITY, maxCalls: perPartition * partitions },
    async (i) => {
      await engine.produce({ topic, records: byPartition[i % partitions] as ProduceRecord[] });
      return { bytes: payloadBytes(shape), records: shape.records };
    },
  );
  if (result.errors > 0) throw new Error(`filling ${topic} failed: ${result.firstError}`);
  return result;
}

/** The partition's batches in offset order, from the index (pages, then the head's tail). */
export async function storedBatches(
  stack: BenchStack,
  topic: string,
  topicId: string,
  partition: number,
): Promise<StoredBatch[]> {
  const index = stack.ports().index;
  const ref = { topic, topicId, partition };
  const head = await index.readHead(ref);
  if (head === undefined) throw new Error(`no head for ${topic}/${partition}`);
  const entries: IndexEntry[] = [];
  let cursor = 0;
  const take = (entry: IndexEntry) => {
    if (entry.baseOffset + entry.recordCount <= cursor) return;
    entries.push(entry);
    cursor = entry.baseOffset + entry.recordCount;
  };
  for await (const entry of index.entriesFrom(ref, 0, head)) take(entry);
  for (const entry of head.tail) take(entry);
  if (cursor !== head.highWatermark) throw new Error(`index of ${topic}/${partition} ends at ${cursor}`);
  return entries.map((entry) => ({
    key: segmentKey(topic, topicId, entry.objectId),
    offset: entry.byteOffset,
    length: entry.byteLength,
    records: entry.recordCount,
  }));
}

/** One ranged GET of exactly a batch's bytes: the fetch floor's unit. */
export async function rangedGet(stack: BenchStack, batch: StoredBatch): Promise<void> {
  const out = await stack.s3.send(
    new GetObjectCommand({
      Bucket: stack.bucket,
      Key: batch.key,
      Range: `bytes=${batch.offset}-${batch.offset + batch.length - 1}`,
    }),
  );
  const bytes = (await out.Body?.transformToByteArray()) ?? new Uint8Array();
  if (bytes.byteLength !== batch.length) throw new Error(`short read of ${batch.key}`);
}

/**
 * Fetch throughput (lib and HTTP) beside ranged GETs of the same batches, then a catch-up read of
 * `catchUp.bytes` from offset 0 of one partition.
 */
export async function fetchSuite(
  config: BenchConfig,
  stack: BenchStack,
  http: HttpApi,
  log: (line: string) => void,
): Promise<FetchResults> {
  const engine = stack.engine();
  const run = randomBytes(2).toString('hex');
  const cells: FetchCell[] = [];
  const maxConsumers = Math.max(...config.fetch.consumers);
  for (const shape of config.fetch.shapes) {
    const topic = `fetch-${shape.id.toLowerCase()}-${run}`;
    const created = await engine.createTopic({ name: topic, partitions: maxConsumers });
    await fill(engine, topic, maxConsumers, shape, config.fetch.bytesPerPartition, maxConsumers);
    const batches = await Promise.all(
      Array.from({ length: maxConsumers }, (_, p) => storedBatches(stack, topic, created.id, p)),
    );
    const highWatermarks = batches.map((list) => sum(list.map((b) => b.records)));
    for (const consumers of config.fetch.consumers) {
      const budgetMs = config.fetch.budgetMs / config.fetch.rounds;
      // Floor: each consumer's 8 workers share one cursor over its partition's batches.
      const floorCursor = new Array<number>(consumers).fill(0);
      const floorCall = async (_: number, worker: number) => {
        const consumer = Math.floor(worker / FETCH_CONCURRENCY);
        const list = batches[consumer] as StoredBatch[];
        const i = (floorCursor[consumer] as number) % list.length;
        floorCursor[consumer] = i + 1;
        const batch = list[i] as StoredBatch;
        await rangedGet(stack, batch);
        return { bytes: batch.records * shape.valueBytes, records: batch.records };
      };
      const libOffsets = new Array<number>(consumers).fill(0);
      const libCall = async (_: number, consumer: number) => {
        const out = await engine.fetch({
          topic,
          partition: consumer,
          offset: libOffsets[consumer] as number,
        });
        libOffsets[consumer] = out.nextOffset >= out.highWatermark ? 0 : out.nextOffset;
        return { bytes: sum(out.records.map((r) => r.value?.length ?? 0)), records: out.records.length };
      };
      const httpOffsets = new Array<number>(consumers).fill(0);
      const httpCall = async (_: number, consumer: number) => {
        const out = await http.fetch(topic, consumer, httpOffsets[consumer] as number);
        httpOffsets[consumer] = out.nextOffset >= out.highWatermark ? 0 : out.nextOffset;
        return { bytes: out.bytes, records: out.records };
      };
      const floorOptions = { concurrency: consumers * FETCH_CONCURRENCY, budgetMs, maxCalls: 1_000_000 };
      const fetchOptions = { concurrency: consumers, budgetMs, maxCalls: 1_000_000 };
      await runLoad({ ...floorOptions, budgetMs: 0 }, floorCall);
      await runLoad({ ...fetchOptions, budgetMs: 0 }, libCall);
      await runLoad({ ...fetchOptions, budgetMs: 0 }, httpCall);
      const floorRuns: LoadResult[] = [];
      const libRuns: LoadResult[] = [];
      const httpRuns: LoadResult[] = [];
      for (let r = 0; r < config.fetch.rounds; r++) {
        const order = r % 2 === 0 ? (['floor', 'lib', 'http'] as const) : (['http', 'lib', 'floor'] as const);
        for (const mode of order) {
          if (mode === 'floor') floorRuns.push(await runLoad(floorOptions, floorCall));
          else if (mode === 'lib') libRuns.push(await runLoad(fetchOptions, libCall));
          else httpRuns.push(await runLoad(fetchOptions, httpCall));
        }
      }
      const floor = throughput(mergeLoads(floorRuns));
      const lib = throughput(mergeLoads(libRuns));
      const httpResult = throughput(mergeLoads(httpRuns));
      cells.push({
        shape: shape.id,
        consumers,
        floor,
        lib,
        http: httpResult,
        libVsFloor: ratio(lib.mibPerSec, floor.mibPerSec),
        httpVsFloor: ratio(httpResult.mibPerSec, floor.mibPerSec),
      });
      log(
        `fetch ${shape.id} consumers=${consumers}: floor ${floor.mibPerSec} MiB/s, lib ${lib.mibPerSec}, http ${httpResult.mibPerSec}` +
          ` (partition high watermarks ${highWatermarks[0]})`,
      );
    }
  }
  const catchUp = await catchUpSuite(config, stack, run, log);
  return { cells, catchUp };
}

async function catchUpSuite(
  config: BenchConfig,
  stack: BenchStack,
  run: string,
  log: (line: string) => void,
): Promise<CatchUp> {
  const shape = config.catchUp.shape;
  const topic = `catchup-${run}`;
  const writer = stack.engine();
  const created = await writer.createTopic({ name: topic, partitions: 1 });
  log(
    `catch-up: writing ${round(config.catchUp.bytes / MiB, 1)} MiB of ${shape.id} calls to one partition ...`,
  );
  const fillResult = await fill(writer, topic, 1, shape, config.catchUp.bytes, 8);
  const batches = await storedBatches(stack, topic, created.id, 0);
  const totalRecords = sum(batches.map((b) => b.records));
  const totalBytes = totalRecords * shape.valueBytes;

  const floorStart = performance.now();
  const floorLoad = await runLoad(
    { concurrency: FETCH_CONCURRENCY, budgetMs: Number.POSITIVE_INFINITY, maxCalls: batches.length },
    async (i) => {
      const batch = batches[i] as StoredBatch;
      await rangedGet(stack, batch);
      return { bytes: batch.records * shape.valueBytes, records: batch.records };
    },
  );
  const floorSeconds = (performance.now() - floorStart) / 1000;
  if (floorLoad.errors > 0) throw new Error(`catch-up floor failed: ${floorLoad.firstError}`);
  const floor = {
    seconds: round(floorSeconds, 3),
    mibPerSec: round(totalBytes / MiB / floorSeconds, 2),
    gets: batches.length,
  };
  log(`catch-up floor: ${floor.mibPerSec} MiB/s (${batches.length} ranged GETs, 8 in flight)`);

  const settings: { label: string; maxRecords?: number; maxBytes?: number }[] = [
    { label: 'tuned (maxRecords 10000, maxBytes 8 MiB)', maxRecords: 10_000, maxBytes: 8 * MiB },
  ];
  if (config.catchUp.withDefaults) settings.push({ label: 'defaults (maxRecords 500, maxBytes 1 MiB)' });
  const reads: CatchUpRead[] = [];
  for (const setting of settings) {
    const engine = stack.engine();
    stack.instruments.reset();
    const latencies: number[] = [];
    let offset = 0;
    let records = 0;
    let bytes = 0;
    let fetches = 0;
    const start = performance.now();
    for (;;) {
      const t0 = performance.now();
      const out = await engine.fetch({
        topic,
        partition: 0,
        offset,
        ...(setting.maxRecords === undefined ? {} : { maxRecords: setting.maxRecords }),
        ...(setting.maxBytes === undefined ? {} : { maxBytes: setting.maxBytes }),
      });
      latencies.push(performance.now() - t0);
      fetches++;
      records += out.records.length;
      for (const record of out.records) bytes += record.value?.length ?? 0;
      offset = out.nextOffset;
      if (offset >= out.highWatermark || out.records.length === 0) break;
    }
    const seconds = (performance.now() - start) / 1000;
    const { requests } = stack.instruments.snapshot();
    const gib = bytes / GiB;
    const read: CatchUpRead = {
      label: setting.label,
      maxRecords: setting.maxRecords ?? null,
      maxBytes: setting.maxBytes ?? null,
      seconds: round(seconds, 3),
      mibPerSec: round(bytes / MiB / seconds, 2),
      fetches,
      p50Ms: round(percentile(latencies, 50), 2),
      p99Ms: round(percentile(latencies, 99), 2),
      vsFloor: ratio(bytes / seconds, totalBytes / floorSeconds),
      requests,
      requestsPerGiB: Object.fromEntries(Object.entries(requests).map(([k, v]) => [k, round(v / gib, 1)])),
      recordsRead: records,
      complete: records === totalRecords && bytes === totalBytes,
    };
    reads.push(read);
    log(`catch-up ${setting.label}: ${read.mibPerSec} MiB/s, ${fetches} fetches, complete=${read.complete}`);
  }
  return {
    payloadBytes: totalBytes,
    batches: batches.length,
    batchShape: shape.id,
    fill: throughput(fillResult),
    floor,
    reads,
  };
}
