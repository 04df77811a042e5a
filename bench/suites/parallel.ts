import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoSubscriptionStore } from '../../lib/adapters/dynamodb/subscription-store.ts';
import { laneOf } from '../../lib/core/delivery-plan.ts';
import { Dispatcher } from '../../lib/engine/dispatcher.ts';
import { InProcessInvoker } from '../../lib/engine/in-process-invoker.ts';
import type { BenchStack } from '../support/stack.ts';
import { table } from '../support/table.ts';

/** One parallelizationFactor's run. */
export interface ParallelCell {
  readonly factor: number;
  readonly records: number;
  /** Produce of the last record → its handler done, ms. */
  readonly elapsedMs: number;
  readonly recordsPerSecond: number;
  /**
   * The handler-bound floor: the busiest lane's records × the handler's time per record (what the
   * function itself takes when lanes never wait on each other or on storage), ms.
   */
  readonly floorMs: number;
  /** floorMs / elapsedMs: 1 is the handler's own limit. */
  readonly ofFloor: number;
  readonly speedupOverFactor1: number;
  readonly maxInFlight: number;
  readonly keyOrderViolations: number;
  readonly invocations: number;
}

export interface ParallelResult {
  readonly handlerMsPerRecord: number;
  readonly batchSize: number;
  readonly keys: number;
  /** Reading every record once through fetch (the storage floor of the same data), ms. */
  readonly readFloorMs: number;
  readonly cells: readonly ParallelCell[];
  readonly method: string;
}

const FACTORS = [1, 4, 10] as const;
const HANDLER_MS = 10;
const BATCH = 10;
const KEYS = 100;

/**
 * Issue 10's parallelization figure: one partition of `records` records over 100 keys, a consumer
 * function that takes 10 ms per record, delivered by one in-process dispatcher with
 * parallelizationFactor 1, 4 and 10 (batchSize 10), beside the handler-bound floor and the time to
 * read the same records through fetch. Per-key order is checked on every run.
 */
export async function parallelSuite(
  records: number,
  stack: BenchStack,
  log: (line: string) => void,
): Promise<ParallelResult> {
  const engine = stack.engine();
  const cells: ParallelCell[] = [];
  let readFloorMs = 0;
  for (const factor of FACTORS) {
    const topic = `parallel-${factor}-${Date.now()}`;
    await engine.createTopic({ name: topic, partitions: 1 });
    const keyOf = (i: number) => `k${i % KEYS}`;
    for (let start = 0; start < records; start += 500) {
      await engine.produce({
        topic,
        records: Array.from({ length: Math.min(500, records - start) }, (_, j) => ({
          key: new TextEncoder().encode(keyOf(start + j)),
          value: new TextEncoder().encode(`v${start + j}`),
          partition: 0,
        })),
      });
    }
    if (factor === FACTORS[0]) {
      const began = performance.now();
      for (let offset = 0; offset < records; ) {
        offset = (await engine.fetch({ topic, partition: 0, offset, maxRecords: 1000 })).nextOffset;
      }
      readFloorMs = performance.now() - began;
    }
    const invoker = new InProcessInvoker();
    let inFlight = 0;
    let maxInFlight = 0;
    let invocations = 0;
    let violations = 0;
    let handled = 0;
    const last = new Map<string, number>();
    invoker.register('parallel-fn', async (event) => {
      invocations++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      for (const record of event.Records) {
        await sleep(HANDLER_MS);
        const key = String(record.key);
        if ((last.get(key) ?? -1) >= record.offset) violations++;
        last.set(key, record.offset);
        handled++;
      }
      inFlight--;
    });
    const dispatcher = new Dispatcher({
      deps: stack.ports(),
      subscriptions: new DynamoSubscriptionStore({ client: stack.dynamodb, table: stack.tables.meta }),
      invoker,
    });
    await dispatcher.subscribe({
      group: topic,
      topic,
      target: 'parallel-fn',
      startingPosition: 'earliest',
      batchSize: BATCH,
      parallelizationFactor: factor,
    });
    const spec = { ...(await dispatcherSubscription(stack, topic)) };
    const began = performance.now();
    await dispatcher.deliver(spec as never, 0, Date.now() + 15 * 60_000);
    const elapsedMs = performance.now() - began;
    // The busiest lane bounds the handler time: its records run one after another.
    const perLane = new Map<number, number>();
    for (let i = 0; i < records; i++) {
      const lane = laneOf({ key: new TextEncoder().encode(keyOf(i)), offset: i }, factor);
      perLane.set(lane, (perLane.get(lane) ?? 0) + 1);
    }
    const floorMs = Math.max(...perLane.values()) * HANDLER_MS;
    const cell: ParallelCell = {
      factor,
      records: handled,
      elapsedMs: Math.round(elapsedMs),
      recordsPerSecond: Math.round((handled / elapsedMs) * 1000),
      floorMs,
      ofFloor: Math.round((floorMs / elapsedMs) * 100) / 100,
      speedupOverFactor1:
        cells[0] === undefined ? 1 : Math.round((cells[0].elapsedMs / elapsedMs) * 100) / 100,
      maxInFlight,
      keyOrderViolations: violations,
      invocations,
    };
    cells.push(cell);
    log(
      `  factor ${factor}: ${cell.records} records in ${cell.elapsedMs} ms (${cell.recordsPerSecond}/s), floor ${floorMs} ms (${cell.ofFloor}× of it), ${maxInFlight} in flight, ${violations} order violations`,
    );
  }
  return {
    handlerMsPerRecord: HANDLER_MS,
    batchSize: BATCH,
    keys: KEYS,
    readFloorMs: Math.round(readFloorMs),
    cells,
    method:
      `${records} records of ${KEYS} keys in one partition; the handler sleeps ${HANDLER_MS} ms per record; ` +
      `batchSize ${BATCH}; one in-process dispatcher on MinIO + DynamoDB Local. Floor: the busiest lane's ` +
      'records × 10 ms (the handler alone); read floor: fetching the same records once.',
  };
}

async function dispatcherSubscription(stack: BenchStack, group: string) {
  const store = new DynamoSubscriptionStore({ client: stack.dynamodb, table: stack.tables.meta });
  const found = await store.get(group);
  if (found === undefined) throw new Error(`subscription ${group} not stored`);
  return found;
}

/** The report's table. */
export function parallelReport(result: ParallelResult): string[] {
  return [
    table(
      `PARALLEL — one partition, ${result.cells[0]?.records ?? 0} records of ${result.keys} keys, handler ${result.handlerMsPerRecord} ms/record, batchSize ${result.batchSize}; read floor ${result.readFloorMs} ms`,
      [
        'factor',
        'elapsed ms',
        'records/s',
        'floor ms',
        '×floor',
        'speed-up',
        'in flight',
        'order violations',
      ],
      result.cells.map((c) => [
        c.factor,
        c.elapsedMs,
        c.recordsPerSecond,
        c.floorMs,
        c.ofFloor,
        c.speedupOverFactor1,
        c.maxInFlight,
        c.keyOrderViolations,
      ]),
    ),
    result.method,
  ];
}
