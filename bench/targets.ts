import type { BenchResults } from './report.ts';

/** A figure beside its target, evaluated on one run. Nothing asserts it. */
export interface Target {
  /** Which issue set the target: 8 is index format 2, 9 the lifecycle; 'earlier' the first bench's targets. */
  readonly group: 'issue 8' | 'issue 9' | 'issue 10' | 'earlier';
  readonly target: string;
  /** `shown`: a figure the issue asks for without a threshold. */
  readonly status: 'met' | 'missed' | 'not measured' | 'shown';
  readonly measured: string;
  readonly misses: string[];
}

export const fmt = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : '–');

/** What one DynamoDB item (a partition head) takes per second on AWS. */
export const ITEM_WRU_PER_SECOND = 1000;
/** One item under 1 KB is 1 WRU per standard write. */
const ONE_KB = 1024;

const check = (ok: boolean): Target['status'] => (ok ? 'met' : 'missed');

const notMeasured = (group: Target['group'], target: string, why: string): Target => ({
  group,
  target,
  status: 'not measured',
  measured: why,
  misses: [],
});

/** Issue 8 (index format 2): WRU per commit, the head's size, 32 writers, 100 × 1 KiB on 8 partitions. */
function issue8(results: BenchResults): Target[] {
  const group = 'issue 8';
  const targets: Target[] = [];
  const cost = results.cost;
  const contended = (n: number) => cost?.contended.find((c) => c.writers === n);
  for (const [writers, limit] of [
    [1, 1.1],
    [16, 1.5],
  ] as const) {
    const target = `WRU per commit, ${writers} writer${writers === 1 ? '' : 's'} on one partition (10 × 1 KiB) ≤ ${limit}`;
    const c = contended(writers);
    if (c === undefined) targets.push(notMeasured(group, target, 'cost not run'));
    else {
      targets.push({
        group,
        target,
        status: check(c.wruPerCommit <= limit),
        measured: `${fmt(c.wruPerCommit, 3)} WRU/commit over ${c.commits} commits (head ${c.head.endBytes} B at the end, ${c.head.maxBytes} B max)`,
        misses: [],
      });
    }
  }
  const p = cost?.withProducers;
  const plainTarget = `WRU per plain commit, 16 writers on one partition, also with ${p?.idempotentProducers ?? 64} active idempotent producers ≤ 1.5`;
  const idemTarget = 'WRU per idempotent commit (TransactWriteItems of head + producer state; ≈ 4 expected)';
  if (p === undefined) {
    targets.push(notMeasured(group, plainTarget, 'cost not run'));
    targets.push(notMeasured(group, idemTarget, 'cost not run'));
  } else {
    targets.push({
      group,
      target: plainTarget,
      status: check(p.wruPerPlainCommit <= 1.5),
      measured:
        `${fmt(p.wruPerPlainCommit, 3)} over ${p.plainCommits} plain commits (${p.plainWriters} plain writers, ${p.idempotentWriters} ` +
        `callers for the producers); ${fmt(p.plainFailedConditionsPerCommit, 3)} failed conditions and ` +
        `${fmt(p.plainTransactionConflictsPerCommit, 3)} transaction conflicts per plain commit`,
      misses: [],
    });
    targets.push({
      group,
      target: idemTarget,
      status: 'shown',
      measured:
        `${fmt(p.wruPerIdempotentCommit, 3)} WRU, ${fmt(p.rruPerIdempotentCommit, 3)} RRU over ${p.idempotentCommits} idempotent commits; ` +
        `${fmt(p.idempotentFailedConditionsPerCommit, 3)} cancelled transactions per commit (estimated at 2 units per KB of each item)`,
      misses: [],
    });
  }
  const heads: [string, { endBytes: number; maxBytes: number } | undefined][] = [
    ...(results.contention?.streambed ?? []).map(
      (q) => [`contention n=${q.writers}`, q.head] as [string, typeof q.head],
    ),
    ...(cost?.contended ?? []).map((c) => [`cost n=${c.writers}`, c.head] as [string, typeof c.head]),
    ...[p, cost?.withProducersOpen]
      .filter((q) => q !== undefined)
      .map(
        (q) =>
          [
            `${q.idempotentProducers} producers + ${q.plainWriters} plain (${q.plainWriters + q.idempotentWriters} callers)`,
            q.head,
          ] as [string, typeof q.head],
      ),
  ];
  const headTarget =
    'head item ≤ 1 KB (1 WRU per update) at the end of each contention run, whatever the producers';
  if (heads.length === 0) targets.push(notMeasured(group, headTarget, 'contention and cost not run'));
  else {
    const over = heads.filter(([, h]) => !((h?.endBytes ?? Number.NaN) <= ONE_KB));
    targets.push({
      group,
      target: headTarget,
      status: check(over.length === 0),
      measured: heads.map(([label, h]) => `${label}: ${h?.endBytes} B (max ${h?.maxBytes})`).join('; '),
      misses: over.map(([label, h]) => `${label}: ${h?.endBytes} B at the end`),
    });
  }
  const points = results.contention?.streambed ?? [];
  const one = points.find((q) => q.writers === 1);
  const n32 = points.find((q) => q.writers === 32);
  const label = '32 writers on one partition (full produce calls, 10 × 1 KiB)';
  if (one === undefined || n32 === undefined) {
    targets.push(
      notMeasured(group, `${label}: commits/s ≥ one writer's`, 'contention at 1 and 32 writers not run'),
    );
  } else {
    targets.push(
      {
        group,
        target: `${label}: commits/s ≥ one writer's`,
        status: check(n32.throughput.callsPerSec >= one.throughput.callsPerSec),
        measured: `${fmt(n32.throughput.callsPerSec, 1)} vs ${fmt(one.throughput.callsPerSec, 1)} commits/s (${fmt(n32.vsOneWriter)}×)`,
        misses: [],
      },
      {
        group,
        target: `${label}: p99 latency ≤ 100 ms`,
        status: check(n32.throughput.p99Ms <= 100),
        measured: `p99 ${fmt(n32.throughput.p99Ms, 1)} ms (p50 ${fmt(n32.throughput.p50Ms, 1)} ms)`,
        misses: [],
      },
      {
        group,
        target: `${label}: failed conditions per commit ≤ 0.1 (ConditionalCheckFailed + TransactionCanceled)`,
        status: check(n32.failedConditionsPerCommit <= 0.1),
        measured:
          `${fmt(n32.failedConditionsPerCommit, 3)} (tail full ${fmt(n32.appendFailuresPerCommit, 3)}, duplicate page puts ` +
          `${fmt(n32.duplicatePagePutsPerCommit, 3)}, trims lost ${fmt(n32.pageTrimFailuresPerCommit, 3)})`,
        misses: [],
      },
      {
        group,
        target: `${label}: DynamoDB requests per commit`,
        status: 'shown',
        measured:
          `${fmt(n32.ddbRequestsPerCommit, 3)} (1 + 2/32 + 1/256 ≈ 1.07 by design); SDK retries ${fmt(n32.sdkRetriesPerCommit, 3)} per commit; ` +
          `curve ${points.map((q) => `n=${q.writers} ${fmt(q.throughput.callsPerSec, 0)}/s p99 ${fmt(q.throughput.p99Ms, 0)} ms`).join(', ')}`,
        misses: [],
      },
    );
  }
  const cell = (results.produce ?? []).find(
    (c) => c.shape === '100x1KiB' && c.partitions === 8 && c.concurrency === 32,
  );
  const shapeTarget =
    '100 × 1 KiB produce calls on 8 partitions at concurrency 32: ≥ 0.6× the floor (lib and HTTP)';
  if (cell === undefined) targets.push(notMeasured(group, shapeTarget, 'that produce cell not run'));
  else {
    const lib = cell.libVsFloor.throughput;
    const http = cell.httpVsFloor.throughput;
    targets.push({
      group,
      target: shapeTarget,
      status: check(lib >= 0.6 && http >= 0.6),
      measured:
        `lib ${fmt(lib)}×, HTTP ${fmt(http)}× (floor ${cell.floor.mibPerSec} MiB/s, lib ${cell.lib.mibPerSec}, HTTP ${cell.http.mibPerSec}); ` +
        `lib ${fmt(cell.lib.conditionalFailuresPerCall ?? Number.NaN, 3)} failed conditions and ${fmt(cell.lib.sdkRetriesPerCall ?? Number.NaN, 3)} SDK retries per call`,
      misses: [...(lib >= 0.6 ? [] : [`lib ${fmt(lib)}×`]), ...(http >= 0.6 ? [] : [`HTTP ${fmt(http)}×`])],
    });
  }
  const ceiling = (wru: number | undefined) =>
    wru === undefined || !(wru > 0) ? '–' : `${fmt(ITEM_WRU_PER_SECOND / wru, 0)} commits/s`;
  if (cost !== undefined) {
    const c1 = contended(1)?.wruPerCommit;
    const c16 = contended(16)?.wruPerCommit;
    targets.push({
      group,
      target:
        'ceiling per partition on AWS = 1,000 WRU/s per item ÷ WRU per commit (a Kinesis shard: 1,000 records/s, 1 MiB/s)',
      status: 'shown',
      measured:
        `1 writer ${ceiling(c1)} (${c1 === undefined ? '–' : fmt((10 * ITEM_WRU_PER_SECOND) / c1, 0)} records/s, ` +
        `${c1 === undefined ? '–' : fmt((10 * 1024 * ITEM_WRU_PER_SECOND) / c1 / 1024 ** 2, 1)} MiB/s at 10 × 1 KiB per commit); ` +
        `16 writers ${ceiling(c16)}; plain beside producers ${ceiling(p?.wruPerPlainCommit)}; idempotent ${ceiling(p?.wruPerIdempotentCommit)}`,
      misses: [],
    });
  }
  return targets;
}

/** Issue 9 (lifecycle): the catch-up read of 1 KiB calls before and after compaction, shown per GiB. */
function issue9(results: BenchResults): Target[] {
  const target =
    'catch-up read of data written in 1 KiB calls, before → after compaction: GETs per GiB, MiB/s as a ratio of the floor, $ per GiB read';
  const c = results.catchup;
  if (c === undefined) return [notMeasured('issue 9', target, 'catchup not run')];
  const { before: b, after: a } = c;
  const usd = (r: typeof b) => `$${(r.perGiB.usdRequests + r.perGiB.usdLambda).toPrecision(3)}`;
  return [
    {
      group: 'issue 9',
      target,
      status: 'shown',
      measured:
        `${fmt(b.perGiB.gets, 0)} → ${fmt(a.perGiB.gets, 0)} GETs/GiB (floor ${fmt(c.floor.getsPerGiB, 0)}), ` +
        `${fmt(b.vsFloor, 3)}× → ${fmt(a.vsFloor, 3)}× the floor (${b.mibPerSec} → ${a.mibPerSec} MiB/s, floor ${c.floor.mibPerSec}), ` +
        `${usd(b)} → ${usd(a)} per GiB (S3+DDB+Lambda); scaled from ${fmt(c.bytes / 1024 ** 2, 1)} MiB; records identical: ${c.check}`,
      misses: [],
    },
  ];
}

/** The first bench's targets (produce throughput and latency, 16 writers, requests, decode). */
function earlier(results: BenchResults): Target[] {
  const group = 'earlier';
  const targets: Target[] = [];
  const produce = results.produce ?? [];
  const mib = produce.filter((c) => c.bytesPerCall >= 1000 * 1024);
  if (mib.length === 0) {
    targets.push(notMeasured(group, '≥ 0.90× floor MiB/s at 1 MiB requests', 'produce not run'));
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
      group,
      target: '≥ 0.90× the floor’s MiB/s at 1 MiB requests (1×1MiB and 1000×1KiB)',
      status: check(misses.length === 0),
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
      group,
      target: 'produce p50 ≤ floor + 5 ms, p99 ≤ floor + 20 ms (lib, every cell)',
      status: check(p50.length === 0 && p99.length === 0),
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
      group,
      target:
        '16 writers on one partition: total throughput ≥ one writer’s; ≤ 1 extra DynamoDB call per commit',
      status: check(total && extra),
      measured:
        `${fmt(sixteen.throughput.callsPerSec, 1)} vs ${fmt(one.throughput.callsPerSec, 1)} commits/s (${fmt(sixteen.vsOneWriter)}×); ` +
        `${fmt(sixteen.extraDdbRequestsPerCommit, 3)} extra DynamoDB requests/commit, ${fmt(sixteen.failedConditionsPerCommit, 3)} failed conditions/commit`,
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
      group,
      target: '≤ 1 S3 PUT per produce call and ≤ 1 DynamoDB write per partition touched',
      status: check(puts <= 1 && over.length === 0),
      measured:
        `max ${fmt(puts, 3)} S3 PUT/call; DynamoDB writes per partition touched up to ${fmt(worst.w, 3)} ` +
        `(${worst.c.shape} p=${worst.c.partitions} c=${worst.c.concurrency}) — 1 commit UpdateItem + paging ` +
        '(a page PutItem and a trim every 32nd commit, a time-index PutItem every 256th: 1.07 by design)',
      misses: over.map(
        ({ c, w }) => `${c.shape} p=${c.partitions} c=${c.concurrency}: ${fmt(w, 3)} writes/partition`,
      ),
    });
  }
  const codec = results.codec ?? [];
  if (codec.length > 0) {
    const misses = codec.filter((p) => !(p.decodeVsFloor >= 0.5));
    targets.push({
      group,
      target: 'decode ≥ 0.5× the copy + CRC floor',
      status: check(misses.length === 0),
      measured: codec.map((p) => `${p.shape} ${fmt(p.decodeVsFloor)}×`).join(', '),
      misses: misses.map((p) => `${p.shape}: ${fmt(p.decodeVsFloor)}×`),
    });
  }
  return targets;
}

/** The issues' targets, evaluated on this run (for the bench to show; nothing asserts them). */
/** Issue 10: arrival latency locally, and what parallelizationFactor buys. */
function issue10(results: BenchResults): Target[] {
  const group = 'issue 10';
  const targets: Target[] = [];
  const arrivalTarget =
    'produce acknowledged → local handler invoked, p50 ≤ 100 ms, idle GetRecords/s not above before';
  const after = results.arrival?.modes.find((m) => m.mode === 'after');
  const before = results.arrival?.modes.find((m) => m.mode === 'before');
  if (after === undefined || before === undefined)
    targets.push(notMeasured(group, arrivalTarget, 'arrival not run'));
  else {
    const idleOk = (after.idle?.getRecordsPerSec ?? 0) <= (before.idle?.getRecordsPerSec ?? 0) * 1.05;
    targets.push({
      group,
      target: arrivalTarget,
      status: check(after.busy.p50Ms <= 100 && idleOk),
      measured: `p50 ${fmt(after.busy.p50Ms, 1)} ms (before ${fmt(before.busy.p50Ms, 1)} ms); idle GetRecords/s ${fmt(after.idle?.getRecordsPerSec ?? Number.NaN)} (before ${fmt(before.idle?.getRecordsPerSec ?? Number.NaN)})`,
      misses: [],
    });
  }
  const parallelTarget =
    'parallelizationFactor 1 vs 4 vs 10 with a 10 ms/record handler (per-key order kept)';
  const cells = results.parallel?.cells ?? [];
  if (cells.length === 0) targets.push(notMeasured(group, parallelTarget, 'parallel not run'));
  else {
    targets.push({
      group,
      target: parallelTarget,
      status: 'shown',
      measured: cells
        .map(
          (c) =>
            `×${c.factor}: ${c.recordsPerSecond} rec/s (${fmt(c.ofFloor)}× floor, ${fmt(c.speedupOverFactor1)}× factor 1)`,
        )
        .join('; '),
      misses: cells.filter((c) => c.keyOrderViolations > 0).map((c) => `factor ${c.factor} broke key order`),
    });
  }
  return targets;
}

export function evaluateTargets(results: BenchResults): Target[] {
  return [...issue8(results), ...issue9(results), ...issue10(results), ...earlier(results)];
}
