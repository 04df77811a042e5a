/**
 * Issue 12's figures for the Kafka door (`npm run bench -- --only kafka`, docs/bench.md "Kafka door"):
 * produce and consume MiB/s and p50/p99 per call through the Kafka protocol with kafkajs 2.2.4, beside
 * the HTTP door (the SDK's `HttpTransport`, binary bodies) and the library floor (`Streambed.produce` /
 * `fetch` in the bench process), in the same run, rounds alternating the order of the three.
 *
 * - The Kafka server runs in a child process of its own (kafka-server.ts), on the bench's MinIO and
 *   DynamoDB Local, as a KafkaEndpoint task runs apart from its clients; the HTTP door is the bench's
 *   HTTP server process (bench/support/http-server.ts).
 * - kafkajs has no linger: each `send` carries ~1 MiB (1,024 × 1 KiB or 10 × 100 KiB records) for one
 *   partition, the batch a linger would gather. Default producer: acks -1, no compression, not
 *   idempotent (lib and HTTP produce are not idempotent either).
 * - Consume: the consumer groups are not committed yet, so no kafkajs consumer (it needs a group). The
 *   suite drives kafkajs's own Fetch (its cluster's broker connection, `broker.fetch`: the request the
 *   consumer sends and its decoding of the record batches into messages), offset by offset, from 0 to
 *   the high watermark and round again. Each fetch asks for 3 MiB (the HTTP API's largest) in all modes.
 */
import { type ChildProcess, fork } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { HttpTransport } from '../../lib/client/http-transport.ts';
import type { ProduceRecord } from '../../lib/core/types.ts';
import type { HttpApi } from '../support/http-client.ts';
import {
  type LoadResult,
  MiB,
  mergeLoads,
  ratio,
  round,
  runLoad,
  sum,
  type Throughput,
  throughput,
} from '../support/load.ts';
import { payloadBytes, produceRecords, type Shape } from '../support/records.ts';
import type { BenchStack } from '../support/stack.ts';

export const KAFKA_SHAPES: readonly Shape[] = [
  { id: '1024x1KiB', records: 1024, valueBytes: 1024 },
  { id: '10x100KiB', records: 10, valueBytes: 100 * 1024 },
];

export interface KafkaConfig {
  readonly produceConcurrency: readonly number[];
  readonly consumers: readonly number[];
  /** Time per (cell, mode), split over `rounds` that alternate the order of the modes. */
  readonly budgetMs: number;
  readonly rounds: number;
  /** A cap on produce calls per (cell, mode, round), to bound the disk used. */
  readonly maxCalls: number;
  /** Consume: bytes written to each partition before reading. */
  readonly bytesPerPartition: number;
}

export const KAFKA_FULL: KafkaConfig = {
  produceConcurrency: [1, 4],
  consumers: [1, 4],
  budgetMs: 8_000,
  rounds: 2,
  maxCalls: 400,
  bytesPerPartition: 40 * MiB,
};

export const KAFKA_QUICK: KafkaConfig = {
  produceConcurrency: [1],
  consumers: [1],
  budgetMs: 600,
  rounds: 2,
  maxCalls: 4,
  bytesPerPartition: 2 * MiB,
};

export function kafkaConfig(mode: 'quick' | 'full', scale: number): KafkaConfig {
  const base = mode === 'quick' ? KAFKA_QUICK : KAFKA_FULL;
  return { ...base, budgetMs: Math.max(1, Math.round(base.budgetMs * scale)) };
}

/** Every fetch asks for this much (the HTTP API's largest `maxBytes`). */
const FETCH_MAX_BYTES = 3 * MiB;

export type DoorMode = 'lib' | 'http' | 'kafka';

export interface KafkaCell {
  readonly kind: 'produce' | 'consume';
  readonly shape: string;
  /** Produce: calls in flight (kafkajs: one producer, one connection, each); consume: consumers, one partition each. */
  readonly concurrency: number;
  readonly lib: Throughput;
  readonly http: Throughput;
  readonly kafka: Throughput;
  readonly kafkaVsLib: number;
  readonly httpVsLib: number;
  readonly kafkaVsHttp: number;
  /** The Kafka server process's CPU (user + system) per MiB moved through it in this cell. */
  readonly kafkaServerCpuMsPerMiB: number;
  /**
   * Consume with one consumer only: kafkajs's consumer in a one-member group (consumer.run, eachBatch),
   * on a one-partition topic of the same data; a "call" is one batch handed to eachBatch, its latency the
   * time since the previous one (the first since the group was joined).
   */
  readonly kafkaGroup?: Throughput;
  readonly kafkaGroupVsLib?: number;
  readonly kafkaGroupServerCpuMsPerMiB?: number;
}

export interface KafkaResults {
  readonly config: KafkaConfig;
  readonly server: string;
  readonly consumeMethod: string;
  readonly loadAverage: { readonly atStart: number[]; readonly atEnd: number[] };
  readonly produce: KafkaCell[];
  readonly consume: KafkaCell[];
  readonly problems: string[];
  readonly method: string[];
}

interface KafkaChild {
  readonly port: number;
  cpuMs(): Promise<number>;
  close(): Promise<void>;
}

async function startKafkaChild(stack: BenchStack): Promise<KafkaChild> {
  const child: ChildProcess = fork(fileURLToPath(new URL('./kafka-server.ts', import.meta.url)), [], {
    env: {
      ...process.env,
      STREAMBED_KAFKA_SERVER: JSON.stringify({
        endpoints: stack.endpoints,
        bucket: stack.bucket,
        tables: stack.tables,
      }),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  type Reply = { type?: string; port?: number; id?: number; cpu?: { user: number; system: number } };
  const pending = new Map<number, (reply: Reply) => void>();
  let nextId = 0;
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the kafka suite's server exited with ${code}`)));
    child.on('message', (message: Reply) => {
      if (message.type === 'ready' && message.port !== undefined) resolve(message.port);
      else if (message.id !== undefined) {
        pending.get(message.id)?.(message);
        pending.delete(message.id);
      }
    });
  });
  child.removeAllListeners('exit');
  return {
    port,
    cpuMs: () =>
      new Promise<number>((resolve) => {
        const id = nextId++;
        pending.set(id, (reply) => resolve(((reply.cpu?.user ?? 0) + (reply.cpu?.system ?? 0)) / 1000));
        child.send({ type: 'cpu', id });
      }),
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.send({ type: 'close' });
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}

type Call = (index: number, worker: number) => Promise<{ bytes: number; records: number }>;

/** Runs each mode's load `rounds` times, alternating the order (lib → HTTP → Kafka, then back). */
async function alternate(
  modes: Record<DoorMode, Call>,
  options: { concurrency: number; budgetMs: number; maxCalls: number },
  rounds: number,
  server: KafkaChild,
  group?: (round: number) => Promise<LoadResult>,
): Promise<{
  loads: Record<DoorMode, LoadResult>;
  kafkaCpuMs: number;
  group?: LoadResult;
  groupCpuMs: number;
}> {
  const order: DoorMode[] = ['lib', 'http', 'kafka'];
  const runs: Record<DoorMode, LoadResult[]> = { lib: [], http: [], kafka: [] };
  const groupRuns: LoadResult[] = [];
  let kafkaCpuMs = 0;
  let groupCpuMs = 0;
  // Warm-up: one call per worker and mode (connections, topic caches, JIT), not measured.
  for (const mode of order) {
    const warm = await runLoad({ ...options, budgetMs: 0, maxCalls: options.concurrency }, modes[mode]);
    if (warm.errors > 0) throw new Error(`${mode} warm-up failed: ${warm.firstError}`);
  }
  const all: (DoorMode | 'group')[] = group === undefined ? order : [...order, 'group'];
  for (let r = 0; r < rounds; r++) {
    for (const mode of r % 2 === 0 ? all : [...all].reverse()) {
      const cpu0 = mode === 'kafka' || mode === 'group' ? await server.cpuMs() : 0;
      if (mode === 'group') {
        groupRuns.push(await (group as (round: number) => Promise<LoadResult>)(r));
        groupCpuMs += (await server.cpuMs()) - cpu0;
        continue;
      }
      runs[mode].push(await runLoad(options, modes[mode]));
      if (mode === 'kafka') kafkaCpuMs += (await server.cpuMs()) - cpu0;
    }
  }
  return {
    loads: { lib: mergeLoads(runs.lib), http: mergeLoads(runs.http), kafka: mergeLoads(runs.kafka) },
    kafkaCpuMs,
    ...(group === undefined ? {} : { group: mergeLoads(groupRuns) }),
    groupCpuMs,
  };
}

function cellOf(
  kind: KafkaCell['kind'],
  shape: Shape,
  concurrency: number,
  loads: Record<DoorMode, LoadResult>,
  kafkaCpuMs: number,
): KafkaCell {
  const [lib, http, kafka] = [throughput(loads.lib), throughput(loads.http), throughput(loads.kafka)];
  return {
    kind,
    shape: shape.id,
    concurrency,
    lib,
    http,
    kafka,
    kafkaVsLib: ratio(kafka.mibPerSec, lib.mibPerSec),
    httpVsLib: ratio(http.mibPerSec, lib.mibPerSec),
    kafkaVsHttp: ratio(kafka.mibPerSec, http.mibPerSec),
    kafkaServerCpuMsPerMiB: round(kafkaCpuMs / (loads.kafka.bytes / MiB), 2),
  };
}

const kafkaClient = (port: number) =>
  new Kafka({
    brokers: [`127.0.0.1:${port}`],
    clientId: 'streambed-bench',
    logLevel: logLevel.NOTHING,
    retry: { retries: 2, initialRetryTime: 100 },
  });

/** The records of one ~1 MiB call as kafkajs messages (Buffer views of the same bytes, partition 0). */
function kafkaMessages(records: readonly ProduceRecord[]) {
  return records.map((r) => {
    const v = r.value as Uint8Array;
    return { value: Buffer.from(v.buffer, v.byteOffset, v.byteLength), partition: 0 };
  });
}

async function produceCells(
  config: KafkaConfig,
  stack: BenchStack,
  url: string,
  server: KafkaChild,
  run: string,
  log: (line: string) => void,
): Promise<KafkaCell[]> {
  const engine = stack.engine();
  const transport = new HttpTransport({ endpoint: url, auth: 'none' });
  const kafka = kafkaClient(server.port);
  const cells: KafkaCell[] = [];
  for (const shape of KAFKA_SHAPES) {
    const records = produceRecords(shape, 1, 0);
    const messages = kafkaMessages(records);
    const result = { bytes: payloadBytes(shape), records: shape.records };
    for (const concurrency of config.produceConcurrency) {
      const id = `kafka-produce-${shape.id.toLowerCase()}-c${concurrency}-${run}`;
      const topics = { lib: `${id}-lib`, http: `${id}-http`, kafka: `${id}-kafka` };
      for (const topic of Object.values(topics)) await engine.createTopic({ name: topic, partitions: 1 });
      // One kafkajs producer (one connection) per worker, as `concurrency` clients would.
      const producers: Producer[] = [];
      for (let w = 0; w < concurrency; w++) {
        const producer = kafka.producer({ allowAutoTopicCreation: false });
        await producer.connect();
        producers.push(producer);
      }
      try {
        const modes: Record<DoorMode, Call> = {
          lib: async () => {
            await engine.produce({ topic: topics.lib, records });
            return result;
          },
          http: async () => {
            await transport.produce({ topic: topics.http, records });
            return result;
          },
          kafka: async (_, worker) => {
            const sent = await (producers[worker] as Producer).send({
              topic: topics.kafka,
              messages,
              acks: -1,
            });
            const error = sent.find((s) => s.errorCode !== 0);
            if (error !== undefined) throw new Error(`produce error code ${error.errorCode}`);
            return result;
          },
        };
        const options = {
          concurrency,
          budgetMs: config.budgetMs / config.rounds,
          maxCalls: Math.max(concurrency, config.maxCalls),
        };
        const { loads, kafkaCpuMs } = await alternate(modes, options, config.rounds, server);
        const cell = cellOf('produce', shape, concurrency, loads, kafkaCpuMs);
        cells.push(cell);
        log(
          `kafka produce ${shape.id} c=${concurrency}: lib ${cell.lib.mibPerSec} MiB/s (p50 ${cell.lib.p50Ms} ms), ` +
            `http ${cell.http.mibPerSec} (${cell.httpVsLib}x, p50 ${cell.http.p50Ms}), ` +
            `kafka ${cell.kafka.mibPerSec} (${cell.kafkaVsLib}x, p50 ${cell.kafka.p50Ms})`,
        );
      } finally {
        await Promise.all(producers.map((p) => p.disconnect()));
      }
    }
  }
  return cells;
}

/** What kafkajs's broker.fetch (Fetch v11) resolves to, the parts read here. */
interface KafkajsFetchResponse {
  readonly responses: {
    readonly topicName: string;
    readonly partitions: {
      readonly partition: number;
      readonly errorCode: number;
      readonly highWatermark: string;
      readonly messages: { readonly offset: string; readonly value: Buffer | null }[];
    }[];
  }[];
}

interface KafkajsBroker {
  fetch(request: {
    replicaId?: number;
    isolationLevel?: number;
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    topics: { topic: string; partitions: { partition: number; fetchOffset: string; maxBytes: number }[] }[];
  }): Promise<KafkajsFetchResponse>;
}

interface KafkajsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  findTopicPartitionMetadata(topic: string): { partitionId: number; leader: number }[];
  findBroker(args: { nodeId: string }): Promise<KafkajsBroker>;
}

/**
 * A kafkajs cluster (its metadata and broker connections), as the consumer makes for itself: the
 * Kafka instance keeps its factory under a private symbol.
 */
function kafkajsCluster(kafka: Kafka): KafkajsCluster {
  const key = Object.getOwnPropertySymbols(kafka).find(
    (s) => s.description === 'private:Kafka:createCluster',
  );
  if (key === undefined) throw new Error('kafkajs: no createCluster symbol (not kafkajs 2.2.x?)');
  const create = (kafka as unknown as Record<symbol, (options: object) => KafkajsCluster>)[key];
  return (create as (options: object) => KafkajsCluster)({ allowAutoTopicCreation: false });
}

async function consumeCells(
  config: KafkaConfig,
  stack: BenchStack,
  url: string,
  server: KafkaChild,
  run: string,
  log: (line: string) => void,
): Promise<{ cells: KafkaCell[]; problems: string[] }> {
  const engine = stack.engine();
  const reader = stack.engine();
  const transport = new HttpTransport({ endpoint: url, auth: 'none' });
  const kafka = kafkaClient(server.port);
  const partitions = Math.max(...config.consumers);
  const cells: KafkaCell[] = [];
  const problems: string[] = [];
  for (const shape of KAFKA_SHAPES) {
    const topic = `kafka-consume-${shape.id.toLowerCase()}-${run}`;
    await engine.createTopic({ name: topic, partitions });
    const perPartition = Math.max(1, Math.ceil(config.bytesPerPartition / payloadBytes(shape)));
    const byPartition = Array.from({ length: partitions }, (_, p) =>
      produceRecords(shape, 1, 0).map((record) => ({ ...record, partition: p })),
    );
    const filled = await runLoad(
      { concurrency: partitions, budgetMs: Number.POSITIVE_INFINITY, maxCalls: perPartition * partitions },
      async (i) => {
        await engine.produce({ topic, records: byPartition[i % partitions] as ProduceRecord[] });
        return { bytes: payloadBytes(shape), records: shape.records };
      },
    );
    if (filled.errors > 0) throw new Error(`filling ${topic} failed: ${filled.firstError}`);
    // The group consumer's topic: one partition holding what each partition above holds.
    const groupTopic = `${topic}-g`;
    await engine.createTopic({ name: groupTopic, partitions: 1 });
    const groupRecords = produceRecords(shape, 1, 0);
    const groupFilled = await runLoad(
      { concurrency: 1, budgetMs: Number.POSITIVE_INFINITY, maxCalls: perPartition },
      async () => {
        await engine.produce({ topic: groupTopic, records: groupRecords });
        return { bytes: payloadBytes(shape), records: shape.records };
      },
    );
    if (groupFilled.errors > 0) throw new Error(`filling ${groupTopic} failed: ${groupFilled.firstError}`);
    log(`kafka consume: wrote ${perPartition} calls of ${shape.id} to each of ${partitions} partitions`);
    const end = perPartition * shape.records;
    for (const consumers of config.consumers) {
      const clusters: KafkajsCluster[] = [];
      const brokers: KafkajsBroker[] = [];
      for (let c = 0; c < consumers; c++) {
        const cluster = kafkajsCluster(kafka);
        await cluster.connect();
        await cluster.addTargetTopic(topic);
        const leader =
          cluster.findTopicPartitionMetadata(topic).find((m) => m.partitionId === c)?.leader ?? 0;
        brokers.push(await cluster.findBroker({ nodeId: String(leader) }));
        clusters.push(cluster);
      }
      try {
        const cursors: Record<DoorMode, number[]> = {
          lib: new Array<number>(consumers).fill(0),
          http: new Array<number>(consumers).fill(0),
          kafka: new Array<number>(consumers).fill(0),
        };
        /** Checks a read's values and moves the consumer's cursor (back to 0 at the end). */
        const advance = (mode: DoorMode, consumer: number, values: number[], next: number) => {
          const from = cursors[mode][consumer] as number;
          if (values.length === 0) throw new Error(`${mode} read nothing at offset ${from} of ${end}`);
          if (values.some((v) => v !== shape.valueBytes))
            throw new Error(`${mode}: a value of the wrong size`);
          cursors[mode][consumer] = next >= end ? 0 : next;
          return { bytes: sum(values), records: values.length };
        };
        const modes: Record<DoorMode, Call> = {
          lib: async (_, c) => {
            const out = await reader.fetch({
              topic,
              partition: c,
              offset: cursors.lib[c] as number,
              maxRecords: 10_000,
              maxBytes: FETCH_MAX_BYTES,
            });
            return advance(
              'lib',
              c,
              out.records.map((r) => r.value?.length ?? 0),
              out.nextOffset,
            );
          },
          http: async (_, c) => {
            const out = await transport.fetch({
              topic,
              partition: c,
              offset: cursors.http[c] as number,
              maxRecords: 10_000,
              maxBytes: FETCH_MAX_BYTES,
            });
            return advance(
              'http',
              c,
              out.records.map((r) => r.value?.length ?? 0),
              out.nextOffset,
            );
          },
          kafka: async (_, c) => {
            const from = cursors.kafka[c] as number;
            const out = await (brokers[c] as KafkajsBroker).fetch({
              isolationLevel: 0,
              maxWaitTime: 100,
              minBytes: 1,
              maxBytes: FETCH_MAX_BYTES,
              topics: [
                {
                  topic,
                  partitions: [{ partition: c, fetchOffset: String(from), maxBytes: FETCH_MAX_BYTES }],
                },
              ],
            });
            const p = out.responses[0]?.partitions[0];
            if (p === undefined) throw new Error('kafka fetch: no partition in the response');
            if (p.errorCode !== 0) throw new Error(`kafka fetch error code ${p.errorCode}`);
            // A batch may start before the offset asked for: the consumer drops those messages too.
            const messages = p.messages.filter((m) => Number(m.offset) >= from);
            const last = messages.at(-1);
            if (last !== undefined && Number(messages[0]?.offset) !== from) {
              throw new Error(`kafka fetch from ${from} began at ${messages[0]?.offset}`);
            }
            return advance(
              'kafka',
              c,
              messages.map((m) => m.value?.length ?? 0),
              last === undefined ? from : Number(last.offset) + 1,
            );
          },
        };
        const options = {
          concurrency: consumers,
          budgetMs: config.budgetMs / config.rounds,
          maxCalls: 1_000_000,
        };
        const group =
          consumers === 1
            ? (round: number) =>
                groupRound(kafka, groupTopic, `${groupTopic}-r${round}`, shape, end, options.budgetMs)
            : undefined;
        const {
          loads,
          kafkaCpuMs,
          group: groupLoad,
          groupCpuMs,
        } = await alternate(modes, options, config.rounds, server, group);
        if (groupLoad !== undefined && groupLoad.errors > 0) {
          problems.push(
            `kafka consume ${shape.id} group consumer: ${groupLoad.errors} batches failed (${groupLoad.firstError})`,
          );
        }
        for (const mode of ['lib', 'http', 'kafka'] as const) {
          if (loads[mode].errors > 0) {
            problems.push(
              `kafka consume ${shape.id} consumers=${consumers} ${mode}: ${loads[mode].errors} of ${loads[mode].calls} reads failed (${loads[mode].firstError})`,
            );
          }
        }
        const base = cellOf('consume', shape, consumers, loads, kafkaCpuMs);
        const groupT = groupLoad === undefined ? undefined : throughput(groupLoad);
        const cell: KafkaCell =
          groupT === undefined || groupLoad === undefined
            ? base
            : {
                ...base,
                kafkaGroup: groupT,
                kafkaGroupVsLib: ratio(groupT.mibPerSec, base.lib.mibPerSec),
                kafkaGroupServerCpuMsPerMiB: round(groupCpuMs / (groupLoad.bytes / MiB), 2),
              };
        cells.push(cell);
        if (groupT !== undefined) {
          log(
            `kafka consume ${shape.id} one-member group: ${groupT.mibPerSec} MiB/s (${cell.kafkaGroupVsLib}x lib, p50 ${groupT.p50Ms} ms between batches)`,
          );
        }
        log(
          `kafka consume ${shape.id} consumers=${consumers}: lib ${cell.lib.mibPerSec} MiB/s (p50 ${cell.lib.p50Ms} ms), ` +
            `http ${cell.http.mibPerSec} (${cell.httpVsLib}x, p50 ${cell.http.p50Ms}), ` +
            `kafka ${cell.kafka.mibPerSec} (${cell.kafkaVsLib}x, p50 ${cell.kafka.p50Ms})`,
        );
      } finally {
        await Promise.all(clusters.map((c) => c.disconnect()));
      }
    }
  }
  return { cells, problems };
}

/**
 * One round of kafkajs's consumer in a fresh one-member group (its own group id, from the beginning):
 * from the group join (GROUP_JOIN) for `budgetMs`, every batch handed to eachBatch is counted and checked,
 * its latency the time since the previous batch (the first: since the join). At the high watermark it
 * seeks back to 0, as the other modes go round again. Then it leaves the group (disconnect).
 */
async function groupRound(
  kafka: Kafka,
  topic: string,
  groupId: string,
  shape: Shape,
  end: number,
  budgetMs: number,
): Promise<LoadResult> {
  const consumer = kafka.consumer({
    groupId,
    maxBytes: FETCH_MAX_BYTES,
    maxBytesPerPartition: FETCH_MAX_BYTES,
    maxWaitTimeInMs: 100,
    allowAutoTopicCreation: false,
  });
  const latenciesMs: number[] = [];
  let bytes = 0;
  let records = 0;
  let calls = 0;
  let errors = 0;
  let firstError: string | undefined;
  let start = 0;
  let last = 0;
  let finished = false;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  consumer.on(consumer.events.GROUP_JOIN, () => {
    start = performance.now();
    last = start;
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        if (finished) return;
        const now = performance.now();
        calls++;
        const values = batch.messages.map((m) => m.value?.length ?? 0);
        if (values.length === 0 || values.some((v) => v !== shape.valueBytes)) {
          errors++;
          firstError ??= `a batch of ${values.length} values, not all of ${shape.valueBytes} bytes`;
        } else {
          latenciesMs.push(now - last);
          bytes += sum(values);
          records += values.length;
        }
        last = now;
        if (Number(batch.lastOffset()) >= end - 1)
          consumer.seek({ topic, partition: batch.partition, offset: '0' });
        if (now - start >= budgetMs) {
          finished = true;
          finish();
        }
      },
    });
    const timeout = new Promise<'timeout'>((resolve) =>
      setTimeout(() => resolve('timeout'), budgetMs + 30_000).unref(),
    );
    if ((await Promise.race([done, timeout])) === 'timeout') {
      errors++;
      firstError ??= `the group consumer read ${calls} batches in ${budgetMs + 30_000} ms`;
    }
  } finally {
    await consumer.disconnect();
  }
  return {
    calls,
    errors,
    wallMs: last - start,
    bytes,
    records,
    latenciesMs,
    ...(firstError === undefined ? {} : { firstError }),
  };
}

const METHOD = [
  'Kafka server: lib/kafka/server startKafkaServer in a child process of its own (bench/suites/kafka-server.ts), own engine over the bench MinIO + DynamoDB Local, no groups',
  'HTTP: HttpTransport (binary codec, the SDK default) against the bench HTTP server process',
  'lib: Streambed.produce / fetch in the bench process (the floor of this suite)',
  'produce: ~1 MiB per call to one partition (1,024 x 1 KiB or 10 x 100 KiB); kafkajs has no linger, so each send carries the batch a linger would gather; kafkajs producer defaults (acks -1, no compression, not idempotent), one producer (connection) per call in flight',
  'consume: kafkajs broker.fetch (Fetch v11, kafkajs decoding) from offset 0 to the high watermark and round again, 3 MiB per fetch in every mode; one consumer per partition',
  'consume, one consumer: also kafkajs consumer.run (eachBatch) in a fresh one-member group per round on a one-partition topic of the same data, timed from GROUP_JOIN; latency = time between batches',
  'rounds alternate the order lib -> http -> kafka and back; one warm-up call per worker and mode',
];

export async function kafkaSuite(
  config: KafkaConfig,
  stack: BenchStack,
  api: HttpApi,
  log: (line: string) => void,
): Promise<KafkaResults> {
  const atStart = os.loadavg().map((v) => round(v, 2));
  const run = Math.random().toString(16).slice(2, 6);
  const server = await startKafkaChild(stack);
  log(`kafka: server process on 127.0.0.1:${server.port}`);
  try {
    const produce = await produceCells(config, stack, api.url, server, run, log);
    const consume = await consumeCells(config, stack, api.url, server, run, log);
    const problems = [...consume.problems];
    for (const cell of produce) {
      for (const mode of ['lib', 'http', 'kafka'] as const) {
        if (cell[mode].errors > 0) {
          problems.push(
            `kafka produce ${cell.shape} c=${cell.concurrency} ${mode}: ${cell[mode].errors} of ${cell[mode].calls} calls failed (${cell[mode].firstError})`,
          );
        }
      }
    }
    return {
      config,
      server: 'child process (bench/suites/kafka-server.ts)',
      consumeMethod:
        'kafkajs broker.fetch loop by offset (1 and 4 consumers), and kafkajs consumer.run in a one-member group (1 consumer)',
      loadAverage: { atStart, atEnd: os.loadavg().map((v) => round(v, 2)) },
      produce,
      consume: consume.cells,
      problems,
      method: METHOD,
    };
  } finally {
    await server.close();
  }
}
