import { GiB, MiB } from './support/load.ts';
import { SHAPES, type Shape } from './support/records.ts';

/**
 * How much work each figure gets. Full runs are sized by a time budget per measurement (each
 * measurement stops at its time budget or its call/byte cap, whichever comes first) so the whole
 * run takes ~16–18 minutes on a 2-core machine, plus ~8 for `catchup` (sized by bytes, not time);
 * `--quick` runs every code path with tiny budgets in well under 3 minutes, for CI (no timing
 * assertions anywhere).
 */
export interface BenchConfig {
  readonly mode: 'quick' | 'full';
  readonly produce: {
    readonly shapes: readonly Shape[];
    readonly partitions: readonly number[];
    readonly concurrency: readonly number[];
    /** Time per (cell, mode), split over `rounds` alternating floor / lib / HTTP. */
    readonly budgetMs: number;
    readonly rounds: number;
    /** Cap on payload bytes per (cell, mode), to bound disk use at large requests. */
    readonly maxBytes: number;
    readonly maxCalls: number;
  };
  readonly fetch: {
    readonly shapes: readonly Shape[];
    readonly bytesPerPartition: number;
    readonly consumers: readonly number[];
    readonly budgetMs: number;
    readonly rounds: number;
  };
  readonly catchUp: {
    /** Payload written to one partition and read back from offset 0. */
    readonly bytes: number;
    readonly shape: Shape;
    /** Also read it with fetch's defaults (500 records per fetch). */
    readonly withDefaults: boolean;
  };
  /**
   * Issue 9's catch-up figure, scaled down from its 1 GiB: `bytes` written in produce calls of one
   * `recordBytes` record to one partition, read from offset 0 before and after compaction.
   */
  readonly compactedCatchUp: {
    readonly bytes: number;
    readonly recordBytes: number;
    /** Produce calls in flight while writing. */
    readonly writers: number;
    /** The limits of every fetch of a read. */
    readonly maxRecords: number;
    readonly maxBytes: number;
    /** Cold reads after compaction, each beside a round of the floor (the read before it is one). */
    readonly rounds: number;
  };
  readonly contention: {
    readonly writers: readonly number[];
    readonly recordsPerCommit: number;
    readonly recordBytes: number;
    readonly budgetMs: number;
  };
  readonly protocols: { readonly writers: readonly number[]; readonly budgetMs: number };
  readonly codec: { readonly shapes: readonly Shape[]; readonly budgetMs: number };
  readonly cost: { readonly callsPerCell: number; readonly readBytes: number };
  readonly e2e: { readonly samples: number };
  /**
   * Issue 10's arrival latency (bench/suites/arrival.ts): per poller mode, `samples` records after
   * 0–300 ms pauses and `afterIdleSamples` after `idleGapMs`–`idleGapMs` + 200 ms, over `rounds`
   * rounds that alternate the modes' order; then the idle request rate over `idleWindowMs`.
   */
  readonly arrival: {
    readonly samples: number;
    readonly afterIdleSamples: number;
    readonly idleGapMs: number;
    readonly idleWindowMs: number;
    readonly rounds: number;
  };
  /** Issue 10's parallelizationFactor figure (bench/suites/parallel.ts): records in the partition. */
  readonly parallel: { readonly records: number };
}

const allShapes = [SHAPES['1x1KiB'], SHAPES['100x1KiB'], SHAPES['1000x1KiB'], SHAPES['1x1MiB']];

export const FULL: BenchConfig = {
  mode: 'full',
  produce: {
    shapes: allShapes,
    partitions: [1, 8],
    concurrency: [1, 8, 32],
    budgetMs: 8000,
    rounds: 2,
    maxBytes: 384 * MiB,
    maxCalls: 200_000,
  },
  fetch: {
    shapes: [SHAPES['100x1KiB'], SHAPES['1x1MiB']],
    bytesPerPartition: 16 * MiB,
    consumers: [1, 8],
    budgetMs: 6000,
    rounds: 2,
  },
  catchUp: { bytes: GiB, shape: SHAPES['1000x1KiB'], withDefaults: true },
  compactedCatchUp: {
    bytes: 32 * MiB,
    recordBytes: 1024,
    writers: 16,
    maxRecords: 10_000,
    maxBytes: 8 * MiB,
    rounds: 5,
  },
  contention: { writers: [1, 4, 16, 32], recordsPerCommit: 10, recordBytes: 1024, budgetMs: 6000 },
  protocols: { writers: [1, 4, 16, 32], budgetMs: 5000 },
  codec: {
    shapes: [{ id: '1000x100B', records: 1000, valueBytes: 100 }, ...allShapes.slice(1)],
    budgetMs: 3000,
  },
  cost: { callsPerCell: 64, readBytes: 128 * MiB },
  e2e: { samples: 150 },
  arrival: { samples: 150, afterIdleSamples: 40, idleGapMs: 1000, idleWindowMs: 10_000, rounds: 2 },
  parallel: { records: 2_000 },
};

export const QUICK: BenchConfig = {
  mode: 'quick',
  produce: { ...FULL.produce, budgetMs: 150, rounds: 1, maxBytes: 40 * MiB, maxCalls: 64 },
  fetch: { ...FULL.fetch, bytesPerPartition: 2 * MiB, budgetMs: 200, rounds: 1 },
  catchUp: { bytes: 8 * MiB, shape: SHAPES['1000x1KiB'], withDefaults: true },
  compactedCatchUp: { ...FULL.compactedCatchUp, bytes: 512 * 1024, rounds: 1 },
  contention: { ...FULL.contention, budgetMs: 250 },
  protocols: { ...FULL.protocols, budgetMs: 250 },
  codec: { ...FULL.codec, budgetMs: 60 },
  cost: { callsPerCell: 16, readBytes: 8 * MiB },
  e2e: { samples: 5 },
  arrival: { samples: 5, afterIdleSamples: 2, idleGapMs: 600, idleWindowMs: 1000, rounds: 1 },
  parallel: { records: 100 },
};
