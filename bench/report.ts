import { dollars, ioTables } from './report-io.ts';
import { type Arrival, arrivalReport } from './suites/arrival.ts';
import type { BreakdownRow } from './suites/breakdown.ts';
import type { CompactedCatchUp } from './suites/catchup.ts';
import type { CodecPoint } from './suites/codec.ts';
import type { ContentionResults } from './suites/contention.ts';
import type { CostResults } from './suites/cost.ts';
import type { EndToEnd, LatencyFigure } from './suites/e2e.ts';
import type { FetchResults } from './suites/fetch.ts';
import { type ParallelResult, parallelReport } from './suites/parallel.ts';
import type { ProduceCell } from './suites/produce.ts';
import { round } from './support/load.ts';
import type { MachineDescription } from './support/machine.ts';
import { table } from './support/table.ts';
import { fmt, ITEM_WRU_PER_SECOND, type Target } from './targets.ts';

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
  /** Issue 9: a catch-up read of 1 KiB produce calls before and after compaction. */
  catchup?: CompactedCatchUp | undefined;
  /** Issue 10: produce acknowledged → local consumer function invoked, per stream poller mode. */
  arrival?: Arrival | undefined;
  /** Issue 10: one partition delivered with parallelizationFactor 1, 4 and 10. */
  parallel?: ParallelResult | undefined;
  targets?: Target[] | undefined;
  /** Correctness problems (these fail the run) and warnings (call errors under load). */
  problems: string[];
  warnings: string[];
  suiteErrors: Record<string, string>;
}

const pair = (a: number, b: number) => `${fmt(a, 1)}/${fmt(b, 1)}`;

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
  out.push(...ioTables(results));
  const contention = results.contention;
  if (contention !== undefined) {
    out.push(
      table(
        'CONTENTION — N producers on ONE partition, full produce calls of 10 × 1 KiB; failed cond = ConditionalCheckFailed + TransactionCanceled; head bytes at the end (max while running)',
        [
          'writers',
          'commits/s',
          '×1 writer',
          'MiB/s',
          'p50/p99 ms',
          'DDB req/commit',
          'failed cond/commit',
          'tail full',
          'dup page puts',
          'trim lost',
          'page puts/commit',
          'SDK retries/commit',
          'head B (max)',
          'tail max',
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
          p.failedConditionsPerCommit,
          p.appendFailuresPerCommit,
          p.duplicatePagePutsPerCommit,
          p.pageTrimFailuresPerCommit,
          p.pagePutsPerCommit,
          p.sdkRetriesPerCommit,
          `${p.head.endBytes} (${p.head.maxBytes})`,
          p.head.maxTail,
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
      'Every protocol stores the same ~20-byte format-2 entry per commit; only the commit protocol differs.',
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
  if (results.arrival !== undefined) out.push(...arrivalReport(results.arrival));
  if (results.parallel !== undefined) out.push(...parallelReport(results.parallel));
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
        [
          'writers',
          'commits',
          'DDB req/commit',
          'failed cond/commit',
          'WRU/commit',
          'head B end (max)',
          'ceiling on AWS',
          '$/GiB S3+DDB',
        ],
        cost.contended.map((c) => [
          c.writers,
          c.commits,
          Object.entries(c.requestsPerCommit)
            .filter(([name]) => name.startsWith('ddb:'))
            .reduce((total, [, n]) => total + n, 0),
          c.failedConditionsPerCommit,
          c.wruPerCommit,
          `${c.head.endBytes} (${c.head.maxBytes})`,
          `${fmt(ITEM_WRU_PER_SECOND / c.wruPerCommit, 0)} commits/s`,
          dollars(c.usdPerGiB),
        ]),
      ),
      producersTable(cost),
      sweepTable(cost),
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
  for (const [group, title] of [
    ['issue 8', 'TARGETS — issue 8, index format 2 (shown, not asserted)'],
    ['issue 9', 'TARGETS — issue 9, lifecycle (shown, not asserted)'],
    ['earlier', 'TARGETS — earlier issues (shown, not asserted)'],
  ] as const) {
    const targets = (results.targets ?? []).filter((t) => t.group === group);
    if (targets.length === 0) continue;
    out.push('', title);
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

/** The lifecycle sweep: a month of idle passes, and retiring data (issue 9). */
function sweepTable(cost: CostResults): string {
  const w = cost.sweep;
  if (w === undefined) return '';
  const reqs = (r: Record<string, number>) =>
    Object.entries(r)
      .filter(([name]) => !name.includes('Exception'))
      .map(([name, n]) => `${name.replace(/^(ddb|s3):/, '')} ${n}`)
      .join(', ');
  return table(
    `SWEEP — the scheduled lifecycle pass (every 5 minutes on AWS) on its own tables: one ${w.partitions}-partition topic`,
    ['case', 'requests', 'WRU', 'RRU', 'ms', '$'],
    [
      [
        'idle pass',
        reqs(w.idlePass.requests),
        w.idlePass.wru,
        w.idlePass.rru,
        w.idlePass.ms,
        `${fmt(w.idleUsdPerMonth.total, 4)}/month`,
      ],
      [
        `retire ${fmt(w.retired.bytes / 1048576, 0)} MiB (${w.retired.objects} objects, ${w.retired.passes} passes)`,
        reqs(w.retired.pass.requests),
        w.retired.pass.wru,
        w.retired.pass.rru,
        w.retired.pass.ms,
        `${fmt(w.retired.usdPerGiB, 5)}/GiB`,
      ],
    ],
  );
}

/** The 64-producer runs: plain and idempotent commits side by side on one partition. */
function producersTable(cost: CostResults): string {
  const ddb = (counts: Record<string, number>) =>
    Object.entries(counts)
      .filter(([name]) => name.startsWith('ddb:') && !name.includes('Exception'))
      .reduce((total, [, n]) => total + n, 0);
  const runs = [cost.withProducers, cost.withProducersOpen].filter((p) => p !== undefined);
  const rows = runs.flatMap((p) => {
    const callers = `${p.plainWriters} plain + ${p.idempotentWriters} for ${p.idempotentProducers} producers`;
    const head = `${p.head.endBytes} B (max ${p.head.maxBytes} B, tail ≤ ${p.head.maxTail})`;
    return [
      [
        callers,
        'plain',
        p.plainCommits,
        p.wruPerPlainCommit,
        '–',
        round(ddb(p.plainRequestsPerCommit), 3),
        p.plainFailedConditionsPerCommit,
        `${fmt(ITEM_WRU_PER_SECOND / p.wruPerPlainCommit, 0)} commits/s`,
        head,
      ],
      [
        callers,
        'idempotent (transaction)',
        p.idempotentCommits,
        p.wruPerIdempotentCommit,
        p.rruPerIdempotentCommit,
        round(ddb(p.idempotentRequestsPerCommit), 3),
        p.idempotentFailedConditionsPerCommit,
        `${fmt(ITEM_WRU_PER_SECOND / p.wruPerIdempotentCommit, 0)} commits/s`,
        head,
      ],
    ];
  });
  return table(
    'COST with 64 idempotent producers on one partition beside plain writers, 10 × 1 KiB commits (callers: 16 in all, then 80 with each producer calling on its own every 250 ms)',
    [
      'callers',
      'commits',
      'count',
      'WRU/commit',
      'RRU/commit',
      'DDB req/commit',
      'failed cond/commit',
      'ceiling on AWS',
      'head at end (max)',
    ],
    rows,
  );
}
