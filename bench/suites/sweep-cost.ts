import { awsPorts } from '../../lib/adapters/aws.ts';
import { Streambed } from '../../lib/engine/streambed.ts';
import type { BenchConfig } from '../config.ts';
import { PRICES } from '../prices.ts';
import { count, Instruments } from '../support/instrument.ts';
import { GiB, MiB, round } from '../support/load.ts';
import { produceRecords, SHAPES } from '../support/records.ts';
import { type BenchStack, benchStack } from '../support/stack.ts';

/** Memory of the sweeper function in infra/lifecycle.ts (MB), and its schedule. */
const SWEEPER_MB = 512;
const PASSES_PER_MONTH = (30.4 * 24 * 60) / 5;
const GRACE_MS = 120_000;

/** What one sweep pass costs, measured on its own tables and bucket. */
export interface SweepPassCost {
  readonly requests: Record<string, number>;
  readonly wru: number;
  readonly rru: number;
  readonly ms: number;
}

export interface SweepCost {
  readonly partitions: number;
  /** A pass over one idle topic (nothing to retire or collect). */
  readonly idlePass: SweepPassCost;
  /** The month of passes every 5 minutes on that idle topic, and what it is made of. */
  readonly idleUsdPerMonth: { total: number; lambda: number; dynamodb: number; s3: number };
  readonly retired: {
    bytes: number;
    objects: number;
    passes: number;
    pass: SweepPassCost;
    usdPerGiB: number;
  };
  readonly method: string;
}

function passCost(instruments: Instruments, ms: number): SweepPassCost {
  const s = instruments.snapshot();
  return {
    requests: { ...s.requests },
    wru: round(s.capacity.write + s.capacity.failedWriteEstimate, 2),
    rru: round(s.capacity.read, 2),
    ms: round(ms, 1),
  };
}

/** Idle passes measured together (collection lists a window every other pass). */
const IDLE_PASSES = 2;

function perPass(total: SweepPassCost, passes: number): SweepPassCost {
  return {
    requests: Object.fromEntries(Object.entries(total.requests).map(([k, v]) => [k, round(v / passes, 2)])),
    wru: round(total.wru / passes, 2),
    rru: round(total.rru / passes, 2),
    ms: round(total.ms / passes, 1),
  };
}

function usd(pass: SweepPassCost): { lambda: number; dynamodb: number; s3: number } {
  const lambda =
    (pass.ms / 1000) * (SWEEPER_MB / 1024) * PRICES.lambdaArmGbSecond.usd +
    PRICES.lambdaRequestPerMillion.usd / 1e6;
  const dynamodb =
    pass.wru * (PRICES.ddbWriteRequestUnitPerMillion.usd / 1e6) +
    pass.rru * (PRICES.ddbReadRequestUnitPerMillion.usd / 1e6);
  // LIST and DeleteObjects are billed as PUT-class requests; DeleteObject itself is free.
  const s3 =
    count(pass.requests, 's3:', ['ListObjectsV2', 'DeleteObjects']) * (PRICES.s3PutPer1000.usd / 1000);
  return { lambda, dynamodb, s3 };
}

/**
 * The scheduled sweep's cost (issue 9): one pass over an idle 8-partition topic, priced as a month of
 * passes every 5 minutes; and the passes that retire a topic's data, per GiB retired. Runs on its own
 * tables and bucket (a pass sweeps every topic) with a clock the suite moves.
 */
export async function sweepCost(config: BenchConfig, shared: BenchStack): Promise<SweepCost> {
  const stack = await benchStack(shared.endpoints);
  try {
    const clock = { now: Date.now() };
    const instruments = new Instruments().attach(stack.s3, stack.dynamodb, { capacity: true });
    const log = new Streambed(awsPorts({ ...stack.config, engine: { now: () => clock.now } }));
    const partitions = 8;
    await log.createTopic({ name: 'swept', partitions, config: { retentionMs: 3_600_000 } });
    const bytes = config.mode === 'quick' ? 4 * MiB : 64 * MiB;
    const shape = SHAPES['100x1KiB'];
    const calls = Math.ceil(bytes / (shape.records * shape.valueBytes));
    for (let i = 0; i < calls; i += 16) {
      await Promise.all(
        Array.from({ length: Math.min(16, calls - i) }, (_, j) =>
          log.produce({ topic: 'swept', records: produceRecords(shape, partitions, i + j) }),
        ),
      );
    }
    // Idle: a first pass counts what is there; the next ones find nothing to do.
    clock.now += 10 * 60_000;
    await log.sweep({ graceMs: GRACE_MS });
    clock.now += 5 * 60_000;
    await log.sweep({ graceMs: GRACE_MS });
    // Two passes (a 10-minute collection window is listed every other pass), priced as their average.
    instruments.reset();
    let started = performance.now();
    for (let pass = 0; pass < IDLE_PASSES; pass++) {
      clock.now += 5 * 60_000;
      await log.sweep({ graceMs: GRACE_MS });
    }
    const idlePass = perPass(passCost(instruments, performance.now() - started), IDLE_PASSES);
    const idle = usd(idlePass);
    // Retire everything: an hour's retention has passed.
    clock.now += 2 * 3_600_000;
    instruments.reset();
    started = performance.now();
    let passes = 0;
    let objects = 0;
    for (; passes < 50; ) {
      passes++;
      const report = await log.sweep({ graceMs: GRACE_MS });
      const deleted = report.topics.reduce((n, t) => n + t.objectsDeleted, 0);
      objects += deleted;
      if (deleted === 0 && report.topics.every((t) => t.recordsRetired === 0)) break;
    }
    const retirePass = passCost(instruments, performance.now() - started);
    const retireUsd = usd(retirePass);
    const total = retireUsd.lambda * passes + retireUsd.dynamodb + retireUsd.s3;
    return {
      partitions,
      idlePass,
      idleUsdPerMonth: {
        total: round((idle.lambda + idle.dynamodb + idle.s3) * PASSES_PER_MONTH, 4),
        lambda: round(idle.lambda * PASSES_PER_MONTH, 4),
        dynamodb: round(idle.dynamodb * PASSES_PER_MONTH, 4),
        s3: round(idle.s3 * PASSES_PER_MONTH, 4),
      },
      retired: {
        bytes: calls * shape.records * shape.valueBytes,
        objects,
        passes,
        pass: retirePass,
        usdPerGiB: round(total / ((calls * shape.records * shape.valueBytes) / GiB), 5),
      },
      method:
        'Requests and request units counted on the sweep’s clients (ReturnConsumedCapacity), DeleteObjects and ' +
        'ListObjectsV2 priced as S3 PUT-class requests, Lambda at 512 MB arm64 for the pass’s wall time on this ' +
        'machine (local services answer faster than AWS, so the Lambda share is a lower bound). A month is ' +
        `${Math.round(PASSES_PER_MONTH)} passes (every 5 minutes).`,
    };
  } finally {
    stack.close();
  }
}
