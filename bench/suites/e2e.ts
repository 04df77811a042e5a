import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchConfig } from '../config.ts';
import { describeError, percentile, round } from '../support/load.ts';
import { produceRecords } from '../support/records.ts';
import type { BenchStack } from '../support/stack.ts';

export interface LatencyFigure {
  readonly samples: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  /** Produce latency of the same calls (acknowledgement), for reference. */
  readonly produceP50Ms: number;
  readonly timeouts: number;
}

export interface EndToEnd {
  /**
   * Produce acknowledged → the consumer function invoked with the record, through the local consumer
   * runner (functions/local/consumers.ts: the log table's stream on DynamoDB Local → the dispatcher →
   * the handler), one 1 KiB record at a time.
   */
  readonly handlerInvoked: LatencyFigure | { readonly unavailable: string };
  /**
   * The floor: produce acknowledged → the commit (head update) readable on the log table's stream by a
   * reader polling GetRecords back to back. No consumer path can beat it.
   */
  readonly streamVisible: LatencyFigure;
  readonly note: string;
}

/** DynamoDB Streams' JSON API. DynamoDB Local serves it on the same port and does not check signatures. */
function streamsApi(endpoint: string) {
  return async <T>(action: string, body: unknown): Promise<T> => {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': `DynamoDBStreams_20120810.${action}`,
        authorization:
          'AWS4-HMAC-SHA256 Credential=local/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
      },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${action}: HTTP ${response.status} ${text.slice(0, 200)}`);
    return JSON.parse(text) as T;
  };
}

export interface StreamRecord {
  dynamodb?: { NewImage?: { pk?: { S?: string }; next?: { N?: string } } };
}

const TIMEOUT_MS = 5000;
/** Upper bound of the random pause before each sample (above the local poller's 200 ms idle sleep). */
const GAP_MS = 300;

/** Raw timings of one sampling run: ack → seen, and the produce calls' own latency (ms). */
export interface Samples {
  readonly latencies: number[];
  readonly produceLatencies: number[];
  timeouts: number;
}

/** A random pause of 0–{@link GAP_MS} ms: produce calls land at random phases of a poll cycle. */
export const busyGap = () => Math.random() * GAP_MS;

/**
 * Produces `samples` single 1 KiB records one after another; for each, waits until `seen(offset)`
 * resolves (with the performance.now() at which it was seen) and records seen − acknowledged.
 * Appends to `into` when given (several rounds of one figure).
 */
export async function collect(
  samples: number,
  produce: () => Promise<number>,
  seen: (offset: number) => Promise<number>,
  gapMs: () => number = busyGap,
  into: Samples = { latencies: [], produceLatencies: [], timeouts: 0 },
): Promise<Samples> {
  for (let i = 0; i < samples; i++) {
    // A random pause first, so produce calls land at random phases of the consumer's poll cycle
    // (as independent producers would), not right after the previous delivery.
    await new Promise((resolve) => setTimeout(resolve, gapMs()));
    const t0 = performance.now();
    const offset = await produce();
    const acked = performance.now();
    into.produceLatencies.push(acked - t0);
    let timer: NodeJS.Timeout | undefined;
    const at = await Promise.race([
      seen(offset),
      new Promise<number>((resolve) => {
        timer = setTimeout(() => resolve(Number.NaN), TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
    if (Number.isNaN(at)) into.timeouts++;
    else into.latencies.push(Math.max(0, at - acked));
  }
  return into;
}

/** Nearest-rank percentiles of a sampling run. */
export function summarize(samples: Samples): LatencyFigure {
  return {
    samples: samples.latencies.length,
    p50Ms: round(percentile(samples.latencies, 50), 2),
    p95Ms: round(percentile(samples.latencies, 95), 2),
    p99Ms: round(percentile(samples.latencies, 99), 2),
    produceP50Ms: round(percentile(samples.produceLatencies, 50), 2),
    timeouts: samples.timeouts,
  };
}

async function sample(
  samples: number,
  produce: () => Promise<number>,
  seen: (offset: number) => Promise<number>,
): Promise<LatencyFigure> {
  return summarize(await collect(samples, produce, seen));
}

/** Offsets seen so far, and who waits for which: `seen(offset)` resolves at the time it was seen. */
export function sightings() {
  const at = new Map<number, number>();
  const waiting = new Map<number, (time: number) => void>();
  return {
    mark(offset: number, time: number) {
      if (at.has(offset)) return;
      at.set(offset, time);
      waiting.get(offset)?.(time);
      waiting.delete(offset);
    },
    seen(offset: number): Promise<number> {
      const time = at.get(offset);
      if (time !== undefined) return Promise.resolve(time);
      return new Promise((resolve) => waiting.set(offset, resolve));
    },
  };
}

/**
 * The floor: `samples` single records produced to a new one-partition topic `topic`, each timed from
 * its acknowledgement until a reader polling GetRecords back to back on every open shard sees the
 * head's `next` pass it.
 */
export async function streamVisibleSamples(
  stack: BenchStack,
  topic: string,
  samples: number,
  gapMs: () => number = busyGap,
  into?: Samples,
): Promise<Samples> {
  const call = streamsApi(stack.endpoints.dynamoDbEndpoint);
  const engine = stack.engine();
  const created = await engine.createTopic({ name: topic, partitions: 1 });
  const pk = `${created.id}#0`;
  const { Streams } = await call<{ Streams: { StreamArn: string }[] }>('ListStreams', {
    TableName: stack.tables.log,
  });
  const arn = Streams[0]?.StreamArn;
  if (arn === undefined) throw new Error('the log table has no stream');
  const { StreamDescription } = await call<{
    StreamDescription: {
      Shards: { ShardId: string; SequenceNumberRange?: { EndingSequenceNumber?: string } }[];
    };
  }>('DescribeStream', { StreamArn: arn });
  const open = StreamDescription.Shards.filter(
    (s) => s.SequenceNumberRange?.EndingSequenceNumber === undefined,
  );
  const iterators = await Promise.all(
    open.map(
      async (shard) =>
        (
          await call<{ ShardIterator: string }>('GetShardIterator', {
            StreamArn: arn,
            ShardId: shard.ShardId,
            ShardIteratorType: 'LATEST',
          })
        ).ShardIterator,
    ),
  );
  // Back-to-back GetRecords on every open shard; a head whose `next` reached n + 1 holds offset n.
  const sight = sightings();
  let marked = 0;
  let stop = false;
  const poller = (async () => {
    while (!stop) {
      for (let i = 0; i < iterators.length; i++) {
        const out = await call<{ Records: StreamRecord[]; NextShardIterator?: string }>('GetRecords', {
          ShardIterator: iterators[i],
        });
        if (out.NextShardIterator !== undefined) iterators[i] = out.NextShardIterator;
        const now = performance.now();
        for (const record of out.Records) {
          const image = record.dynamodb?.NewImage;
          if (image?.pk?.S !== pk) continue;
          const next = Number(image.next?.N ?? 0);
          for (; marked < next; marked++) sight.mark(marked, now);
        }
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  const records = produceRecords({ id: 'e2e', records: 1, valueBytes: 1024 }, 1, 0);
  try {
    return await collect(
      samples,
      async () => (await engine.produce({ topic, records })).offsets[0]?.offset ?? -1,
      (offset) => sight.seen(offset),
      gapMs,
      into,
    );
  } finally {
    stop = true;
    await poller;
  }
}

async function streamVisible(config: BenchConfig, stack: BenchStack, run: string): Promise<LatencyFigure> {
  return summarize(await streamVisibleSamples(stack, `e2e-floor-${run}`, config.e2e.samples));
}

async function handlerInvoked(
  config: BenchConfig,
  stack: BenchStack,
  run: string,
  log: (line: string) => void,
): Promise<LatencyFigure | { unavailable: string }> {
  let startLocalConsumers: typeof import('../../functions/local/consumers.ts').startLocalConsumers;
  try {
    ({ startLocalConsumers } = await import('../../functions/local/consumers.ts'));
  } catch (error) {
    return { unavailable: `functions/local/consumers.ts did not load: ${describeError(error)}` };
  }
  const consumer = await import('../support/e2e-consumer.ts');
  const engine = stack.engine();
  const topic = `e2e-${run}`;
  await engine.createTopic({ name: topic, partitions: 1 });
  const dir = mkdtempSync(join(tmpdir(), 'streambed-bench-e2e-'));
  const file = join(dir, 'consumers.json');
  const handlerPath = fileURLToPath(new URL('../support/e2e-consumer.ts', import.meta.url));
  writeFileSync(
    file,
    JSON.stringify({
      consumers: [
        { group: `bench-e2e-${run}`, topic, handler: `${handlerPath}#handler`, startingPosition: 'latest' },
      ],
    }),
  );
  const sight = sightings();
  const listener = (offset: number, _: number, at: number, from: string) => {
    if (from === topic) sight.mark(offset, at);
  };
  consumer.deliveries.add(listener);
  const consumers = await startLocalConsumers({
    endpoints: stack.endpoints,
    config: stack.config,
    file,
    log: (line) => log(`consumers: ${line}`),
  });
  const records = produceRecords({ id: 'e2e', records: 1, valueBytes: 1024 }, 1, 0);
  try {
    return await sample(
      config.e2e.samples,
      async () => (await engine.produce({ topic, records })).offsets[0]?.offset ?? -1,
      (offset) => sight.seen(offset),
    );
  } finally {
    consumer.deliveries.delete(listener);
    await consumers.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * End to end: produce acknowledged → consumer function invoked, beside its floor (the commit
 * readable on the stream). One record at a time, so each sample is one full trip.
 */
export async function endToEndSuite(
  config: BenchConfig,
  stack: BenchStack,
  log: (line: string) => void,
): Promise<EndToEnd> {
  const run = Date.now().toString(36);
  const floor = await streamVisible(config, stack, run);
  log(`e2e floor: ack → on stream p50 ${floor.p50Ms} ms, p99 ${floor.p99Ms} ms`);
  const invoked = await handlerInvoked(config, stack, run, log);
  if ('unavailable' in invoked) log(`e2e: ${invoked.unavailable}`);
  else log(`e2e: ack → handler invoked p50 ${invoked.p50Ms} ms, p99 ${invoked.p99Ms} ms`);
  return {
    handlerInvoked: invoked,
    streamVisible: floor,
    note:
      'Samples start after a random 0–300 ms pause. The local consumer runner (functions/local/consumers.ts) wakes ' +
      'its stream poller when a commit goes through its DynamoDB client (the bench’s engine shares it), then reads ' +
      'with a 10→200 ms backoff; the arrival suite compares the poller’s modes and their idle request rates.',
  };
}
