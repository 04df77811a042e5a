import { randomBytes } from 'node:crypto';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { DynamoPartitionIndex } from '../../lib/adapters/dynamodb/partition-index.ts';
import { newObjectId } from '../../lib/core/object-keys.ts';
import { planProduce } from '../../lib/core/produce-plan.ts';
import { encodeSegment } from '../../lib/core/segment/index.ts';
import type { BenchConfig } from '../config.ts';
import { entryAttribute } from '../support/entry.ts';
import { percentile, round, sum } from '../support/load.ts';
import { produceRecords, SHAPES, type Shape } from '../support/records.ts';
import type { BenchStack } from '../support/stack.ts';

/** Where one produce call's time goes, at concurrency 1 on one partition: each step timed alone. */
export interface BreakdownRow {
  readonly shape: string;
  /** Step → { p50Ms, meanMs } over its samples. */
  readonly steps: Record<
    string,
    { readonly p50Ms: number; readonly meanMs: number; readonly samples: number }
  >;
  /** plan+encode + PutObject(If-None-Match) + head append, p50s added. */
  readonly partsP50Ms: number;
  /** Raw PutObject + conditional PutItem, p50s added: the floor. */
  readonly floorP50Ms: number;
}

const STEPS = [
  'plan+encode (CPU)',
  'PutObject (raw)',
  'PutObject (If-None-Match, as lib)',
  'PutItem (conditional, fresh key)',
  'head append (UpdateItem, lib)',
  'produce (lib, whole call)',
] as const;

/**
 * Times the parts of a produce call one by one — CPU (plan and encode), the S3 PUT with and
 * without lib's If-None-Match, the floor's PutItem, lib's head append — beside a whole produce
 * call, interleaved in rounds. It explains a produce cell's ratio to its floor.
 */
export async function breakdownSuite(
  config: BenchConfig,
  stack: BenchStack,
  log: (line: string) => void,
): Promise<BreakdownRow[]> {
  const rows: BreakdownRow[] = [];
  const shapes: Shape[] = [SHAPES['1x1KiB'], SHAPES['1000x1KiB'], SHAPES['1x1MiB']];
  const run = randomBytes(2).toString('hex');
  const engine = stack.engine();
  const index = new DynamoPartitionIndex({ client: stack.dynamodb, table: stack.tables.log });
  const budgetMs = config.mode === 'quick' ? 40 : 1200;
  for (const shape of shapes) {
    const topicName = `breakdown-${shape.id.toLowerCase()}-${run}`;
    const topic = await engine.createTopic({ name: topicName, partitions: 1 });
    const headKey = `breakdown-${shape.id.toLowerCase()}-${run}`;
    await index.createPartitions(headKey, 1);
    const records = produceRecords(shape, 1, 0);
    const request = { topic: topicName, records };
    const encoded = encodeSegment(planProduce(request, topic, Date.now(), 0).batches);
    const location = encoded.batches[0];
    if (location === undefined) throw new Error('no batch');
    let n = 0;
    const objectId = () => newObjectId(Date.now());
    const work: Record<(typeof STEPS)[number], () => Promise<unknown> | unknown> = {
      'plan+encode (CPU)': () => encodeSegment(planProduce(request, topic, Date.now(), 0).batches),
      'PutObject (raw)': () =>
        stack.s3.send(
          new PutObjectCommand({
            Bucket: stack.bucket,
            Key: `breakdown/${run}/${shape.id}/${n++}`,
            Body: encoded.bytes,
            ContentLength: encoded.bytes.byteLength,
          }),
        ),
      'PutObject (If-None-Match, as lib)': () =>
        stack.s3.send(
          new PutObjectCommand({
            Bucket: stack.bucket,
            Key: `breakdown/${run}/${shape.id}/${n++}`,
            Body: encoded.bytes,
            ContentLength: encoded.bytes.byteLength,
            ContentType: 'application/vnd.streambed.segment',
            IfNoneMatch: '*',
          }),
        ),
      'PutItem (conditional, fresh key)': () =>
        stack.dynamodb.send(
          new PutItemCommand({
            TableName: stack.tables.log,
            Item: {
              pk: { S: `breakdown#${run}#${shape.id}` },
              sk: { N: String(n++) },
              e: entryAttribute(location),
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        ),
      'head append (UpdateItem, lib)': () =>
        index.append(
          { topic: topicName, topicId: headKey, partition: 0 },
          {
            objectId: objectId(),
            byteOffset: location.byteOffset,
            byteLength: location.byteLength,
            recordCount: location.recordCount,
            maxTimestamp: location.maxTimestamp,
            appendTime: Date.now(),
          },
        ),
      'produce (lib, whole call)': () => engine.produce(request),
    };
    const samples: Record<string, number[]> = {};
    for (const step of STEPS) {
      for (let i = 0; i < 3; i++) await work[step](); // warm up
      samples[step] = [];
    }
    for (let round = 0; round < 2; round++) {
      for (const step of round === 0 ? STEPS : [...STEPS].reverse()) {
        const list = samples[step] as number[];
        const start = performance.now();
        do {
          const t0 = performance.now();
          await work[step]();
          list.push(performance.now() - t0);
        } while (performance.now() - start < budgetMs / 2);
      }
    }
    const steps = Object.fromEntries(
      STEPS.map((step) => {
        const list = samples[step] as number[];
        return [
          step,
          {
            p50Ms: round(percentile(list, 50), 3),
            meanMs: round(sum(list) / list.length, 3),
            samples: list.length,
          },
        ];
      }),
    );
    const p50 = (step: (typeof STEPS)[number]) => steps[step]?.p50Ms ?? Number.NaN;
    const row: BreakdownRow = {
      shape: shape.id,
      steps,
      partsP50Ms: round(
        p50('plan+encode (CPU)') +
          p50('PutObject (If-None-Match, as lib)') +
          p50('head append (UpdateItem, lib)'),
        2,
      ),
      floorP50Ms: round(p50('PutObject (raw)') + p50('PutItem (conditional, fresh key)'), 2),
    };
    rows.push(row);
    log(`breakdown ${shape.id}: ${STEPS.map((s) => `${s} ${p50(s)}`).join(', ')} (ms, p50)`);
  }
  return rows;
}
