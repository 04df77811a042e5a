import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { startLocalConsumers } from '../../functions/local/consumers.ts';
import { RequestCounter } from '../../lib/adapters/request-counter.ts';
import type { BenchConfig } from '../config.ts';
import { round } from '../support/load.ts';
import { produceRecords } from '../support/records.ts';
import type { BenchStack } from '../support/stack.ts';
import { table } from '../support/table.ts';
import {
  busyGap,
  collect,
  type LatencyFigure,
  type Samples,
  sightings,
  streamVisibleSamples,
  summarize,
} from './e2e.ts';

/** The local consumer runner's stream poller, configured four ways (startLocalConsumers options). */
const MODES = {
  before: {
    label: 'before: fixed 200 ms pause, no wake (the poller until issue 10)',
    options: { pollMs: 200, activePollMs: 200, wakeOnCommit: false },
  },
  pollOnly: {
    label: 'after, poll only: 10→200 ms backoff, no wake (a commit from another process)',
    options: { wakeOnCommit: false },
  },
  after: {
    label: 'after: woken by the commit + 10→200 ms backoff (npm start default)',
    options: {},
  },
  sleep0: {
    label: 'path floor: poller sleep 0 (GetRecords back to back through the dispatcher)',
    options: { pollMs: 0, activePollMs: 0, wakeOnCommit: false },
  },
} as const;
type Mode = keyof typeof MODES;

/** Stream reads per second while nothing is produced (after `settle`), on the poller's own client. */
export interface IdleRate {
  readonly seconds: number;
  readonly getRecordsPerSec: number;
  /** Shard discovery: one DescribeTable (table client) and one DescribeStream page each. */
  readonly describeStreamPerSec: number;
  readonly describeTablePerSec: number;
  /** Every request the poller sent, DescribeTable included. */
  readonly requestsPerSec: number;
  readonly counts: Record<string, number>;
}

export interface ArrivalMode {
  readonly mode: Mode;
  readonly label: string;
  readonly options: Record<string, unknown>;
  /** Records produced after a random 0–300 ms pause (the e2e suite's method). */
  readonly busy: LatencyFigure;
  /** Records produced after the poller went idle (`idleGapMs` + 0–200 ms since the last delivery). */
  readonly afterIdle: LatencyFigure;
  /** GetRecords per second while the busy samples ran (the price of reading fast after activity). */
  readonly busyGetRecordsPerSec: number;
  readonly idle: IdleRate;
}

export interface Arrival {
  /** Produce acknowledged → the commit readable on the stream (GetRecords back to back, no dispatcher). */
  readonly floor: LatencyFigure;
  readonly modes: ArrivalMode[];
  readonly note: string;
}

/** A DynamoDB Streams client of the poller's own, its requests counted by command. */
function countedStreams(stack: BenchStack): { streams: DynamoDBStreamsClient; counter: RequestCounter } {
  const streams = new DynamoDBStreamsClient({
    endpoint: stack.endpoints.dynamoDbEndpoint,
    region: stack.endpoints.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  // The streams client has the same smithy middleware stack as the DynamoDB client.
  const counter = new RequestCounter().attach(streams as unknown as DynamoDBClient);
  return { streams, counter };
}

const describeTables = (stack: BenchStack) => stack.instruments.snapshot().requests['ddb:DescribeTable'] ?? 0;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const perSec = (count: number, ms: number) => round((1000 * count) / ms, 2);

interface ModeRun {
  busy: Samples;
  afterIdle: Samples;
  busyGetRecords: number;
  busyMs: number;
  idle?: IdleRate;
}

/**
 * One round of one mode: a new topic and group, the local consumer runner with this mode's poller,
 * `busy` then `afterIdle` samples, and (when `idleWindowMs` > 0) the idle request rate.
 */
async function runMode(
  stack: BenchStack,
  mode: Mode,
  name: string,
  counts: { busy: number; afterIdle: number; idleGapMs: number; idleWindowMs: number },
  run: ModeRun,
  log: (line: string) => void,
): Promise<void> {
  const consumer = await import('../support/e2e-consumer.ts');
  const engine = stack.engine();
  await engine.createTopic({ name, partitions: 1 });
  const dir = mkdtempSync(join(tmpdir(), 'streambed-bench-arrival-'));
  const file = join(dir, 'consumers.json');
  const handler = fileURLToPath(new URL('../support/e2e-consumer.ts', import.meta.url));
  writeFileSync(
    file,
    JSON.stringify({
      consumers: [
        { group: `bench-${name}`, topic: name, handler: `${handler}#handler`, startingPosition: 'latest' },
      ],
    }),
  );
  const sight = sightings();
  const listener = (offset: number, _: number, at: number, topic: string) => {
    if (topic === name) sight.mark(offset, at);
  };
  consumer.deliveries.add(listener);
  const { streams, counter } = countedStreams(stack);
  const consumers = await startLocalConsumers({
    endpoints: stack.endpoints,
    config: stack.config,
    file,
    streams,
    log: (line) => log(`arrival ${mode}: ${line}`),
    ...MODES[mode].options,
  });
  const records = produceRecords({ id: 'arrival', records: 1, valueBytes: 1024 }, 1, 0);
  const produce = async () => (await engine.produce({ topic: name, records })).offsets[0]?.offset ?? -1;
  const seen = (offset: number) => sight.seen(offset);
  try {
    counter.reset();
    const t0 = performance.now();
    await collect(counts.busy, produce, seen, busyGap, run.busy);
    run.busyMs += performance.now() - t0;
    run.busyGetRecords += counter.snapshot().GetRecords ?? 0;
    const idleGap = () => counts.idleGapMs + Math.random() * 200;
    await collect(counts.afterIdle, produce, seen, idleGap, run.afterIdle);
    if (counts.idleWindowMs > 0) {
      await sleep(counts.idleGapMs);
      counter.reset();
      const tables = describeTables(stack);
      const start = performance.now();
      await sleep(counts.idleWindowMs);
      const snapshot = counter.snapshot();
      const describeTable = describeTables(stack) - tables;
      const ms = performance.now() - start;
      const total = counter.total() + describeTable;
      run.idle = {
        seconds: round(ms / 1000, 2),
        getRecordsPerSec: perSec(snapshot.GetRecords ?? 0, ms),
        describeStreamPerSec: perSec(snapshot.DescribeStream ?? 0, ms),
        describeTablePerSec: perSec(describeTable, ms),
        requestsPerSec: perSec(total, ms),
        counts: { ...snapshot, DescribeTable: describeTable },
      };
    }
  } finally {
    consumer.deliveries.delete(listener);
    await consumers.stop();
    streams.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Arrival latency (issue 10, item 6): produce acknowledged → the local consumer function invoked, with
 * the stream poller as it was (before), as it is without and with the commit's wake (after), and with
 * no pause at all (the path's floor), beside the commit readable on the stream (the floor) — all in the
 * same run, rounds alternating the order. Also each poller's stream reads per second when idle.
 */
export async function arrivalSuite(
  config: BenchConfig,
  stack: BenchStack,
  log: (line: string) => void,
): Promise<Arrival> {
  const { samples, afterIdleSamples, idleGapMs, idleWindowMs, rounds } = config.arrival;
  const run = Date.now().toString(36);
  const order: Mode[] = ['sleep0', 'before', 'pollOnly', 'after'];
  const floor: Samples = { latencies: [], produceLatencies: [], timeouts: 0 };
  const runs = new Map<Mode, ModeRun>(
    order.map((mode) => [
      mode,
      {
        busy: { latencies: [], produceLatencies: [], timeouts: 0 },
        afterIdle: { latencies: [], produceLatencies: [], timeouts: 0 },
        busyGetRecords: 0,
        busyMs: 0,
      },
    ]),
  );
  const share = (total: number, r: number) => Math.floor(total / rounds) + (r < total % rounds ? 1 : 0);
  for (let r = 0; r < rounds; r++) {
    const modes = r % 2 === 0 ? order : [...order].reverse();
    const last = r === rounds - 1;
    if (r % 2 === 0)
      await streamVisibleSamples(stack, `arrival-floor-${run}-${r}`, share(samples, r), busyGap, floor);
    for (const mode of modes) {
      const modeRun = runs.get(mode) as ModeRun;
      await runMode(
        stack,
        mode,
        `arrival-${mode.toLowerCase()}-${run}-${r}`,
        {
          busy: share(samples, r),
          afterIdle: share(afterIdleSamples, r),
          idleGapMs,
          idleWindowMs: last ? idleWindowMs : 0,
        },
        modeRun,
        log,
      );
      const figure = summarize(modeRun.busy);
      log(
        `arrival ${mode} (round ${r + 1}/${rounds}): p50 ${figure.p50Ms} ms, p99 ${figure.p99Ms} ms so far`,
      );
    }
    if (r % 2 === 1)
      await streamVisibleSamples(stack, `arrival-floor-${run}-${r}`, share(samples, r), busyGap, floor);
  }
  const modes: ArrivalMode[] = order.map((mode) => {
    const modeRun = runs.get(mode) as ModeRun;
    return {
      mode,
      label: MODES[mode].label,
      options: MODES[mode].options,
      busy: summarize(modeRun.busy),
      afterIdle: summarize(modeRun.afterIdle),
      busyGetRecordsPerSec: perSec(modeRun.busyGetRecords, modeRun.busyMs),
      idle: modeRun.idle as IdleRate,
    };
  });
  return {
    floor: summarize(floor),
    modes,
    note:
      `One 1 KiB record at a time through functions/local/consumers.ts (DynamoDB Local stream → dispatcher → handler). ` +
      `"busy": each record after a random 0–300 ms pause; "after idle": after ${idleGapMs}–${idleGapMs + 200} ms, ` +
      `when the backoff is back at 200 ms. Idle rates over ${idleWindowMs / 1000} s with nothing produced, on the ` +
      'poller’s own clients. On AWS none of this runs: a Lambda event source mapping reads the stream.',
  };
}

/** The arrival tables for the stdout report. */
export function arrivalReport(arrival: Arrival): string[] {
  const row = (label: string, f: LatencyFigure) => [label, f.samples, f.p50Ms, f.p95Ms, f.p99Ms, f.timeouts];
  const headers = ['figure', 'samples', 'p50 ms', 'p95 ms', 'p99 ms', 'timeouts'];
  return [
    table(
      'ARRIVAL — produce acknowledged → local consumer function invoked (records after 0–300 ms pauses)',
      headers,
      [
        ...arrival.modes.map((m) => row(m.label, m.busy)),
        row('floor: ack → on the stream (GetRecords back to back)', arrival.floor),
      ],
    ),
    table(
      'ARRIVAL — the same, each record produced after the poller went idle',
      headers,
      arrival.modes.map((m) => row(m.label, m.afterIdle)),
    ),
    table(
      'ARRIVAL — stream poller requests per second',
      [
        'poller',
        'idle GetRecords/s',
        'idle discovery/s (DescribeStream + DescribeTable)',
        'idle total/s',
        'busy GetRecords/s',
      ],
      arrival.modes.map((m) => [
        m.label,
        m.idle?.getRecordsPerSec,
        m.idle === undefined ? undefined : round(m.idle.describeStreamPerSec + m.idle.describeTablePerSec, 2),
        m.idle?.requestsPerSec,
        m.busyGetRecordsPerSec,
      ]),
    ),
    arrival.note,
  ];
}
