import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { TableNames } from '../../lib/adapters/dynamodb/tables.ts';
import { StreambedClient } from '../../lib/client/client.ts';
import type { Producer } from '../../lib/client/producer.ts';
import type { Transport, TransportProduceRequest } from '../../lib/client/transport.ts';
import type { ServiceEndpoints } from '../../lib/harness/services.ts';
import { LAMBDA_MEMORY_MB, PRICES } from '../prices.ts';
import { count, DDB_WRITES, failedConditions, type InstrumentSnapshot } from '../support/instrument.ts';
import { describeError, percentile, round, sum } from '../support/load.ts';
import type { ServedRoute } from './sdk-server.ts';

/** The `sdk` suite's HTTP API: a child process whose clients count request units (sdk-server.ts). */
export interface CountedApi {
  readonly url: string;
  snapshot(): Promise<{ snapshot: InstrumentSnapshot; served: Record<string, ServedRoute> }>;
  reset(): Promise<void>;
  close(): Promise<void>;
}

export async function startCountedApi(options: {
  endpoints: ServiceEndpoints;
  bucket: string;
  tables: TableNames;
}): Promise<CountedApi> {
  const child: ChildProcess = fork(fileURLToPath(new URL('./sdk-server.ts', import.meta.url)), [], {
    env: { ...process.env, STREAMBED_SDK_SERVER: JSON.stringify(options) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  type Reply = { id?: number; snapshot?: InstrumentSnapshot; served?: Record<string, ServedRoute> };
  const pending = new Map<number, (reply: Reply) => void>();
  let nextId = 0;
  const url = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the sdk suite's HTTP server exited with ${code}`)));
    child.on('message', (message: Reply & { type?: string; url?: string }) => {
      if (message.type === 'ready' && message.url !== undefined) resolve(message.url);
      else if (message.id !== undefined) {
        pending.get(message.id)?.(message);
        pending.delete(message.id);
      }
    });
  });
  child.removeAllListeners('exit');
  const ask = (type: 'snapshot' | 'reset') =>
    new Promise<Reply>((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      child.send({ type, id });
    });
  return {
    url,
    snapshot: async () => {
      const reply = await ask('snapshot');
      if (reply.snapshot === undefined || reply.served === undefined) throw new Error('no snapshot');
      return { snapshot: reply.snapshot, served: reply.served };
    },
    reset: async () => {
      await ask('reset');
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.send({ type: 'close' });
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}

/** What the producers asked of their transport: one entry per produce attempt (retries included). */
export class TransportCounts {
  attempts = 0;
  recordsPerAttempt: number[] = [];
  /** Failed attempts by error code (OutOfOrderSequence, Throttled, …). */
  errors: Record<string, number> = {};

  reset(): void {
    this.attempts = 0;
    this.recordsPerAttempt = [];
    this.errors = {};
  }
}

/** The transport, with every produce attempt counted (records per request, errors by code). */
export function counting(inner: Transport, counts: TransportCounts): Transport {
  return new Proxy(inner, {
    get(target, property) {
      if (property === 'produce') {
        return async (request: TransportProduceRequest) => {
          counts.attempts++;
          counts.recordsPerAttempt.push(request.records.length);
          try {
            return await target.produce(request);
          } catch (error) {
            const code = (error as { code?: unknown }).code;
            const name = typeof code === 'string' ? code : error instanceof Error ? error.name : 'Error';
            counts.errors[name] = (counts.errors[name] ?? 0) + 1;
            throw error;
          }
        };
      }
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

export interface Latency {
  readonly samples: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
}

export const latencyOf = (samples: readonly number[]): Latency => ({
  samples: samples.length,
  p50Ms: round(percentile(samples, 50), 2),
  p90Ms: round(percentile(samples, 90), 2),
  p99Ms: round(percentile(samples, 99), 2),
  maxMs: round(samples.length === 0 ? Number.NaN : samples.reduce((a, b) => Math.max(a, b), 0), 2),
  meanMs: round(samples.length === 0 ? Number.NaN : sum(samples) / samples.length, 2),
});

/** One run of `producers` default producers, each sending a 1 KiB record every `intervalMs`. */
export interface ProducerRun {
  readonly transport: 'http' | 'direct';
  readonly producers: number;
  readonly intervalMs: number;
  readonly partitions: number;
  /** What the timers ask for: producers × 1000 / intervalMs. */
  readonly offeredRecordsPerSec: number;
  readonly sendSeconds: number;
  /** Records handed to send() while the timers ran, and per second of that window. */
  readonly records: number;
  readonly recordsPerSec: number;
  readonly delivered: number;
  /** Records acknowledged per second, from the start to the last acknowledgement (the rate kept up). */
  readonly deliveredPerSec: number;
  readonly failed: number;
  readonly firstError?: string;
  /** From the timers' stop to the last acknowledgement. */
  readonly drainMs: number;
  /** send() called → its `delivered` promise resolved (linger, queueing and the request). */
  readonly latency: Latency;
  readonly requests: {
    /** Produce requests the producers sent (attempts, retries included). */
    readonly produceAttempts: number;
    readonly recordsPerRequest: {
      readonly mean: number;
      readonly p50: number;
      readonly min: number;
      readonly max: number;
    };
    /** Failed produce attempts by error code (e.g. OutOfOrderSequence: pipelined requests overtaking). */
    readonly errors: Record<string, number>;
  };
  readonly cost: RunCost;
}

/** What the run's requests cost at bench/prices.ts, counted (never estimated from code paths). */
export interface RunCost {
  readonly counted: {
    readonly s3Puts: number;
    readonly s3OtherRequests: number;
    readonly ddbRequests: Record<string, number>;
    readonly ddbWrites: number;
    readonly failedConditions: number;
    /** DynamoDB Local's reported units (transactions doubled) + failed conditional writes estimated. */
    readonly wru: number;
    readonly rru: number;
    readonly apiGatewayUnits: number;
    readonly lambdaInvocations: number;
    readonly lambdaGbSeconds: number;
    /** Server side: request arrival → answer sent, per request (HTTP only). */
    readonly lambdaMs: Latency | null;
    readonly servedRoutes: Record<
      string,
      { requests: number; bodyBytes: number; statuses: Record<string, number> }
    >;
  };
  readonly perRequest: { readonly wru: number; readonly usd: number };
  /** $ per million records delivered, by line. */
  readonly usdPerMillionRecords: {
    readonly total: number;
    readonly s3: number;
    readonly dynamodb: number;
    readonly apiGateway: number;
    readonly lambdaRequests: number;
    readonly lambdaDuration: number;
  };
}

const usd = {
  s3Put: PRICES.s3PutPer1000.usd / 1000,
  s3Get: PRICES.s3GetPer1000.usd / 1000,
  wru: PRICES.ddbWriteRequestUnitPerMillion.usd / 1e6,
  rru: PRICES.ddbReadRequestUnitPerMillion.usd / 1e6,
  apiGw: PRICES.apiGatewayHttpPerMillion.usd / 1e6,
  lambdaRequest: PRICES.lambdaRequestPerMillion.usd / 1e6,
  lambdaGbSecond: PRICES.lambdaArmGbSecond.usd,
};

function costOf(
  snapshot: InstrumentSnapshot,
  served: Record<string, ServedRoute> | undefined,
  produceRequests: number,
  delivered: number,
): RunCost {
  const s3Puts = count(snapshot.requests, 's3:', ['PutObject']);
  const s3Other = count(snapshot.requests, 's3:') - s3Puts;
  const wru = snapshot.capacity.write + snapshot.capacity.failedWriteEstimate;
  const rru = snapshot.capacity.read;
  const routes = Object.values(served ?? {});
  const apiGatewayUnits = sum(routes.map((r) => r.apiGatewayUnits));
  const lambdaInvocations = sum(routes.map((r) => r.requests));
  const gbSeconds = (LAMBDA_MEMORY_MB.produce / 1024) * (sum(routes.map((r) => r.billedMs)) / 1000);
  const lines = {
    s3: s3Puts * usd.s3Put + s3Other * usd.s3Get,
    dynamodb: wru * usd.wru + rru * usd.rru,
    apiGateway: apiGatewayUnits * usd.apiGw,
    lambdaRequests: lambdaInvocations * usd.lambdaRequest,
    lambdaDuration: gbSeconds * usd.lambdaGbSecond,
  };
  const total = sum(Object.values(lines));
  const perMillion = (value: number) => round((value / Math.max(1, delivered)) * 1e6, 4);
  return {
    counted: {
      s3Puts,
      s3OtherRequests: s3Other,
      ddbRequests: Object.fromEntries(
        Object.entries(snapshot.requests).filter(([n]) => n.startsWith('ddb:')),
      ),
      ddbWrites: count(snapshot.requests, 'ddb:', DDB_WRITES),
      failedConditions: failedConditions(snapshot.errors),
      wru: round(wru, 1),
      rru: round(rru, 1),
      apiGatewayUnits,
      lambdaInvocations,
      lambdaGbSeconds: round(gbSeconds, 3),
      lambdaMs: served === undefined ? null : latencyOf(routes.flatMap((r) => r.durationsMs)),
      servedRoutes: Object.fromEntries(
        Object.entries(served ?? {}).map(([route, r]) => [
          route,
          { requests: r.requests, bodyBytes: r.bodyBytes, statuses: r.statuses },
        ]),
      ),
    },
    perRequest: {
      wru: round(wru / Math.max(1, produceRequests), 3),
      usd: round(total / Math.max(1, produceRequests), 9),
    },
    usdPerMillionRecords: {
      total: perMillion(total),
      s3: perMillion(lines.s3),
      dynamodb: perMillion(lines.dynamodb),
      apiGateway: perMillion(lines.apiGateway),
      lambdaRequests: perMillion(lines.lambdaRequests),
      lambdaDuration: perMillion(lines.lambdaDuration),
    },
  };
}

/** Where a run's requests are counted: the counted HTTP API, or the direct transport's cost clients. */
export interface RunTarget {
  readonly kind: 'http' | 'direct';
  /** A new transport for one producer instance (each producer has its own client). */
  transport(): Transport;
  reset(): Promise<void>;
  snapshot(): Promise<{ snapshot: InstrumentSnapshot; served?: Record<string, ServedRoute> }>;
}

/**
 * `producers` producers, each from its own StreambedClient with the SDK's default settings
 * (`client.producer()`), each sending one 1 KiB keyless record every `intervalMs` for `durationMs` on
 * an open-loop schedule (a late timer sends every record due by then). The sends are not awaited one by one: every receipt is collected and awaited in bulk
 * after the timers stop. Each producer first sends one record and flushes (topic lookup, producer id,
 * connections), then the counters are reset.
 */
export async function runProducers(
  target: RunTarget,
  options: {
    readonly topic: string;
    readonly partitions: number;
    readonly producers: number;
    readonly intervalMs: number;
    readonly durationMs: number;
  },
): Promise<ProducerRun> {
  const counts = new TransportCounts();
  const clients = Array.from(
    { length: options.producers },
    () => new StreambedClient({ transport: counting(target.transport(), counts) }),
  );
  const producers: Producer[] = clients.map((client) => client.producer());
  const value = new Uint8Array(randomBytes(1024));
  const topic = options.topic;
  await Promise.all(
    producers.map(async (producer) => {
      await producer.send({ topic, value });
      await producer.flush();
    }),
  );
  counts.reset();
  await target.reset();

  const latencies: number[] = [];
  const outcomes: Promise<void>[] = [];
  let sent = 0;
  let failed = 0;
  let firstError: string | undefined;
  let lastAck = 0;
  const start = performance.now();
  // An open-loop schedule: record k of a producer is due at start + k × intervalMs, and each tick of a
  // producer's timer sends every record due by then. Timers fire late on a busy machine (a 1 ms
  // setInterval fires every 1.1–2 ms, and skips rather than repeats), which sent half the offered
  // rate; catching up keeps the rate offered, in bursts when the process falls behind. Latency counts
  // from the time a record was due, not from when the late timer sent it (no coordinated omission).
  const dueBy = (now: number) => Math.floor((now - start) / options.intervalMs);
  const sentBy = new Array<number>(producers.length).fill(0);
  const sendDue = (producer: Producer, p: number, until: number) => {
    for (let k = sentBy[p] as number; k < until; k++) {
      const due = start + k * options.intervalMs;
      sent++;
      outcomes.push(
        producer
          .send({ topic, value })
          .then((receipt) => receipt.delivered)
          .then(
            () => {
              lastAck = performance.now();
              latencies.push(lastAck - due);
            },
            (error: unknown) => {
              failed++;
              firstError ??= describeError(error);
            },
          ),
      );
    }
    sentBy[p] = Math.max(sentBy[p] as number, until);
  };
  const timers = producers.map((producer, p) =>
    setInterval(() => sendDue(producer, p, dueBy(performance.now())), options.intervalMs),
  );
  await sleep(options.durationMs);
  for (const timer of timers) clearInterval(timer);
  const stopped = performance.now();
  // The records due up to the stop that late timers had not sent yet.
  for (const [p, producer] of producers.entries()) sendDue(producer, p, dueBy(stopped));
  await Promise.all(outcomes);
  await Promise.all(producers.map((producer) => producer.close().catch(() => undefined)));
  const { snapshot, served } = await target.snapshot();
  await Promise.all(clients.map((client) => client.close()));

  const sendSeconds = (stopped - start) / 1000;
  const perRequest = counts.recordsPerAttempt;
  return {
    transport: target.kind,
    producers: options.producers,
    intervalMs: options.intervalMs,
    partitions: options.partitions,
    offeredRecordsPerSec: round((options.producers * 1000) / options.intervalMs, 1),
    sendSeconds: round(sendSeconds, 3),
    records: sent,
    recordsPerSec: round(sent / sendSeconds, 1),
    delivered: latencies.length,
    deliveredPerSec: round((latencies.length / (Math.max(lastAck, stopped) - start)) * 1000, 1),
    failed,
    ...(firstError === undefined ? {} : { firstError }),
    drainMs: round(Math.max(0, lastAck - stopped), 1),
    latency: latencyOf(latencies),
    requests: {
      produceAttempts: counts.attempts,
      recordsPerRequest: {
        mean: round(sum(perRequest) / Math.max(1, perRequest.length), 2),
        p50: percentile(perRequest, 50),
        min: perRequest.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY),
        max: perRequest.reduce((a, b) => Math.max(a, b), 0),
      },
      errors: counts.errors,
    },
    cost: costOf(snapshot, served, counts.attempts, latencies.length),
  };
}
