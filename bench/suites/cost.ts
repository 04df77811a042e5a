import { randomBytes } from 'node:crypto';
import { type AttributeValue, QueryCommand } from '@aws-sdk/client-dynamodb';
import type { ProduceRecord } from '../../lib/core/types.ts';
import type { BenchConfig } from '../config.ts';
import { API_GATEWAY_METER_BYTES, LAMBDA_MEMORY_MB, PRICES } from '../prices.ts';
import { count, DDB_READS, DDB_WRITES } from '../support/instrument.ts';
import { itemSize } from '../support/item-size.ts';
import { GiB, MiB, percentile, round, runLoad, sum } from '../support/load.ts';
import {
  httpProduceBody,
  payloadBytes,
  produceRecords,
  SHAPES,
  type Shape,
  segmentOf,
} from '../support/records.ts';
import type { BenchStack } from '../support/stack.ts';
import { type ContendedWriteCost, contendedCost } from './contended-cost.ts';
import type { ProduceCell } from './produce.ts';
import { EIGHTY_CALLERS, type ProducersWriteCost, producersCost, SIXTEEN_WRITERS } from './producers-cost.ts';
import { type SweepCost, sweepCost } from './sweep-cost.ts';

const GB = 1e9; // AWS bills storage in decimal GB

export interface WriteCost {
  readonly shape: string;
  readonly partitions: number;
  readonly calls: number;
  readonly partitionsTouchedPerCall: number;
  /** Counted by SDK middleware over `calls` sequential calls after one warm-up call. */
  readonly requestsPerCall: Record<string, number>;
  /** Write request units DynamoDB Local reported per call (ReturnConsumedCapacity), plus failed-write estimates. */
  readonly wruPerCall: number;
  readonly rruPerCall: number;
  /** Size of a partition head after the run (bytes, DynamoDB's item-size rules). */
  readonly headItemBytes: number;
  readonly perGiB: {
    readonly s3Puts: number;
    readonly ddbWrites: number;
    readonly wru: number;
    readonly apiGatewayRequests: number;
    /** S3 + DynamoDB requests only: what Streambed itself costs per GiB ingested (library use). */
    readonly usdStorageRequests: number;
    /** Plus API Gateway and the produce Lambda (estimated duration, see `lambdaMsPerCall`). */
    readonly usdViaHttpApi: number;
  };
  readonly lambdaMsPerCall: number;
  /** Per million records, for 1 KiB-record shapes. */
  readonly perMillionRecords: { readonly usdStorageRequests: number; readonly usdViaHttpApi: number } | null;
  /** Bytes kept per GiB of payload: segment objects in S3, index items in DynamoDB (+100 B each). */
  readonly storedPerGiB: {
    readonly s3Bytes: number;
    readonly ddbBytes: number;
    readonly usdPerMonth: number;
  };
}

export interface ReadCost {
  readonly label: string;
  readonly bytesRead: number;
  readonly fetches: number;
  readonly requestsPerGiB: Record<string, number>;
  readonly rruPerGiB: number;
  readonly usdPerGiB: number;
  readonly usdPerGiBViaHttpApi: number;
  readonly lambdaMsPerFetch: number;
}

export interface CostResults {
  /** WRU per plain and per idempotent commit while 64 idempotent producers write one partition. */
  /** 16 callers (8 plain, 8 for 64 idempotent producers): the issue-8 figure. */
  readonly withProducers: ProducersWriteCost;
  /** 16 plain writers + 64 producers each calling on its own: up to 80 callers on one head. */
  readonly withProducersOpen: ProducersWriteCost;
  /** The lifecycle sweep: idle per month, and per GiB retired (issue 9). */
  readonly sweep: SweepCost;
  readonly writes: WriteCost[];
  /** The same 10 × 1 KiB commits with 1 and with 16 concurrent writers on one partition. */
  readonly contended: ContendedWriteCost[];
  readonly reads: ReadCost[];
  readonly idle: {
    readonly line: string;
    readonly usdPerMonthEmpty: number;
    readonly perGiBRetained: Record<string, number>;
  };
  readonly method: string[];
}

const usd = {
  s3Put: PRICES.s3PutPer1000.usd / 1000,
  s3Get: PRICES.s3GetPer1000.usd / 1000,
  wru: PRICES.ddbWriteRequestUnitPerMillion.usd / 1e6,
  rru: PRICES.ddbReadRequestUnitPerMillion.usd / 1e6,
  apiGw: PRICES.apiGatewayHttpPerMillion.usd / 1e6,
  lambdaRequest: PRICES.lambdaRequestPerMillion.usd / 1e6,
  lambdaGbSecond: PRICES.lambdaArmGbSecond.usd,
  s3Storage: PRICES.s3StorageGbMonth.usd,
  ddbStorage: PRICES.ddbStorageGbMonth.usd + PRICES.ddbPitrGbMonth.usd,
};

const lambdaUsd = (memoryMb: number, ms: number) =>
  usd.lambdaRequest + (memoryMb / 1024) * (ms / 1000) * usd.lambdaGbSecond;

async function partitionItems(stack: BenchStack, pk: string): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const out = await stack.dynamodb.send(
      new QueryCommand({
        TableName: stack.tables.log,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: pk } },
        ExclusiveStartKey: start,
      }),
    );
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}

/**
 * Requests and request units per GiB written and read, counted by SDK middleware on dedicated
 * clients (`ReturnConsumedCapacity` on every DynamoDB request), turned into dollars with
 * bench/prices.ts; stored bytes per GiB; and what a deployment costs with no traffic.
 */
export async function costSuite(
  config: BenchConfig,
  stack: BenchStack,
  produceCells: readonly ProduceCell[],
  log: (line: string) => void,
): Promise<CostResults> {
  const run = randomBytes(2).toString('hex');
  const cost = stack.costClients();
  const writes: WriteCost[] = [];
  for (const shape of config.produce.shapes) {
    for (const partitions of config.produce.partitions) {
      writes.push(await writeCost(config, stack, cost, shape, partitions, produceCells, run));
      const w = writes.at(-1) as WriteCost;
      log(
        `cost ${shape.id} p=${partitions}: ${w.wruPerCall} WRU/call, $${w.perGiB.usdStorageRequests}/GiB (S3+DynamoDB), ` +
          `$${w.perGiB.usdViaHttpApi}/GiB via the HTTP API`,
      );
    }
  }
  const contended: ContendedWriteCost[] = [];
  for (const writers of [1, 16]) {
    contended.push(await contendedCost(config, stack, cost, writers, run));
    const c = contended.at(-1) as ContendedWriteCost;
    log(
      `cost contended n=${writers}: ${c.wruPerCommit} WRU/commit, head ${c.head.endBytes} B (max ${c.head.maxBytes} B), $${c.usdPerGiB}/GiB`,
    );
  }
  const [withProducers, withProducersOpen] = [
    await producersCost(config, stack, run, SIXTEEN_WRITERS),
    await producersCost(config, stack, run, EIGHTY_CALLERS),
  ];
  for (const p of [withProducers, withProducersOpen]) {
    log(
      `cost with ${p.idempotentProducers} idempotent producers (${p.idempotentWriters} callers) + ${p.plainWriters} plain writers: ` +
        `${p.wruPerPlainCommit} WRU/plain commit, ${p.wruPerIdempotentCommit} WRU/idempotent commit, ` +
        `head ${p.headBytes} B (max ${p.head.maxBytes} B, tail ≤ ${p.head.maxTail})`,
    );
  }
  const sweep = await sweepCost(config, stack);
  log(
    `cost sweep: idle ${sweep.partitions}-partition topic $${sweep.idleUsdPerMonth.total}/month ` +
      `(${JSON.stringify(sweep.idlePass.requests)}), retiring $${sweep.retired.usdPerGiB}/GiB over ${sweep.retired.passes} passes`,
  );
  const reads = await readCost(config, stack, run, log);
  const idle = idleCost(writes);
  return {
    writes,
    contended,
    withProducers,
    withProducersOpen,
    sweep,
    reads,
    idle,
    method: [
      'Requests: counted per command by SDK middleware (bench/support/instrument.ts) on dedicated clients, never estimated.',
      'Request units: DynamoDB Local answers ReturnConsumedCapacity (checked: a 3,000-byte PutItem reports 3 WCU, a ' +
        'consistent GetItem 1 RCU), so the middleware adds ReturnConsumedCapacity=TOTAL to every data-plane request of ' +
        'the cost pass and sums what comes back. Failed conditional writes report nothing; DynamoDB bills them by the ' +
        'existing item, so they are estimated from the returned old item by the item-size rules (bench/support/item-size.ts). ' +
        'Transactions: DynamoDB bills 2 units per item KB where DynamoDB Local reports 1, so their units are doubled; a ' +
        'cancelled transaction is estimated at 2 units per KB of each item it returned.',
      'Stored bytes: segment object sizes (as encoded) and index items read back with the item-size rules + 100 B each.',
      `Lambda: ${LAMBDA_MEMORY_MB.produce} MB arm64 (infra/api.ts); duration per call = this machine's HTTP p50 at ` +
        'concurrency 1 for the same cell (local MinIO and DynamoDB Local answer faster than S3 and DynamoDB do, so on AWS ' +
        'the duration and this line would be higher).',
      'API Gateway HTTP API: one request per started 512 KB of the JSON request body (base64 values).',
      'No free tier, no Savings Plans; us-east-1 list prices from bench/prices.ts.',
    ],
  };
}

async function writeCost(
  config: BenchConfig,
  stack: BenchStack,
  cost: ReturnType<BenchStack['costClients']>,
  shape: Shape,
  partitions: number,
  produceCells: readonly ProduceCell[],
  run: string,
): Promise<WriteCost> {
  const topic = `cost-${shape.id.toLowerCase()}-p${partitions}-${run}`;
  const created = await cost.engine.createTopic({ name: topic, partitions });
  const variants = Array.from({ length: partitions }, (_, v) => produceRecords(shape, partitions, v));
  await cost.engine.produce({ topic, records: variants[0] as ProduceRecord[] });
  cost.instruments.reset();
  const calls = config.cost.callsPerCell;
  let segmentBytes = segmentOf(shape, partitions, 0, Date.now()).bytes.length;
  for (let i = 0; i < calls; i++) {
    await cost.engine.produce({ topic, records: variants[(i + 1) % partitions] as ProduceRecord[] });
    segmentBytes += segmentOf(shape, partitions, (i + 1) % partitions, Date.now()).bytes.length;
  }
  const snapshot = cost.instruments.snapshot();
  const perCall = (n: number) => n / calls;
  const payload = payloadBytes(shape);
  const callsPerGiB = GiB / payload;
  const wruPerCall = perCall(snapshot.capacity.write + snapshot.capacity.failedWriteEstimate);
  const rruPerCall = perCall(snapshot.capacity.read);
  const s3PutsPerCall = perCall(count(snapshot.requests, 's3:', ['PutObject']));
  const ddbWritesPerCall = perCall(count(snapshot.requests, 'ddb:', DDB_WRITES));
  const body = Buffer.byteLength(httpProduceBody(shape, partitions, 0));
  const apiGwPerCall = Math.ceil(body / API_GATEWAY_METER_BYTES);
  const storage = s3PutsPerCall * usd.s3Put + wruPerCall * usd.wru + rruPerCall * usd.rru;
  const cell = produceCells.find(
    (c) => c.shape === shape.id && c.partitions === partitions && c.concurrency === 1,
  );
  const lambdaMs = cell?.http.p50Ms ?? Number.NaN;
  const viaHttp = storage + apiGwPerCall * usd.apiGw + lambdaUsd(LAMBDA_MEMORY_MB.produce, lambdaMs);

  // Stored bytes: every item of the topic's partitions (heads and pages) and the segment objects.
  const items = (
    await Promise.all(
      Array.from({ length: partitions }, (_, p) => partitionItems(stack, `${created.id}#${p}`)),
    )
  ).flat();
  const ddbBytes = sum(items.map((item) => itemSize(item) + 100));
  const heads = items.filter((item) => item.sk?.N === '-1');
  const headItemBytes = Math.max(...heads.map((item) => itemSize(item)));
  const payloadTotal = (calls + 1) * payload;
  const s3PerGiB = (segmentBytes / payloadTotal) * GiB;
  const ddbPerGiB = (ddbBytes / payloadTotal) * GiB;
  return {
    shape: shape.id,
    partitions,
    calls,
    partitionsTouchedPerCall: Math.min(shape.records, partitions),
    requestsPerCall: Object.fromEntries(
      Object.entries(snapshot.requests).map(([name, n]) => [name, round(perCall(n), 3)]),
    ),
    wruPerCall: round(wruPerCall, 3),
    rruPerCall: round(rruPerCall, 3),
    headItemBytes,
    perGiB: {
      s3Puts: round(s3PutsPerCall * callsPerGiB, 1),
      ddbWrites: round(ddbWritesPerCall * callsPerGiB, 1),
      wru: round(wruPerCall * callsPerGiB, 1),
      apiGatewayRequests: round(apiGwPerCall * callsPerGiB, 1),
      usdStorageRequests: round(storage * callsPerGiB, 4),
      usdViaHttpApi: round(viaHttp * callsPerGiB, 4),
    },
    lambdaMsPerCall: round(lambdaMs, 2),
    perMillionRecords:
      shape.valueBytes === 1024
        ? {
            usdStorageRequests: round((storage / shape.records) * 1e6, 4),
            usdViaHttpApi: round((viaHttp / shape.records) * 1e6, 4),
          }
        : null,
    storedPerGiB: {
      s3Bytes: Math.round(s3PerGiB),
      ddbBytes: Math.round(ddbPerGiB),
      usdPerMonth: round((s3PerGiB / GB) * usd.s3Storage + (ddbPerGiB / GB) * usd.ddbStorage, 5),
    },
  };
}

async function readCost(
  config: BenchConfig,
  stack: BenchStack,
  run: string,
  log: (line: string) => void,
): Promise<ReadCost[]> {
  const shape = SHAPES['1000x1KiB'];
  const topic = `cost-read-${run}`;
  const writer = stack.engine();
  await writer.createTopic({ name: topic, partitions: 1 });
  const records = produceRecords(shape, 1, 0);
  await runLoad(
    {
      concurrency: 8,
      budgetMs: Number.POSITIVE_INFINITY,
      maxCalls: Math.max(1, Math.ceil(config.cost.readBytes / payloadBytes(shape))),
    },
    async () => {
      await writer.produce({ topic, records });
      return { bytes: 0, records: 0 };
    },
  );
  const out: ReadCost[] = [];
  const settings = [
    { label: 'tuned (maxRecords 10000, maxBytes 8 MiB)', maxRecords: 10_000, maxBytes: 8 * MiB },
    { label: 'defaults (maxRecords 500, maxBytes 1 MiB)' },
  ] as const;
  for (const setting of settings) {
    // Fresh clients and engine per setting: the engine caches decoded batches, and a read must not
    // find the previous setting's batches there.
    const cost = stack.costClients();
    await cost.engine.listOffsets(topic, 0, 'latest'); // warms the topic cache, reads no batch
    cost.instruments.reset();
    let offset = 0;
    let bytes = 0;
    let fetches = 0;
    const latencies: number[] = [];
    for (;;) {
      const t0 = performance.now();
      const result = await cost.engine.fetch({
        topic,
        partition: 0,
        offset,
        ...('maxRecords' in setting ? { maxRecords: setting.maxRecords, maxBytes: setting.maxBytes } : {}),
      });
      latencies.push(performance.now() - t0);
      fetches++;
      for (const record of result.records) bytes += record.value?.length ?? 0;
      offset = result.nextOffset;
      if (offset >= result.highWatermark || result.records.length === 0) break;
    }
    const snapshot = cost.instruments.snapshot();
    const gib = bytes / GiB;
    const gets = count(snapshot.requests, 's3:', ['GetObject']);
    const reads = count(snapshot.requests, 'ddb:', DDB_READS);
    const storage = gets * usd.s3Get + snapshot.capacity.read * usd.rru;
    const lambdaMs = percentile(latencies, 50);
    const viaHttp = storage + fetches * (usd.apiGw + lambdaUsd(LAMBDA_MEMORY_MB.fetch, lambdaMs));
    out.push({
      label: setting.label,
      bytesRead: bytes,
      fetches,
      requestsPerGiB: {
        ...Object.fromEntries(
          Object.entries(snapshot.requests).map(([name, n]) => [name, round(n / gib, 1)]),
        ),
        'ddb:reads': round(reads / gib, 1),
      },
      rruPerGiB: round(snapshot.capacity.read / gib, 1),
      usdPerGiB: round(storage / gib, 5),
      usdPerGiBViaHttpApi: round(viaHttp / gib, 5),
      lambdaMsPerFetch: round(lambdaMs, 2),
    });
    const last = out.at(-1) as ReadCost;
    log(
      `cost read ${setting.label}: $${last.usdPerGiB}/GiB, $${last.usdPerGiBViaHttpApi}/GiB via the HTTP API`,
    );
  }
  return out;
}

function idleCost(writes: readonly WriteCost[]): CostResults['idle'] {
  const perGiBRetained: Record<string, number> = {};
  for (const w of writes.filter((w) => w.partitions === 1))
    perGiBRetained[w.shape] = w.storedPerGiB.usdPerMonth;
  const values = Object.values(perGiBRetained);
  const low = Math.min(...values);
  const high = Math.max(...values);
  return {
    usdPerMonthEmpty: 0,
    perGiBRetained,
    line:
      'Idle (no traffic): Lambda $0, API Gateway $0, DynamoDB on-demand requests $0, stream reads $0 — a deployment ' +
      `with no data costs ~$0.00/month; retained data costs S3 Standard $${PRICES.s3StorageGbMonth.usd}/GB-month plus the ` +
      `index in DynamoDB ($${PRICES.ddbStorageGbMonth.usd} + PITR $${PRICES.ddbPitrGbMonth.usd}/GB-month): ` +
      `$${round(low, 4)}–$${round(high, 4)} per GiB-month retained, depending on batch size (see perGiBRetained).`,
  };
}
