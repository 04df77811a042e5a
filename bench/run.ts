/**
 * `npm run bench`: throughput, latency, request counts and $/GiB, each beside the raw I/O floor
 * measured in the same run (docs/bench.md).
 *
 *   npm run bench                  # full run, ~16–18 min on 2 cores + ~8 for catchup;
 *                                  # JSON to bench/results/<time>.json
 *   npm run bench -- --quick       # every code path with tiny sizes (CI smoke), < 3 min;
 *                                  # JSON to bench/results/quick-<time>.tmp.json (gitignored)
 *   npm run bench -- --only produce,codec --out /tmp/b.json --scale 0.5
 *
 * Nothing here asserts timings. The exit code is non-zero only when a suite crashed or a
 * correctness check failed (offsets not dense, a read incomplete, a protocol's log broken, records
 * read after compaction differing from those written).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type BenchConfig, FULL, QUICK } from './config.ts';
import { PRICES } from './prices.ts';
import { type BenchResults, renderReport } from './report.ts';
import { evaluateTargets } from './targets.ts';

const SUITES = [
  'codec',
  'produce',
  'fetch',
  'contention',
  'e2e',
  'cost',
  'catchup',
  'arrival',
  'parallel',
  'sdk',
  'kafka',
] as const;
type Suite = (typeof SUITES)[number];

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
    only: { type: 'string' },
    scale: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log(
    [
      'usage: npm run bench -- [--quick] [--only codec,produce,fetch,contention,e2e,cost,catchup,arrival,parallel,sdk,kafka] [--scale N] [--out file.json]',
      '  --quick   smoke run (tiny sizes, every code path); JSON to bench/results/quick-<time>.tmp.json',
      '  --only    run only these suites (cost uses produce latencies for Lambda duration when produce runs too;',
      '            catchup is issue 9’s catch-up read of 1 KiB calls before and after compaction;',
      '            arrival is issue 10’s produce → local handler latency and the stream poller’s idle request rate;',
      '            sdk is issue 11’s client SDK: cost per million records, producer latency, codecs vs the floor;',
      '            kafka is issue 12’s Kafka door: kafkajs produce/consume beside HTTP and the library)',
      '  --scale   multiply every time budget by N (e.g. 0.5 for a shorter full run)',
      '  --out     where to write the JSON (default bench/results/<time>.json, or quick-<time>.tmp.json)',
    ].join('\n'),
  );
  process.exit(0);
}

const only = new Set<Suite>(
  values.only === undefined
    ? SUITES
    : values.only.split(',').map((name) => {
        if (!(SUITES as readonly string[]).includes(name)) {
          console.error(`unknown suite '${name}'; known: ${SUITES.join(', ')}`);
          process.exit(2);
        }
        return name as Suite;
      }),
);
const scale = values.scale === undefined ? 1 : Number(values.scale);
if (!(scale > 0)) {
  console.error(`--scale must be a positive number, got ${values.scale}`);
  process.exit(2);
}

function scaled(config: BenchConfig, factor: number): BenchConfig {
  if (factor === 1) return config;
  const ms = (value: number) => Math.max(1, Math.round(value * factor));
  return {
    ...config,
    produce: { ...config.produce, budgetMs: ms(config.produce.budgetMs) },
    fetch: { ...config.fetch, budgetMs: ms(config.fetch.budgetMs) },
    contention: { ...config.contention, budgetMs: ms(config.contention.budgetMs) },
    protocols: { ...config.protocols, budgetMs: ms(config.protocols.budgetMs) },
    codec: { ...config.codec, budgetMs: ms(config.codec.budgetMs) },
  };
}

const config = scaled(values.quick ? QUICK : FULL, scale);
const startedAt = new Date();
const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
const outPath = resolve(
  values.out ?? `${resultsDir}${config.mode === 'quick' ? `quick-${stamp}.tmp.json` : `${stamp}.json`}`,
);

// The HTTP server child quiets Powertools itself; set here too in case anything imports handlers.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';

const { describeMachine } = await import('./support/machine.ts');
const log = (line: string) =>
  console.error(`[bench ${((performance.now() - t0) / 1000).toFixed(0)}s] ${line}`);
const t0 = performance.now();

const results: BenchResults = {
  schema: 'streambed-bench/1',
  mode: config.mode,
  startedAt: startedAt.toISOString(),
  machine: describeMachine(),
  code: codeVersion(),
  config: { ...config, suites: [...only], scale },
  prices: PRICES,
  problems: [],
  warnings: [],
  suiteErrors: {},
};

function codeVersion(): BenchResults['code'] {
  const git = (args: string[]) =>
    spawnSync('git', args, { cwd: fileURLToPath(new URL('..', import.meta.url)), encoding: 'utf8' }).stdout ??
    '';
  return {
    commit: git(['rev-parse', 'HEAD']).trim() || 'unknown',
    uncommitted: git(['status', '--porcelain', '--', 'lib', 'functions', 'bench'])
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.includes('bench/results/')),
  };
}

async function step<T>(name: Suite, work: () => Promise<T> | T, part: string = name): Promise<T | undefined> {
  if (!only.has(name)) return undefined;
  log(`${part} ...`);
  try {
    return await work();
  } catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    results.suiteErrors[part] = message.split('\n').slice(0, 4).join(' | ');
    log(`${name} FAILED: ${message}`);
    return undefined;
  }
}

// CPU-only first, before the services start.
const { codecSuite } = await import('./suites/codec.ts');
results.codec = await step('codec', () => codecSuite(config, log));

const needsServices = [...only].some((suite) => suite !== 'codec');
let cleanup: (() => Promise<void>) | undefined;
let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  log('interrupted: stopping the services ...');
  void (cleanup?.() ?? Promise.resolve()).finally(() => process.exit(130));
});

if (needsServices) {
  const { startLocalServices } = await import('../lib/harness/services.ts');
  const { benchStack } = await import('./support/stack.ts');
  const { startHttpApi } = await import('./support/http-client.ts');
  log('starting MinIO and DynamoDB Local ...');
  const services = await startLocalServices({ log });
  let stack: Awaited<ReturnType<typeof benchStack>> | undefined;
  let http: Awaited<ReturnType<typeof startHttpApi>> | undefined;
  cleanup = async () => {
    await http?.close();
    stack?.close();
    await services.stop();
  };
  try {
    stack = await benchStack(services);
    const api = await startHttpApi({ endpoints: services, bucket: stack.bucket, tables: stack.tables });
    http = api;
    const bench = stack;
    const { produceSuite } = await import('./suites/produce.ts');
    const { breakdownSuite } = await import('./suites/breakdown.ts');
    const { fetchSuite } = await import('./suites/fetch.ts');
    const { contentionSuite } = await import('./suites/contention.ts');
    const { endToEndSuite } = await import('./suites/e2e.ts');
    const { costSuite } = await import('./suites/cost.ts');
    const { compactedCatchUpSuite } = await import('./suites/catchup.ts');
    results.produce = await step('produce', () => produceSuite(config, bench, api, log));
    results.produceBreakdown = await step(
      'produce',
      () => breakdownSuite(config, bench, log),
      'produce breakdown',
    );
    results.fetch = await step('fetch', () => fetchSuite(config, bench, api, log));
    results.contention = await step('contention', () => contentionSuite(config, bench, log));
    results.e2e = await step('e2e', () => endToEndSuite(config, bench, log));
    results.cost = await step('cost', () => costSuite(config, bench, results.produce ?? [], log));
    results.catchup = await step('catchup', () => compactedCatchUpSuite(config, bench, log));
    const { arrivalSuite } = await import('./suites/arrival.ts');
    results.arrival = await step('arrival', () => arrivalSuite(config, bench, log));
    const { parallelSuite } = await import('./suites/parallel.ts');
    results.parallel = await step('parallel', () => parallelSuite(config.parallel.records, bench, log));
    const { sdkConfig, sdkSuite } = await import('./suites/sdk.ts');
    const sdk = await step('sdk', () => sdkSuite(sdkConfig(config.mode, scale), bench, api, log));
    if (sdk !== undefined) {
      (results as BenchResults & { sdk?: typeof sdk }).sdk = sdk;
      results.problems.push(...sdk.problems);
    }
    const { kafkaConfig, kafkaSuite } = await import('./suites/kafka.ts');
    const kafka = await step('kafka', () => kafkaSuite(kafkaConfig(config.mode, scale), bench, api, log));
    if (kafka !== undefined) {
      (results as BenchResults & { kafka?: typeof kafka }).kafka = kafka;
      results.problems.push(...kafka.problems);
    }
    if (bench.flushErrors.length > 0) {
      results.warnings.push(
        `${bench.flushErrors.length} best-effort page flushes failed, e.g. ${bench.flushErrors[0]}`,
      );
    }
  } finally {
    await cleanup();
    cleanup = undefined;
  }
}

// Correctness checks (fail the run) and call errors under load (warnings).
for (const cell of results.produce ?? []) {
  for (const [mode, figures] of [
    ['floor', cell.floor],
    ['lib', cell.lib],
    ['http', cell.http],
  ] as const) {
    if (figures.errors > 0) {
      results.warnings.push(
        `produce ${cell.shape} p=${cell.partitions} c=${cell.concurrency} ${mode}: ${figures.errors} of ${figures.calls} calls failed (${figures.firstError})`,
      );
    }
  }
}
for (const cell of results.fetch?.cells ?? []) {
  for (const [mode, figures] of [
    ['floor', cell.floor],
    ['lib', cell.lib],
    ['http', cell.http],
  ] as const) {
    if (figures.errors > 0) {
      results.problems.push(
        `fetch ${cell.shape} consumers=${cell.consumers} ${mode}: ${figures.errors} calls failed (${figures.firstError})`,
      );
    }
  }
}
for (const read of results.fetch?.catchUp.reads ?? []) {
  if (!read.complete)
    results.problems.push(`catch-up ${read.label}: read ${read.recordsRead} records, not all`);
}
const retriedLine = (retried: Record<string, number> | undefined) =>
  Object.entries(retried ?? {})
    .map(([name, n]) => `${n}× ${name}`)
    .join(', ');
for (const cell of results.produce ?? []) {
  for (const [mode, figures] of [
    ['lib', cell.lib],
    ['http', cell.http],
  ] as const) {
    const line = retriedLine(figures.retriedRequests);
    if (line !== '') {
      results.warnings.push(
        `produce ${cell.shape} p=${cell.partitions} c=${cell.concurrency} ${mode}: the SDK retried ${line}`,
      );
    }
  }
}
for (const point of results.contention?.streambed ?? []) {
  if (!point.dense) results.problems.push(`contention n=${point.writers}: offsets not dense`);
  const line = retriedLine(point.retried);
  if (line !== '') results.warnings.push(`contention n=${point.writers}: the SDK retried ${line}`);
  if (point.throughput.errors > 0) {
    results.warnings.push(
      `contention n=${point.writers}: ${point.throughput.errors} calls failed (${point.throughput.firstError})`,
    );
  }
}
for (const point of results.contention?.protocols ?? []) {
  if (!point.correct) results.problems.push(`protocol ${point.protocol} n=${point.writers}: ${point.check}`);
}
if (results.e2e !== undefined) {
  const { handlerInvoked, streamVisible } = results.e2e;
  if (streamVisible.timeouts > 0) {
    results.warnings.push(`e2e: ${streamVisible.timeouts} commits not seen on the stream within 5 s`);
  }
  if ('unavailable' in handlerInvoked) results.warnings.push(`e2e: ${handlerInvoked.unavailable}`);
  else if (handlerInvoked.timeouts > 0) {
    results.problems.push(
      `e2e: ${handlerInvoked.timeouts} records never reached the consumer function within 5 s`,
    );
  }
}

for (const mode of results.arrival?.modes ?? []) {
  const lost = mode.busy.timeouts + mode.afterIdle.timeouts;
  if (lost > 0)
    results.problems.push(
      `arrival ${mode.mode}: ${lost} records never reached the consumer function within 5 s`,
    );
}

if (results.catchup !== undefined && !results.catchup.identical) {
  results.problems.push(`catch-up before/after compaction: ${results.catchup.check}`);
}
for (const cell of results.parallel?.cells ?? []) {
  if (cell.keyOrderViolations > 0 || cell.records !== config.parallel.records) {
    results.problems.push(
      `parallel factor ${cell.factor}: ${cell.records} of ${config.parallel.records} records, ${cell.keyOrderViolations} out of key order`,
    );
  }
}

results.targets = evaluateTargets(results);
results.finishedAt = new Date().toISOString();
results.durationSeconds = Math.round((performance.now() - t0) / 1000);
results.machine.loadAverage.atEnd = os.loadavg().map((v) => Math.round(v * 100) / 100);

mkdirSync(dirname(outPath), { recursive: true });
writeFileSync(outPath, `${JSON.stringify(results, null, 2)}\n`);
console.log(renderReport(results));
console.log(`\nJSON: ${outPath}`);
const failed = results.problems.length > 0 || Object.keys(results.suiteErrors).length > 0;
process.exit(failed ? 1 : 0);
