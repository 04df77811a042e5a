import { LIMITS } from '../../functions/api/openapi-common.ts';
import { binaryCodec } from '../../lib/client/binary-codec.ts';
import type { Consumer } from '../../lib/client/consumer.ts';
import { HttpTransport } from '../../lib/client/http-transport.ts';
import type { BodyCodec } from '../../lib/client/json-codec.ts';
import { nodeFetch } from '../../lib/client/node-fetch.ts';
import type { ProduceRecord } from '../../lib/core/types.ts';
import { BATCH_REFS_TYPE } from '../../lib/core/wire/batch-refs.ts';
import { type CpuShares, cpuNow, cpuPerMiB } from '../support/cpu.ts';
import type { BatchLocation } from '../support/entry.ts';
import { floorProduce } from '../support/floor.ts';
import { gatewayFloorCall } from '../support/gateway-floor.ts';
import {
  type LoadResult,
  MiB,
  mergeLoads,
  ratio,
  runLoad,
  sum,
  type Throughput,
  throughput,
} from '../support/load.ts';
import { payloadBytes, produceRecords, type Shape, segmentOf } from '../support/records.ts';
import type { BenchStack } from '../support/stack.ts';
import { FETCH_CONCURRENCY, rangedGet, type StoredBatch, storedBatches } from './fetch.ts';

/** 1 MiB requests and batches: 1,024 records of 1 KiB, one partition. */
export const MIB_SHAPE: Shape = { id: '1024x1KiB', records: 1024, valueBytes: 1024 };

/** A codec under test: `codec` undefined is HttpTransport's default. */
export interface CodecUnderTest {
  readonly label: string;
  /** HttpTransport's `directReads` (fetch only). @default true */
  readonly directReads?: boolean;
  readonly codec: BodyCodec | undefined;
}

/** CPU ms per MiB moved, by process (bench/support/cpu.ts); absent off Linux. */
export type CpuPerMiB = CpuShares & { readonly total: number };

export interface CodecRow {
  readonly label: string;
  /** Produce: the body's content type; fetch: the Accept header the codec sends. */
  readonly contentType: string;
  readonly result: Throughput;
  readonly vsFloor: number;
  readonly cpuPerMiB?: CpuPerMiB;
}

export interface CodecCell {
  readonly kind: 'produce' | 'fetch';
  /** Produce calls in flight, or consumers (each on its own partition, one fetch at a time). */
  readonly concurrency: number;
  readonly floor: Throughput;
  readonly floorCpuPerMiB?: CpuPerMiB;
  /**
   * Produce: the floor's calls behind the local API's request handling and API Gateway event and
   * nothing else (bench/support/gateway-floor-server.ts): the most any HTTP produce reaches here.
   */
  readonly gatewayFloor?: Omit<CodecRow, 'contentType'>;
  readonly rows: CodecRow[];
}

export interface CodecBudget {
  readonly produceConcurrency: readonly number[];
  readonly fetchConsumers: readonly number[];
  /** Time per (cell, mode), split over `rounds` that alternate the order of the modes. */
  readonly budgetMs: number;
  /**
   * Produce: calls each mode makes before it is measured, so the paths the services take are warm
   * (DynamoDB Local's JVM spends several times the CPU per write on a path it has not run much). At
   * least one per worker; at most `maxCalls`.
   */
  readonly warmCalls: number;
  readonly rounds: number;
  /** Produce: a cap on calls per (cell, mode, round), to bound the disk used. */
  readonly maxCalls: number;
  /** Fetch: bytes written to each partition; above the server's 32 MiB batch cache in a full run. */
  readonly bytesPerPartition: number;
}

const transportFor = (url: string, codec: BodyCodec | undefined, directReads = true) =>
  new HttpTransport({ endpoint: url, auth: 'none', directReads, ...(codec === undefined ? {} : { codec }) });

/** The Accept header a fetch of this codec sends (batch references first when it reads directly). */
function fetchAcceptOf(url: string, c: CodecUnderTest): string {
  const codec = transportCodecOf(url, c.codec);
  return codec === binaryCodec && c.directReads !== false
    ? `${BATCH_REFS_TYPE}, ${codec.fetchAccept}`
    : codec.fetchAccept;
}

/** `{ [key]: run.cpuPerMiB }`, or nothing when the CPU was not measured. */
function cpuOf<K extends string>(key: K, run: ModeRun | undefined): { [P in K]?: CpuPerMiB } {
  return (run?.cpuPerMiB === undefined ? {} : { [key]: run.cpuPerMiB }) as { [P in K]?: CpuPerMiB };
}

/** A mode's merged load, and the CPU every process spent per MiB while it ran. */
interface ModeRun {
  readonly load: LoadResult;
  readonly cpuPerMiB?: CpuPerMiB;
}

/**
 * Runs the modes `rounds` times, alternating their order (floor first, then last), each under
 * `options`; returns the merged load of each mode with the CPU spent during it.
 */
async function alternate(
  modes: readonly ((round: number) => Promise<LoadResult>)[],
  rounds: number,
): Promise<ModeRun[]> {
  const runs: LoadResult[][] = modes.map(() => []);
  const zero = { bench: 0, server: 0, minio: 0, dynamodb: 0, other: 0 };
  const spent: (CpuShares | undefined)[] = modes.map(() => ({ ...zero }));
  for (let r = 0; r < rounds; r++) {
    const order = modes.map((_, i) => i);
    if (r % 2 === 1) order.reverse();
    for (const i of order) {
      const before = cpuNow();
      runs[i]?.push(await (modes[i] as (round: number) => Promise<LoadResult>)(r));
      const after = cpuNow();
      const sofar = spent[i];
      spent[i] =
        before === undefined || after === undefined || sofar === undefined
          ? undefined
          : (Object.fromEntries(
              (Object.keys(zero) as (keyof CpuShares)[]).map((k) => [k, sofar[k] + after[k] - before[k]]),
            ) as unknown as CpuShares);
    }
  }
  return runs.map((list, i) => {
    const load = mergeLoads(list);
    const cpu = cpuPerMiB(zero, spent[i], load.bytes / MiB);
    return cpu === undefined ? { load } : { load, cpuPerMiB: cpu };
  });
}

/**
 * HTTP produce of 1 MiB requests through the SDK's transport (the codec encodes each call, as the
 * SDK does), beside the produce suite's floor: a raw PutObject of the same segment bytes, then one
 * conditional PutItem, at the same concurrency.
 */
export async function codecProduce(
  stack: BenchStack,
  url: string,
  codecs: readonly CodecUnderTest[],
  budget: CodecBudget,
  run: string,
  gatewayFloorUrl?: string,
): Promise<CodecCell[]> {
  const engine = stack.engine();
  const records = produceRecords(MIB_SHAPE, 1, 0) as ProduceRecord[];
  const gatewayFetch = nodeFetch();
  const segment = segmentOf(MIB_SHAPE, 1, 0, Date.now());
  const bytes = payloadBytes(MIB_SHAPE);
  const result = { bytes, records: MIB_SHAPE.records };
  const cells: CodecCell[] = [];
  try {
    for (const concurrency of budget.produceConcurrency) {
      const id = `sdk-produce-c${concurrency}-${run}`;
      const options = {
        concurrency,
        budgetMs: budget.budgetMs / budget.rounds,
        maxCalls: Math.max(concurrency, budget.maxCalls),
      };
      let floorKey = 0;
      const floorCall = async () => {
        const i = floorKey++;
        await floorProduce(stack, id, i, segment);
        return result;
      };
      const sdkCalls = await Promise.all(
        codecs.map(async (c, i) => {
          const topic = `${id}-${i}`;
          await engine.createTopic({ name: topic, partitions: 1 });
          const transport = transportFor(url, c.codec);
          return async () => {
            await transport.produce({ topic, records });
            return result;
          };
        }),
      );
      const gatewayCall =
        gatewayFloorUrl === undefined
          ? undefined
          : gatewayFloorCall({
              url: gatewayFloorUrl,
              run: `${id}-gateway`,
              bytes: segment.bytes,
              batch: segment.batches[0] as BatchLocation,
              contentType: binaryCodec.encodeProduce({ topic: 't', records: records.slice(0, 1) })
                .contentType,
              result,
              fetch: gatewayFetch,
            });
      const modes = [floorCall, ...sdkCalls, ...(gatewayCall === undefined ? [] : [gatewayCall])];
      // Every mode the same number of calls, whatever its speed (within the disk cap).
      const warm = {
        concurrency,
        budgetMs: 0,
        minCalls: Math.max(concurrency, Math.min(budget.warmCalls, budget.maxCalls)),
        maxCalls: Math.max(concurrency, Math.min(budget.warmCalls, budget.maxCalls)),
      };
      for (const call of modes) await runLoad(warm, call);
      const [floorRun, ...otherRuns] = await alternate(
        modes.map((call) => () => runLoad(options, call)),
        budget.rounds,
      );
      const codecRuns = otherRuns.slice(0, sdkCalls.length);
      const gatewayRun = otherRuns[sdkCalls.length];
      const floor = throughput((floorRun as ModeRun).load);
      const gateway = gatewayRun === undefined ? undefined : throughput(gatewayRun.load);
      cells.push({
        kind: 'produce',
        concurrency,
        floor,
        ...cpuOf('floorCpuPerMiB', floorRun),
        ...(gateway === undefined
          ? {}
          : {
              gatewayFloor: {
                label: 'gateway floor',
                result: gateway,
                vsFloor: ratio(gateway.mibPerSec, floor.mibPerSec),
                ...cpuOf('cpuPerMiB', gatewayRun),
              },
            }),
        rows: codecs.map((c, i) => {
          const t = throughput((codecRuns[i] as ModeRun).load);
          return {
            ...cpuOf('cpuPerMiB', codecRuns[i]),
            label: c.label,
            contentType: transportCodecOf(url, c.codec).encodeProduce({
              topic: 't',
              records: records.slice(0, 1),
            }).contentType,
            result: t,
            vsFloor: ratio(t.mibPerSec, floor.mibPerSec),
          };
        }),
      });
    }
  } finally {
    gatewayFetch.close();
  }
  return cells;
}

/** The codec an HttpTransport uses (its default when `codec` is undefined). */
export function transportCodecOf(url: string, codec: BodyCodec | undefined): BodyCodec {
  return (transportFor(url, codec) as unknown as { codec: BodyCodec }).codec;
}

/** The HTTP API's largest fetch `maxBytes` (frames stop at 4 MiB, JSON at 3 MiB, whatever is asked). */
const HTTP_MAX_FETCH_BYTES = LIMITS.maxFetchBytes;

/**
 * HTTP fetch of 1 MiB batches through the SDK's transport, as much per fetch as the HTTP API allows
 * (maxRecords 10,000 and the largest maxBytes: ~9 stored batches named by reference, three in a binary
 * frame, which stops at 4 MiB of stored bytes; 3 MiB of records in JSON), each consumer reading
 * its own partition from offset 0 round and round, beside the fetch suite's floor: ranged GETs of
 * exactly the same batches, 8 in flight per consumer.
 */
export async function codecFetch(
  stack: BenchStack,
  url: string,
  codecs: readonly CodecUnderTest[],
  budget: CodecBudget,
  run: string,
  log: (line: string) => void,
): Promise<CodecCell[]> {
  const engine = stack.engine();
  const partitions = Math.max(...budget.fetchConsumers);
  const topic = `sdk-fetch-${run}`;
  const created = await engine.createTopic({ name: topic, partitions });
  const perPartition = Math.max(1, Math.ceil(budget.bytesPerPartition / payloadBytes(MIB_SHAPE)));
  const byPartition = Array.from({ length: partitions }, (_, p) =>
    produceRecords(MIB_SHAPE, 1, 0).map((record) => ({ ...record, partition: p })),
  );
  const filled = await runLoad(
    { concurrency: partitions, budgetMs: Number.POSITIVE_INFINITY, maxCalls: perPartition * partitions },
    async (i) => {
      await engine.produce({ topic, records: byPartition[i % partitions] as ProduceRecord[] });
      return { bytes: payloadBytes(MIB_SHAPE), records: MIB_SHAPE.records };
    },
  );
  if (filled.errors > 0) throw new Error(`filling ${topic} failed: ${filled.firstError}`);
  log(`sdk fetch: wrote ${perPartition} batches of 1 MiB to each of ${partitions} partitions`);
  const batches = await Promise.all(
    Array.from({ length: partitions }, (_, p) => storedBatches(stack, topic, created.id, p)),
  );
  const cells: CodecCell[] = [];
  for (const consumers of budget.fetchConsumers) {
    const budgetMs = budget.budgetMs / budget.rounds;
    const floorCursor = new Array<number>(consumers).fill(0);
    const floorCall = async (_: number, worker: number) => {
      const consumer = Math.floor(worker / FETCH_CONCURRENCY);
      const list = batches[consumer] as StoredBatch[];
      const i = (floorCursor[consumer] as number) % list.length;
      floorCursor[consumer] = i + 1;
      const batch = list[i] as StoredBatch;
      await rangedGet(stack, batch);
      return { bytes: batch.records * MIB_SHAPE.valueBytes, records: batch.records };
    };
    const fetchCalls = codecs.map((c) => {
      const transport = transportFor(url, c.codec, c.directReads);
      const offsets = new Array<number>(consumers).fill(0);
      return async (_: number, consumer: number) => {
        const out = await transport.fetch({
          topic,
          partition: consumer,
          offset: offsets[consumer] as number,
          maxRecords: 10_000,
          maxBytes: HTTP_MAX_FETCH_BYTES,
        });
        offsets[consumer] = out.nextOffset >= out.highWatermark ? 0 : out.nextOffset;
        return { bytes: sum(out.records.map((r) => r.value?.length ?? 0)), records: out.records.length };
      };
    });
    const group = await sdkConsumers(url, topic, consumers, partitions, `sdk-fetch-${run}-c${consumers}`);
    const highWatermark = perPartition * MIB_SHAPE.records;
    const consumerCall = async (_: number, worker: number) => {
      const consumer = group[worker] as Consumer;
      const records = await consumer.poll({ timeoutMs: 1_000 });
      for (const [partition, position] of consumer.positions()) {
        if (position >= highWatermark) await consumer.seek(partition, 'beginning');
      }
      return { bytes: sum(records.map((r) => r.value?.length ?? 0)), records: records.length };
    };
    const floorOptions = { concurrency: consumers * FETCH_CONCURRENCY, budgetMs, maxCalls: 1_000_000 };
    const fetchOptions = { concurrency: consumers, budgetMs, maxCalls: 1_000_000 };
    await runLoad({ ...floorOptions, budgetMs: 0 }, floorCall);
    for (const call of [...fetchCalls, consumerCall]) await runLoad({ ...fetchOptions, budgetMs: 0 }, call);
    const [floorRun, ...codecRuns] = await alternate(
      [
        () => runLoad(floorOptions, floorCall),
        ...fetchCalls.map((call) => () => runLoad(fetchOptions, call)),
        () => runLoad(fetchOptions, consumerCall),
      ],
      budget.rounds,
    );
    await Promise.all(group.map((consumer) => consumer.close()));
    const floor = throughput((floorRun as ModeRun).load);
    cells.push({
      kind: 'fetch',
      concurrency: consumers,
      floor,
      ...cpuOf('floorCpuPerMiB', floorRun),
      rows: codecs.map((c, i) => {
        const t = throughput((codecRuns[i] as ModeRun).load);
        return {
          ...cpuOf('cpuPerMiB', codecRuns[i]),
          label: c.label,
          contentType: fetchAcceptOf(url, c),
          result: t,
          vsFloor: ratio(t.mibPerSec, floor.mibPerSec),
        };
      }),
    });
    const consumed = throughput((codecRuns[codecs.length] as ModeRun).load);
    cells.at(-1)?.rows.push({
      ...cpuOf('cpuPerMiB', codecRuns[codecs.length]),
      label: SDK_CONSUMER_LABEL,
      contentType: fetchAcceptOf(url, { label: SDK_CONSUMER_LABEL, codec: undefined }),
      result: consumed,
      vsFloor: ratio(consumed.mibPerSec, floor.mibPerSec),
    });
  }
  return cells;
}

/** The fetch row of the SDK's consumer with its defaults (binary bodies, read-ahead). */
export const SDK_CONSUMER_LABEL = 'SDK consumer (defaults: binaryCodec, direct reads, read-ahead)';

/**
 * `count` consumers of one group on `topic`, each reading only partition i (the others it holds are
 * paused), from the beginning, fetching as much per request as the HTTP API allows, committing nothing.
 */
async function sdkConsumers(
  url: string,
  topic: string,
  count: number,
  partitions: number,
  group: string,
): Promise<Consumer[]> {
  const { StreambedClient } = await import('../../lib/client/client.ts');
  const client = new StreambedClient({ endpoint: url, auth: 'none' });
  const consumers = Array.from({ length: count }, (_, i) =>
    client.consumer({
      group,
      topic,
      memberId: `bench-${i}`,
      autoOffsetReset: 'earliest',
      autoCommit: false,
      maxPollRecords: 10_000,
      maxFetchBytes: HTTP_MAX_FETCH_BYTES,
    }),
  );
  for (const consumer of consumers) await consumer.connect();
  // Members joined one after another: wait until the partitions are spread, one reader each.
  for (let attempt = 0; attempt < 100; attempt++) {
    const held = consumers.map((c) => c.assignment());
    if (held.every((h) => h.length > 0) && new Set(held.flat()).size === partitions) break;
    await Promise.all(consumers.map((c) => c.poll({ maxRecords: 1, timeoutMs: 50 })));
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  for (const consumer of consumers) {
    const own = consumer.assignment()[0] as number;
    consumer.pause(consumer.assignment().filter((p) => p !== own));
    await consumer.seek(own, 'beginning');
  }
  return consumers;
}
