import type { BenchResults } from './report.ts';
import type { CatchUpReads, CompactedCatchUp } from './suites/catchup.ts';
import type { CatchUpFloor } from './suites/catchup-parts.ts';
import { round } from './support/load.ts';
import { table } from './support/table.ts';
import { fmt } from './targets.ts';

const pair = (a: number, b: number) => `${fmt(a, 1)}/${fmt(b, 1)}`;
export const dollars = (value: number) =>
  Number.isFinite(value) ? `$${value < 0.01 ? value.toPrecision(3) : value.toFixed(4)}` : '–';

/** The produce, breakdown and fetch tables of the report (each beside its floor). */
export function ioTables(results: BenchResults): string[] {
  const out: string[] = [];
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
        'PRODUCE requests, counted by SDK middleware (lib | HTTP server); SDK retries = failed attempts the SDK retried itself (lib/HTTP)',
        [
          'shape',
          'parts',
          'conc',
          'touched',
          'S3 PUT/call',
          'DDB writes/part.',
          'DDB req/call',
          'failed cond/call',
          'SDK retries/call',
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
          `${c.lib.sdkRetriesPerCall ?? '–'}/${c.http.sdkRetriesPerCall ?? '–'}`,
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
  const catchup = results.catchup;
  if (catchup !== undefined) out.push(compactedCatchUpTable(catchup));
  return out;
}

/** Issue 9: a catch-up read of 1 KiB produce calls before and after compaction, per GiB. */
function compactedCatchUpTable(c: CompactedCatchUp): string {
  const read = (label: string, r: CatchUpReads) => [
    `${label} (${r.reads} read${r.reads === 1 ? '' : 's'})`,
    r.objects,
    r.perGiB.gets,
    r.perGiB.ddbReads,
    r.perGiB.rru,
    r.mibPerSec,
    r.vsFloor,
    r.vsLayoutFloor,
    dollars(r.perGiB.usdRequests),
    dollars(r.perGiB.usdLambda),
  ];
  const floor = (f: CatchUpFloor) => [
    `floor: ${f.label}`,
    f.objects,
    f.getsPerGiB,
    0,
    0,
    f.mibPerSec,
    '–',
    '–',
    dollars(f.usdPerGiB),
    '–',
  ];
  const k = c.compaction;
  const sweepRequests = Object.entries(k.requestsPerGiB)
    .filter(([name]) => !name.includes('Exception'))
    .map(([name, n]) => `${name.replace(/^(ddb|s3):/, '')} ${fmt(n, 0)}`)
    .join(', ');
  return [
    table(
      `CATCH-UP READ before and after compaction (issue 9): ${round(c.bytes / 1024 ** 2, 2)} MiB written in ${c.calls} produce calls of one ` +
        `${c.recordBytes} B record, one partition; per-GiB figures scaled ×${round(1024 ** 3 / c.bytes, 1)}; ×floor = MiB/s over ` +
        `GETs of ${c.floor.label}; ×layout = over ranged GETs of the same stored batches; records as written and identical: ${c.check}`,
      [
        'read',
        'objects',
        'GETs/GiB',
        'DDB reads/GiB',
        'RRU/GiB',
        'MiB/s',
        '×floor',
        '×layout',
        '$/GiB S3+DDB',
        '$/GiB Lambda',
      ],
      [
        read('before compaction', c.before),
        read('after compaction', c.after),
        floor(c.floor),
        floor(c.layoutFloorBefore),
        floor(c.layoutFloorAfter),
      ],
    ),
    `compaction: ${k.passes} sweep pass(es) + ${k.collectionPasses} collecting, ${k.batchesCompacted} batches merged, ` +
      `${k.objectsBefore} → ${k.objectsAfter} objects in ${k.seconds} s; per GiB ${sweepRequests}; ` +
      `${dollars(k.usdPerGiB.requests)} requests + ${dollars(k.usdPerGiB.lambda)} Lambda per GiB compacted`,
  ].join('\n');
}
