import type { BreakdownRow } from './suites/breakdown.ts';
import type { CodecPoint } from './suites/codec.ts';
import type { ContentionResults } from './suites/contention.ts';
import type { CostResults } from './suites/cost.ts';
import type { EndToEnd, LatencyFigure } from './suites/e2e.ts';
import type { FetchResults } from './suites/fetch.ts';
import type { ProduceCell } from './suites/produce.ts';
import { round } from './support/load.ts';
import type { MachineDescription } from './support/machine.ts';
import { table } from './support/table.ts';

export interface BenchResults {
  readonly schema: 'streambed-bench/1';
  readonly mode: 'quick' | 'full';
  readonly startedAt: string;
  finishedAt?: string;
  durationSeconds?: number;
  readonly machine: MachineDescription;
  /** The code measured: HEAD and any uncommitted changes under lib/, functions/ and bench/. */
  readonly code: { readonly commit: string; readonly uncommitted: readonly string[] };
  readonly config: unknown;
  readonly prices: unknown;
  codec?: CodecPoint[] | undefined;
  produce?: ProduceCell[] | undefined;
  produceBreakdown?: BreakdownRow[] | undefined;
  fetch?: FetchResults | undefined;
  contention?: ContentionResults | undefined;
  e2e?: EndToEnd | undefined;
  cost?: CostResults | undefined;
  targets?: Target[] | undefined;
  /** Correctness problems (these fail the run) and warnings (call errors under load). */
  problems: string[];
  warnings: string[];
  suiteErrors: Record<string, string>;
}

export interface Target {
  readonly target: string;
  readonly status: 'met' | 'missed' | 'not measured';
  readonly measured: string;
  readonly misses: string[];
}

const fmt = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : '–');

/** The issue's targets, evaluated on this run (for the bench to show; nothing asserts them). */
export function evaluateTargets(results: BenchResults): Target[] {
  const targets: Target[] = [];
  const produce = results.produce ?? [];
  const mib = produce.filter((c) => c.bytesPerCall >= 1000 * 1024);
  if (mib.length === 0) {
    targets.push({
      target: '≥ 0.90× floor MiB/s at 1 MiB requests',
      status: 'not measured',
      measured: 'produce not run',
      misses: [],
    });
  } else {
    const misses = mib
      .filter((c) => !(c.libVsFloor.throughput >= 0.9))
      .map((c) => `lib ${c.shape} p=${c.partitions} c=${c.concurrency}: ${fmt(c.libVsFloor.throughput)}×`);
    const httpMisses = mib
      .filter((c) => !(c.httpVsFloor.throughput >= 0.9))
      .map((c) => `http ${c.shape} p=${c.partitions} c=${c.concurrency}: ${fmt(c.httpVsFloor.throughput)}×`);
    const libMin = Math.min(...mib.map((c) => c.libVsFloor.throughput));
    const httpMin = Math.min(...mib.map((c) => c.httpVsFloor.throughput));
    targets.push({
      target: '≥ 0.90× the floor’s MiB/s at 1 MiB requests (1×1MiB and 1000×1KiB)',
      status: misses.length === 0 ? 'met' : 'missed',
      measured: `lib min ${fmt(libMin)}× over ${mib.length} cells; HTTP min ${fmt(httpMin)}×`,
      misses: [...misses, ...httpMisses],
    });
  }
  if (produce.length > 0) {
    const p50 = produce.filter((c) => !(c.libVsFloor.p50DeltaMs <= 5));
    const p99 = produce.filter((c) => !(c.libVsFloor.p99DeltaMs <= 20));
    const worst50 = Math.max(...produce.map((c) => c.libVsFloor.p50DeltaMs));
    const worst99 = Math.max(...produce.map((c) => c.libVsFloor.p99DeltaMs));
    targets.push({
      target: 'produce p50 ≤ floor + 5 ms, p99 ≤ floor + 20 ms (lib, every cell)',
      status: p50.length === 0 && p99.length === 0 ? 'met' : 'missed',
      measured: `worst lib p50 delta ${fmt(worst50, 1)} ms, p99 delta ${fmt(worst99, 1)} ms; ${p50.length} cells miss p50, ${p99.length} miss p99 of ${produce.length}`,
      misses: [
        ...p50.map(
          (c) =>
            `p50 ${c.shape} p=${c.partitions} c=${c.concurrency}: +${fmt(c.libVsFloor.p50DeltaMs, 1)} ms`,
        ),
        ...p99.map(
          (c) =>
            `p99 ${c.shape} p=${c.partitions} c=${c.concurrency}: +${fmt(c.libVsFloor.p99DeltaMs, 1)} ms`,
        ),
      ],
    });
  }
  const contention = results.contention?.streambed ?? [];
  const one = contention.find((p) => p.writers === 1);
  const sixteen = contention.find((p) => p.writers === 16);
  if (one !== undefined && sixteen !== undefined) {
    const total = sixteen.throughput.callsPerSec >= one.throughput.callsPerSec;
    const extra = sixteen.extraDdbRequestsPerCommit <= 1;
    targets.push({
      target:
        '16 writers on one partition: total throughput ≥ one writer’s; ≤ 1 extra DynamoDB call per commit',
      status: total && extra ? 'met' : 'missed',
      measured:
        `${fmt(sixteen.throughput.callsPerSec, 1)} vs ${fmt(one.throughput.callsPerSec, 1)} commits/s (${fmt(sixteen.vsOneWriter)}×); ` +
        `${fmt(sixteen.extraDdbRequestsPerCommit, 3)} extra DynamoDB requests/commit, ${fmt(sixteen.conditionalFailuresPerCommit, 3)} failed conditions/commit`,
      misses: [
        ...(total ? [] : ['throughput below one writer']),
        ...(extra ? [] : ['more than 1 extra call per commit']),
      ],
    });
  }
  if (produce.length > 0) {
    const puts = Math.max(...produce.map((c) => c.lib.s3PutsPerCall ?? Number.NaN));
    const writes = produce.map((c) => ({ c, w: c.lib.ddbWritesPerPartition ?? Number.NaN }));
    const worst = writes.reduce((a, b) => (b.w > a.w ? b : a));
    const over = writes.filter(({ w }) => !(w <= 1));
    targets.push({
      target: '≤ 1 S3 PUT per produce call and ≤ 1 DynamoDB write per partition touched',
      status: puts <= 1 && over.length === 0 ? 'met' : 'missed',
      measured:
        `max ${fmt(puts, 3)} S3 PUT/call; DynamoDB writes per partition touched up to ${fmt(worst.w, 3)} ` +
        `(${worst.c.shape} p=${worst.c.partitions} c=${worst.c.concurrency}) — 1 commit UpdateItem + index paging (2 writes every 8th commit)`,
      misses: over.map(
        ({ c, w }) => `${c.shape} p=${c.partitions} c=${c.concurrency}: ${fmt(w, 3)} writes/partition`,
      ),
    });
  }
  const codec = results.codec ?? [];
  if (codec.length > 0) {
    const misses = codec.filter((p) => !(p.decodeVsFloor >= 0.5));
    targets.push({
      target: 'decode ≥ 0.5× the copy + CRC floor',
      status: misses.length === 0 ? 'met' : 'missed',
      measured: codec.map((p) => `${p.shape} ${fmt(p.decodeVsFloor)}×`).join(', '),
      misses: misses.map((p) => `${p.shape}: ${fmt(p.decodeVsFloor)}×`),
    });
  }
  return targets;
}

const pair = (a: number, b: number) => `${fmt(a, 1)}/${fmt(b, 1)}`;
const dollars = (value: number) =>
  Number.isFinite(value) ? `$${value < 0.01 ? value.toPrecision(3) : value.toFixed(4)}` : '–';

/** The human-readable report printed to stdout. */
export function renderReport(results: BenchResults): string {
  const out: string[] = [];
  const m = results.machine;
  out.push(
    `Streambed bench (${results.mode}) ${results.startedAt}${results.durationSeconds === undefined ? '' : `, ${Math.round(results.durationSeconds)} s`}`,
    `machine: ${m.cpuCount}× ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.os}; node ${m.node}; load ${m.loadAverage.atStart.join(' ')} → ${m.loadAverage.atEnd?.join(' ') ?? '?'}`,
    `MinIO ${m.minio}; ${m.dynamoDbLocal}; ${m.java}`,
    `code: ${results.code.commit.slice(0, 12)}${results.code.uncommitted.length === 0 ? '' : ` + uncommitted: ${results.code.uncommitted.join(', ')}`}`,
    'Every figure is beside its floor measured in the same run; the ratio is the number that counts.',
  );
  const produce = results.produce ?? [];
  if (produce.length > 0) {
    out.push(
      table(
        'PRODUCE throughput — floor = raw PutObject of the same bytes + 1 conditional PutItem per partition touched, same concurrency',
        [
          'shape',
          'parts',
          'conc',
          'floor MiB/s',
          'lib MiB/s',
          'lib ×floor',
          'http MiB/s',
          'http ×floor',
          'floor rec/s',
          'lib rec/s',
          'http rec/s',
        ],
        produce.map((c) => [
          c.shape,
          c.partitions,
          c.concurrency,
          c.floor.mibPerSec,
          c.lib.mibPerSec,
          c.libVsFloor.throughput,
          c.http.mibPerSec,
          c.httpVsFloor.throughput,
          Math.round(c.floor.recordsPerSec),
          Math.round(c.lib.recordsPerSec),
          Math.round(c.http.recordsPerSec),
        ]),
      ),
      table(
        'PRODUCE latency, ms (p50/p99) and deltas to the floor',
        [
          'shape',
          'parts',
          'conc',
          'floor p50/p99',
          'lib p50/p99',
          'lib Δp50',
          'lib Δp99',
          'http p50/p99',
          'http Δp50',
          'http Δp99',
        ],
        produce.map((c) => [
          c.shape,
          c.partitions,
          c.concurrency,
          pair(c.floor.p50Ms, c.floor.p99Ms),
          pair(c.lib.p50Ms, c.lib.p99Ms),
          c.libVsFloor.p50DeltaMs,
          c.libVsFloor.p99DeltaMs,
          pair(c.http.p50Ms, c.http.p99Ms),
          c.httpVsFloor.p50DeltaMs,
          c.httpVsFloor.p99DeltaMs,
        ]),
      ),
      table(
        'PRODUCE requests, counted by SDK middleware (lib | HTTP server)',
        [
          'shape',
          'parts',
          'conc',
          'touched',
          'S3 PUT/call',
          'DDB writes/part.',
          'DDB req/call',
          'failed cond/call',
          'http S3 PUT/call',
          'http DDB writes/part.',
          'errors lib/http',
        ],
        produce.map((c) => [
          c.shape,
          c.partitions,
          c.concurrency,
          c.partitionsTouchedPerCall,
          c.lib.s3PutsPerCall,
          c.lib.ddbWritesPerPartition,
          c.lib.ddbRequestsPerCall,
          c.lib.conditionalFailuresPerCall,
          c.http.s3PutsPerCall,
          c.http.ddbWritesPerPartition,
          `${c.lib.errors}/${c.http.errors}`,
        ]),
      ),
    );
  }
  const breakdown = results.produceBreakdown ?? [];
  if (breakdown.length > 0) {
    const steps = Object.keys(breakdown[0]?.steps ?? {});
    out.push(
      table(
        'PRODUCE breakdown — where one call goes, concurrency 1, one partition; each step timed alone (p50 ms)',
        ['shape', ...steps, 'parts (encode+PUT INM+append)', 'floor (PUT+PutItem)'],
        breakdown.map((row) => [
          row.shape,
          ...steps.map((step) => row.steps[step]?.p50Ms),
          row.partsP50Ms,
          row.floorP50Ms,
        ]),
      ),
    );
  }
  const fetch = results.fetch;
  if (fetch !== undefined) {
    out.push(
      table(
        'FETCH — floor = ranged GETs of the same batches, 8 in flight per consumer (latency per GET); lib/http latency per fetch',
        [
          'shape',
          'consumers',
          'floor MiB/s',
          'lib MiB/s',
          'lib ×floor',
          'http MiB/s',
          'http ×floor',
          'floor p50/p99',
          'lib p50/p99',
          'http p50/p99',
        ],
        fetch.cells.map((c) => [
          c.shape,
          c.consumers,
          c.floor.mibPerSec,
          c.lib.mibPerSec,
          c.libVsFloor,
          c.http.mibPerSec,
          c.httpVsFloor,
          pair(c.floor.p50Ms, c.floor.p99Ms),
          pair(c.lib.p50Ms, c.lib.p99Ms),
          pair(c.http.p50Ms, c.http.p99Ms),
        ]),
      ),
    );
    const cu = fetch.catchUp;
    out.push(
      table(
        `CATCH-UP read of ${round(cu.payloadBytes / 1024 ** 3, 3)} GiB from offset 0, one partition, ${cu.batches} batches of ${cu.batchShape}` +
          ` (written at ${cu.fill.mibPerSec} MiB/s by 8 producers); floor = the same ranged GETs, 8 in flight`,
        [
          'read',
          'seconds',
          'MiB/s',
          '×floor',
          'fetches',
          'p50/p99 ms',
          'GETs/GiB',
          'GetItem/GiB',
          'Query/GiB',
          'complete',
        ],
        [
          [
            'floor',
            cu.floor.seconds,
            cu.floor.mibPerSec,
            1,
            '–',
            '–',
            round(cu.floor.gets / (cu.payloadBytes / 1024 ** 3), 1),
            0,
            0,
            true,
          ],
          ...cu.reads.map((r) => [
            r.label,
            r.seconds,
            r.mibPerSec,
            r.vsFloor,
            r.fetches,
            pair(r.p50Ms, r.p99Ms),
            r.requestsPerGiB['s3:GetObject'] ?? 0,
            r.requestsPerGiB['ddb:GetItem'] ?? 0,
            r.requestsPerGiB['ddb:Query'] ?? 0,
            r.complete,
          ]),
        ],
      ),
    );
  }
  const contention = results.contention;
  if (contention !== undefined) {
    out.push(
      table(
        'CONTENTION — N producers on ONE partition, full produce calls of 10 × 1 KiB',
        [
          'writers',
          'commits/s',
          '×1 writer',
          'MiB/s',
          'p50/p99 ms',
          'DDB req/commit',
          'extra DDB/commit',
          'failed cond/commit',
          'of which tail full',
          'of which trim lost',
          'page puts/commit',
          'errors',
          'dense',
        ],
        contention.streambed.map((p) => [
          p.writers,
          p.throughput.callsPerSec,
          p.vsOneWriter,
          p.throughput.mibPerSec,
          pair(p.throughput.p50Ms, p.throughput.p99Ms),
          p.ddbRequestsPerCommit,
          p.extraDdbRequestsPerCommit,
          p.conditionalFailuresPerCommit,
          p.appendFailuresPerCommit,
          p.pageTrimFailuresPerCommit,
          p.pagePutsPerCommit,
          p.throughput.errors,
          p.dense,
        ]),
      ),
    );
    const writers = [...new Set(contention.protocols.map((p) => p.writers))];
    const names = [...new Set(contention.protocols.map((p) => p.protocol))];
    const at = (name: string, n: number) =>
      contention.protocols.find((p) => p.protocol === name && p.writers === n);
    out.push(
      table(
        'CONTENTION CURVE — commit step only (DynamoDB), 10-record commits on one partition: commits/s (failed conditions per commit)',
        ['protocol', ...writers.map((n) => `N=${n}`), 'DDB req/commit @max', 'correct'],
        names.map((name) => [
          name,
          ...writers.map((n) => {
            const p = at(name, n);
            return p === undefined
              ? '–'
              : `${fmt(p.commitsPerSec, 0)} (${fmt(p.failedConditionsPerCommit, 2)})`;
          }),
          at(name, Math.max(...writers))?.ddbRequestsPerCommit ?? '–',
          names.length === 0
            ? '–'
            : contention.protocols.filter((p) => p.protocol === name).every((p) => p.correct),
        ]),
      ),
      '(measured on DynamoDB Local earlier, docs/design.md: optimistic 592→167 commits/s 1→16 writers with 7.8 failed conditions per commit; transaction 506→119; reservation 551→1,432)',
    );
  }
  if (results.e2e !== undefined) {
    const e = results.e2e;
    const invoked = e.handlerInvoked;
    const row = (label: string, f: LatencyFigure) => [
      label,
      f.samples,
      f.p50Ms,
      f.p99Ms,
      f.produceP50Ms,
      f.timeouts,
    ];
    out.push(
      table(
        'END TO END — produce acknowledged → consumer function invoked, one 1 KiB record at a time',
        ['figure', 'samples', 'p50 ms', 'p99 ms', 'produce p50 ms', 'timeouts'],
        [
          'unavailable' in invoked
            ? [
                'ack → handler invoked (local consumers)',
                `unavailable: ${invoked.unavailable}`,
                '',
                '',
                '',
                '',
              ]
            : row('ack → handler invoked (local consumers)', invoked),
          row('floor: ack → on the stream (GetRecords back to back)', e.streamVisible),
        ],
      ),
      e.note,
    );
  }
  const codec = results.codec ?? [];
  if (codec.length > 0) {
    out.push(
      table(
        'CODEC — MiB/s of batch bytes, CRC32C verified on decode; floor = Buffer copy + crc32c of the same bytes',
        ['shape', 'batch bytes', 'encode', 'decode', 'copy+CRC', 'encode ×floor', 'decode ×floor'],
        codec.map((p) => [
          p.shape,
          p.batchBytes,
          p.encodeMiBps,
          p.decodeMiBps,
          p.floorMiBps,
          p.encodeVsFloor,
          p.decodeVsFloor,
        ]),
      ),
    );
  }
  const cost = results.cost;
  if (cost !== undefined) {
    out.push(
      table(
        'COST per GiB ingested (us-east-1 list prices, bench/prices.ts); requests and request units counted, not estimated',
        [
          'shape',
          'parts',
          'S3 PUT/GiB',
          'DDB writes/GiB',
          'WRU/GiB',
          'WRU/call',
          'head bytes',
          '$/GiB S3+DDB',
          '$/GiB via API',
          '$/M rec S3+DDB',
          '$/M rec via API',
          'stored $/GiB-mo',
        ],
        cost.writes.map((w) => [
          w.shape,
          w.partitions,
          w.perGiB.s3Puts,
          w.perGiB.ddbWrites,
          w.perGiB.wru,
          w.wruPerCall,
          w.headItemBytes,
          dollars(w.perGiB.usdStorageRequests),
          dollars(w.perGiB.usdViaHttpApi),
          w.perMillionRecords === null ? '–' : dollars(w.perMillionRecords.usdStorageRequests),
          w.perMillionRecords === null ? '–' : dollars(w.perMillionRecords.usdViaHttpApi),
          dollars(w.storedPerGiB.usdPerMonth),
        ]),
      ),
      table(
        'COST of contention — 10 × 1 KiB commits on one partition (DynamoDB Local reports the WRUs; failed conditional writes estimated by item size)',
        ['writers', 'commits', 'DDB req/commit', 'failed cond/commit', 'WRU/commit', '$/GiB S3+DDB'],
        cost.contended.map((c) => [
          c.writers,
          c.commits,
          Object.entries(c.requestsPerCommit)
            .filter(([name]) => name.startsWith('ddb:'))
            .reduce((total, [, n]) => total + n, 0),
          c.failedConditionsPerCommit,
          c.wruPerCommit,
          dollars(c.usdPerGiB),
        ]),
      ),
      table(
        'COST per GiB read (1000 × 1 KiB batches)',
        [
          'fetch settings',
          'fetches',
          'GETs/GiB',
          'DDB reads/GiB',
          'RRU/GiB',
          '$/GiB S3+DDB',
          '$/GiB via API',
        ],
        cost.reads.map((r) => [
          r.label,
          r.fetches,
          r.requestsPerGiB['s3:GetObject'] ?? 0,
          r.requestsPerGiB['ddb:reads'] ?? 0,
          r.rruPerGiB,
          dollars(r.usdPerGiB),
          dollars(r.usdPerGiBViaHttpApi),
        ]),
      ),
      '',
      cost.idle.line,
    );
  }
  const targets = results.targets ?? [];
  if (targets.length > 0) {
    out.push('', 'TARGETS (shown, not asserted)');
    for (const t of targets) {
      out.push(`  [${t.status.toUpperCase()}] ${t.target}: ${t.measured}`);
      for (const miss of t.misses.slice(0, 12)) out.push(`      - ${miss}`);
      if (t.misses.length > 12) out.push(`      - ... ${t.misses.length - 12} more`);
    }
  }
  if (results.warnings.length > 0) out.push('', 'WARNINGS', ...results.warnings.map((w) => `  - ${w}`));
  if (results.problems.length > 0)
    out.push('', 'PROBLEMS (fail the run)', ...results.problems.map((p) => `  - ${p}`));
  for (const [suite, error] of Object.entries(results.suiteErrors))
    out.push(`  suite ${suite} failed: ${error}`);
  return out.join('\n');
}
