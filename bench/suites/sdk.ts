/**
 * Issue 11's figures for the client SDK (`npm run bench -- --only sdk`, docs/bench.md "Client SDK"):
 *
 * 1. Cost per million 1 KiB records when 16 producers, each from its own client with the SDK's
 *    defaults (`client.producer()`), each send one record per millisecond: through the HTTP API (a
 *    server process of the suite's own whose clients count request units, sdk-server.ts: API Gateway
 *    per 512 KB, Lambda invocations and GB-seconds at the produce function's memory, S3 PUTs,
 *    DynamoDB's reported units) and over the direct transport (S3 + DynamoDB only). The rate reached
 *    and the records the SDK put in each request are measured, not assumed.
 * 2. The producer's latency (send() → `delivered`, linger included) at that load and at a light one
 *    (one producer, one record every 10 ms).
 * 3. HTTP produce of 1 MiB requests and HTTP fetch of 1 MiB batches, per codec (JSON, and the
 *    transport's default), as a ratio of the raw S3 + DynamoDB floor measured in the same run; beside
 *    produce, the gateway floor (the floor's calls behind the local API's HTTP handling and API Gateway
 *    event, bench/support/gateway-floor-server.ts): the most any HTTP produce can reach here.
 */
import { randomBytes } from 'node:crypto';
import { binaryCodec } from '../../lib/client/binary-codec.ts';
import { StreambedClient } from '../../lib/client/client.ts';
import { DirectTransport } from '../../lib/client/direct-transport.ts';
import { HttpTransport } from '../../lib/client/http-transport.ts';
import { jsonCodec } from '../../lib/client/json-codec.ts';
import { LAMBDA_MEMORY_MB, PRICES } from '../prices.ts';
import { startGatewayFloor } from '../support/gateway-floor.ts';
import type { HttpApi } from '../support/http-client.ts';
import { MiB, round } from '../support/load.ts';
import type { BenchStack } from '../support/stack.ts';
import {
  type CodecBudget,
  type CodecCell,
  type CodecUnderTest,
  codecFetch,
  codecProduce,
  SDK_CONSUMER_LABEL,
  transportCodecOf,
} from './sdk-codec.ts';
import { type ProducerRun, type RunTarget, runProducers, startCountedApi } from './sdk-load.ts';

export interface SdkConfig {
  readonly load: {
    readonly producers: number;
    readonly intervalMs: number;
    readonly partitions: number;
    readonly durationMs: number;
  };
  /** One producer at the issue's per-producer rate: how the SDK batches when the server keeps up. */
  readonly solo: { readonly producers: number; readonly intervalMs: number; readonly durationMs: number };
  readonly light: { readonly producers: number; readonly intervalMs: number; readonly durationMs: number };
  readonly codec: CodecBudget;
}

export const SDK_FULL: SdkConfig = {
  load: { producers: 16, intervalMs: 1, partitions: 8, durationMs: 20_000 },
  solo: { producers: 1, intervalMs: 1, durationMs: 10_000 },
  light: { producers: 1, intervalMs: 10, durationMs: 15_000 },
  codec: {
    produceConcurrency: [1, 8],
    fetchConsumers: [1, 4],
    budgetMs: 6_000,
    warmCalls: 60,
    rounds: 2,
    maxCalls: 250,
    bytesPerPartition: 40 * MiB,
  },
};

export const SDK_QUICK: SdkConfig = {
  load: { ...SDK_FULL.load, durationMs: 1_500 },
  solo: { ...SDK_FULL.solo, durationMs: 1_000 },
  light: { ...SDK_FULL.light, durationMs: 1_000 },
  codec: {
    produceConcurrency: [1],
    fetchConsumers: [1],
    budgetMs: 300,
    warmCalls: 0,
    rounds: 1,
    maxCalls: 8,
    bytesPerPartition: 2 * MiB,
  },
};

/** The producer's defaults, read from a producer made with no options (producer.ts). */
export interface ProducerDefaults {
  readonly lingerMs: number;
  readonly batchRecords: number;
  readonly batchBytes: number;
  readonly maxInFlight: number;
  readonly idempotent: boolean;
}

/** What a run's measured cost per request means at the rate the issue asks for (computed, not measured). */
export interface FullRateProjection {
  readonly transport: 'http' | 'direct';
  readonly usdPerRequest: number;
  /** Records per request of one producer at 1 record/ms (the `solo` run: the server keeps up). */
  readonly recordsPerRequest: number;
  readonly usdPerMillionRecords: number;
  readonly target: number;
  /** Records per request the target needs at this cost per request, and the linger that gives them at 1 record/ms. */
  readonly recordsPerRequestForTarget: number;
  readonly lingerMsForTarget: number;
}

/**
 * The API runs' cost with each invocation billed at the light run's server-side p50 instead of its own
 * durations: one server process answering ~80 requests at once queues them, which a Lambda function
 * (one request per instance) does not.
 */
export interface UncontendedLambda {
  readonly run: 'load' | 'solo' | 'light';
  readonly lambdaMs: number;
  readonly usdPerMillionRecords: number;
}

export interface SdkTarget {
  readonly target: string;
  readonly status: 'met' | 'missed';
  readonly measured: string;
}

export interface SdkResults {
  readonly defaults: ProducerDefaults;
  readonly config: SdkConfig;
  readonly load: { readonly http: ProducerRun; readonly direct: ProducerRun };
  readonly solo: { readonly http: ProducerRun; readonly direct: ProducerRun };
  readonly light: { readonly http: ProducerRun; readonly direct: ProducerRun };
  readonly fullRate: FullRateProjection[];
  readonly uncontendedLambda: UncontendedLambda[];
  readonly codecs: { readonly produce: CodecCell[]; readonly fetch: CodecCell[] };
  readonly targets: SdkTarget[];
  readonly problems: string[];
  readonly method: string[];
}

const TARGETS = { httpUsdPerMillion: 0.1, directUsdPerMillion: 0.02, produceVsFloor: 0.7, fetchVsFloor: 0.6 };

export function sdkConfig(mode: 'quick' | 'full', scale: number): SdkConfig {
  const base = mode === 'quick' ? SDK_QUICK : SDK_FULL;
  const ms = (value: number) => Math.max(1, Math.round(value * scale));
  return {
    load: { ...base.load, durationMs: ms(base.load.durationMs) },
    solo: { ...base.solo, durationMs: ms(base.solo.durationMs) },
    light: { ...base.light, durationMs: ms(base.light.durationMs) },
    codec: { ...base.codec, budgetMs: ms(base.codec.budgetMs) },
  };
}

function producerDefaults(url: string): ProducerDefaults {
  const producer = new StreambedClient({ endpoint: url, auth: 'none' }).producer();
  const p = (producer as unknown as { config: ProducerDefaults }).config;
  const defaults = {
    lingerMs: p.lingerMs,
    batchRecords: p.batchRecords,
    batchBytes: p.batchBytes,
    maxInFlight: p.maxInFlight,
    idempotent: p.idempotent,
  };
  // The producer's private shape may change: fail here rather than report nothing.
  for (const [name, value] of Object.entries(defaults)) {
    if (value === undefined) throw new Error(`the producer has no ${name}: update producerDefaults`);
  }
  return defaults;
}

export async function sdkSuite(
  config: SdkConfig,
  stack: BenchStack,
  api: HttpApi,
  log: (line: string) => void,
): Promise<SdkResults> {
  const run = randomBytes(2).toString('hex');
  const engine = stack.engine();
  const counted = await startCountedApi({
    endpoints: stack.endpoints,
    bucket: stack.bucket,
    tables: stack.tables,
  });
  const direct = stack.costClients();
  const problems: string[] = [];
  try {
    const defaults = producerDefaults(counted.url);
    const httpTarget: RunTarget = {
      kind: 'http',
      transport: () => new HttpTransport({ endpoint: counted.url, auth: 'none' }),
      reset: () => counted.reset(),
      snapshot: () => counted.snapshot(),
    };
    const directTarget: RunTarget = {
      kind: 'direct',
      transport: () =>
        new DirectTransport({
          s3: direct.s3,
          dynamodb: direct.dynamodb,
          bucket: stack.bucket,
          tables: stack.tables,
        }),
      reset: async () => direct.instruments.reset(),
      snapshot: async () => ({ snapshot: direct.instruments.snapshot() }),
    };
    const producerRun = async (target: RunTarget, which: 'load' | 'solo' | 'light') => {
      const topic = `sdk-${which}-${target.kind}-${run}`;
      const partitions = config.load.partitions;
      await engine.createTopic({ name: topic, partitions });
      const shape = config[which];
      const result = await runProducers(target, { topic, partitions, ...shape });
      log(
        `sdk ${which} ${target.kind}: ${result.producers} producers × 1 record/${result.intervalMs} ms → ` +
          `${result.recordsPerSec} records/s sent (offered ${result.offeredRecordsPerSec}), ${result.deliveredPerSec}/s acknowledged, drain ${result.drainMs} ms, ` +
          `${result.requests.recordsPerRequest.mean} records/request, latency p50 ${result.latency.p50Ms} / p99 ` +
          `${result.latency.p99Ms} ms, $${result.cost.usdPerMillionRecords.total} per million records, errors ` +
          `${JSON.stringify(result.requests.errors)}`,
      );
      if (result.failed > 0) {
        problems.push(
          `sdk ${which} ${target.kind}: ${result.failed} of ${result.records} records failed (${result.firstError})`,
        );
      }
      return result;
    };
    const load = {
      http: await producerRun(httpTarget, 'load'),
      direct: await producerRun(directTarget, 'load'),
    };
    const solo = {
      http: await producerRun(httpTarget, 'solo'),
      direct: await producerRun(directTarget, 'solo'),
    };
    const light = {
      http: await producerRun(httpTarget, 'light'),
      direct: await producerRun(directTarget, 'light'),
    };
    const fullRate = (['http', 'direct'] as const).map((kind): FullRateProjection => {
      const r = load[kind];
      const target = kind === 'http' ? TARGETS.httpUsdPerMillion : TARGETS.directUsdPerMillion;
      const recordsPerRequest = solo[kind].requests.recordsPerRequest.mean;
      const forTarget = (r.cost.perRequest.usd * 1e6) / target;
      return {
        transport: kind,
        usdPerRequest: r.cost.perRequest.usd,
        recordsPerRequest,
        usdPerMillionRecords: round((r.cost.perRequest.usd / recordsPerRequest) * 1e6, 4),
        target,
        recordsPerRequestForTarget: round(forTarget, 1),
        lingerMsForTarget: Math.ceil(forTarget),
      };
    });

    const lightMs = Math.ceil(light.http.cost.counted.lambdaMs?.p50Ms ?? Number.NaN);
    const uncontendedLambda = (['load', 'solo', 'light'] as const).map((which): UncontendedLambda => {
      const r = { load, solo, light }[which].http;
      const c = r.cost;
      const gbSeconds = (LAMBDA_MEMORY_MB.produce / 1024) * ((c.counted.lambdaInvocations * lightMs) / 1000);
      const lambdaUsd = (gbSeconds * PRICES.lambdaArmGbSecond.usd * 1e6) / Math.max(1, r.delivered);
      return {
        run: which,
        lambdaMs: lightMs,
        usdPerMillionRecords: round(
          c.usdPerMillionRecords.total - c.usdPerMillionRecords.lambdaDuration + lambdaUsd,
          4,
        ),
      };
    });

    // Codecs: JSON, the transport's default, and binary by name when the default is something else.
    const defaultCodec = transportCodecOf(api.url, undefined);
    const codecs: CodecUnderTest[] = [
      { label: 'jsonCodec', codec: jsonCodec },
      { label: defaultCodec === binaryCodec ? 'default (binaryCodec)' : 'default', codec: undefined },
      ...(defaultCodec === binaryCodec ? [] : [{ label: 'binaryCodec', codec: binaryCodec }]),
    ];
    const gateway = await startGatewayFloor({
      endpoints: stack.endpoints,
      bucket: stack.bucket,
      table: stack.tables.log,
    });
    const produce = await codecProduce(stack, api.url, codecs, config.codec, run, gateway.url).finally(() =>
      gateway.close(),
    );
    for (const cell of produce) logCell(cell, log);
    // Fetch also shows binary frames through the API (the default reads batches from the bucket).
    const fetchCodecs: CodecUnderTest[] =
      defaultCodec === binaryCodec
        ? [
            ...codecs,
            { label: 'binaryCodec, frames (directReads: false)', codec: binaryCodec, directReads: false },
          ]
        : codecs;
    const fetch = await codecFetch(stack, api.url, fetchCodecs, config.codec, run, log);
    for (const cell of fetch) logCell(cell, log);
    // A mode whose calls failed measured something else: say so with the figures.
    for (const cell of [...produce, ...fetch]) {
      const modes = [
        { label: 'floor', result: cell.floor },
        ...(cell.gatewayFloor === undefined ? [] : [cell.gatewayFloor]),
        ...cell.rows,
      ];
      for (const mode of modes.filter((m) => m.result.errors > 0)) {
        problems.push(`sdk ${cell.kind} c=${cell.concurrency} ${mode.label}:${errorText(mode.result)}`);
      }
    }

    // Fetch is judged on what the SDK's consumer reaches with its defaults (read-ahead over binary
    // bodies), produce on the transport's default codec; the other rows are shown beside them.
    const binaryRows = (cells: CodecCell[]) =>
      cells.map((cell) => ({
        cell,
        row:
          cell.rows.find((row) => row.label === SDK_CONSUMER_LABEL) ??
          cell.rows.find((row) => row.label.includes('binaryCodec')) ??
          cell.rows.at(-1),
      }));
    const ratioTarget = (kind: 'produce' | 'fetch', cells: CodecCell[], limit: number): SdkTarget => {
      const rows = binaryRows(cells);
      return {
        target: `HTTP ${kind} of 1 MiB ${kind === 'produce' ? 'requests' : 'batches'} with binary bodies ≥ ${limit}× the floor`,
        // A failed call makes a ratio meaningless (a failing floor inflates it): not met.
        status: rows.every(
          ({ cell, row }) =>
            (row?.vsFloor ?? 0) >= limit && cell.floor.errors === 0 && (row?.result.errors ?? 1) === 0,
        )
          ? 'met'
          : 'missed',
        measured: rows
          .map(
            ({ cell, row }) =>
              `${kind === 'produce' ? 'c' : 'consumers '}=${cell.concurrency}: ${row?.vsFloor}×` +
              (cell.floor.errors + (row?.result.errors ?? 0) > 0 ? ' (calls failed: see problems)' : ''),
          )
          .join('; '),
      };
    };
    const costTarget = (r: ProducerRun, limit: number): SdkTarget => ({
      target: `$ per million 1 KiB records, 16 default producers at 1 record/ms, ${r.transport === 'http' ? 'through the API' : 'direct'} ≤ $${limit}`,
      status: r.cost.usdPerMillionRecords.total <= limit ? 'met' : 'missed',
      measured:
        `$${r.cost.usdPerMillionRecords.total} at ${r.recordsPerSec} records/s sent, ` +
        `${r.deliveredPerSec}/s acknowledged (${r.requests.recordsPerRequest.mean} records/request)`,
    });
    const targets = [
      costTarget(load.http, TARGETS.httpUsdPerMillion),
      costTarget(load.direct, TARGETS.directUsdPerMillion),
      ratioTarget('produce', produce, TARGETS.produceVsFloor),
      ratioTarget('fetch', fetch, TARGETS.fetchVsFloor),
    ];
    for (const t of targets) log(`sdk target [${t.status.toUpperCase()}] ${t.target}: ${t.measured}`);
    return {
      defaults,
      config,
      load,
      solo,
      light,
      fullRate,
      uncontendedLambda,
      codecs: { produce, fetch },
      targets,
      problems,
      method: [
        'Producers: one StreambedClient per producer, client.producer() with no options; keyless 1 KiB records (sticky ' +
          'partition per request); each producer calls send() on its own setInterval; receipts are collected and ' +
          'awaited in bulk after the timers stop. One record per producer is sent and flushed first, then counters reset.',
        'Latency: performance.now() at send() → the delivered promise resolved.',
        'Records per request: counted on a proxy of the transport, every produce attempt (retries included).',
        'HTTP cost: counted in a server process of its own (bench/suites/sdk-server.ts, the npm start handlers) with ' +
          'ReturnConsumedCapacity on every DynamoDB request; transactions doubled, failed conditional writes estimated as ' +
          'in the cost suite. API Gateway: ceil(content-length / 512 KB), at least 1, per request. Lambda: one ' +
          `invocation per request at the produce function's memory, billed ms = request arrival → answer sent, rounded up.`,
        'Direct cost: the cost clients of the stack (S3 PUTs + DynamoDB units), no API Gateway or Lambda.',
        'Codecs: HttpTransport.produce / fetch on the bench HTTP server (no capacity accounting), the codec encoding ' +
          'and decoding each call; floors as the produce and fetch suites (PutObject + conditional PutItem; ranged ' +
          'GETs, 8 in flight per consumer). Each produce mode makes warmCalls calls unmeasured first (the services warm up), then ' +
          "the modes alternate. The gateway floor (bench/support/gateway-floor-server.ts) makes the floor's calls in a " +
          'server process of its own after reading each request as npm start does, building the same API Gateway event ' +
          '(the body base64-encoded) and decoding it as the handler does: the most an HTTP produce can reach here.',
      ],
    };
  } finally {
    await counted.close();
  }
}

/** ` [CPU 12.3 ms/MiB: bench 4, server 6, minio 2, dynamodb 0.3]`, or nothing when not measured. */
function cpuText(cpu: CodecCell['floorCpuPerMiB']): string {
  if (cpu === undefined) return '';
  return ` [CPU ${cpu.total} ms/MiB: bench ${cpu.bench}, server ${cpu.server}, minio ${cpu.minio}, dynamodb ${cpu.dynamodb}]`;
}

/** ` 3 errors: <the first>`, or nothing. */
function errorText(result: CodecCell['floor']): string {
  return result.errors > 0 ? ` ${result.errors} errors: ${result.firstError}` : '';
}

function logCell(cell: CodecCell, log: (line: string) => void): void {
  log(
    `sdk ${cell.kind} 1 MiB, ${cell.kind === 'produce' ? 'concurrency' : 'consumers'} ${cell.concurrency}: floor ` +
      `${cell.floor.mibPerSec} MiB/s${cpuText(cell.floorCpuPerMiB)}; ${cell.gatewayFloor === undefined ? '' : `gateway floor ${cell.gatewayFloor.result.mibPerSec} MiB/s (${cell.gatewayFloor.vsFloor}×)${cpuText(cell.gatewayFloor.cpuPerMiB)}${errorText(cell.gatewayFloor.result)}; `}${cell.rows.map((r) => `${r.label} [${r.contentType}] ${r.result.mibPerSec} MiB/s (${r.vsFloor}×)${cpuText(r.cpuPerMiB)}${errorText(r.result)}`).join('; ')}`,
  );
}
