import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { type BatchLocation, entryAttribute } from './entry.ts';
import type { BenchStack } from './stack.ts';

/**
 * One call of the produce floor: the raw S3 + DynamoDB work a produce cannot do without — a PutObject
 * of the segment, then one conditional PutItem per batch of the index entry Streambed would append
 * (format 2, ~20 bytes) — under `floor/<id>/<i>` and `floor#<id>#<partition>`, sk i.
 *
 * @example await floorProduce(stack, 'produce-c8', i, encodeSegment(batches));
 */
export async function floorProduce(
  stack: BenchStack,
  id: string,
  i: number,
  segment: {
    readonly bytes: Uint8Array;
    readonly batches: readonly (BatchLocation & { partition: number })[];
  },
): Promise<void> {
  await stack.s3.send(
    new PutObjectCommand({
      Bucket: stack.bucket,
      Key: `floor/${id}/${i}`,
      Body: segment.bytes,
      ContentLength: segment.bytes.byteLength,
    }),
  );
  await Promise.all(
    segment.batches.map((batch) =>
      stack.dynamodb.send(
        new PutItemCommand({
          TableName: stack.tables.log,
          Item: {
            pk: { S: `floor#${id}#${batch.partition}` },
            sk: { N: String(i) },
            e: entryAttribute(batch),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    ),
  );
}
