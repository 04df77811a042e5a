import { setTimeout as sleep } from 'node:timers/promises';
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { UnknownTopicError } from '../../core/errors.ts';
import type { PartitionRef } from '../../core/ports.ts';
import { mapAwsError } from '../aws-errors.ts';
import { type Item, N, S } from './attributes.ts';
import { batchWrite } from './batch.ts';
import { gcKey } from './gc-state.ts';
import { headKey, partitionKey, producersKey, timeKey } from './head-codec.ts';

/**
 * Sets `del` on every head of the topic. Appends are conditional on its absence, so once this has
 * returned no append can land on the topic's partitions. A head already gone stays gone.
 *
 * @example
 * await fencePartitions(client, 'streambed-log', topic.id, topic.partitions);
 */
export async function fencePartitions(
  client: DynamoDBClient,
  table: string,
  topicId: string,
  partitions: number,
): Promise<void> {
  const all = Array.from({ length: partitions }, (_, partition) => partition);
  for (let i = 0; i < all.length; i += 25) {
    await Promise.all(
      all.slice(i, i + 25).map(async (partition) => {
        try {
          await client.send(
            new UpdateItemCommand({
              TableName: table,
              Key: headKey(topicId, partition),
              UpdateExpression: 'SET #del = :true',
              ConditionExpression: 'attribute_exists(pk)',
              ExpressionAttributeNames: { '#del': 'del' },
              ExpressionAttributeValues: { ':true': { BOOL: true } },
            }),
          );
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException)) mapAwsError(error);
        }
      }),
    );
  }
}

/**
 * Deletes every item of the topic's partitions in the log table: pages (and the head, last),
 * time-index items, producer states. Idempotent; returns false when `deadline` passed first.
 */
export async function deletePartitionItems(
  client: DynamoDBClient,
  table: string,
  topicId: string,
  partitions: number,
  deadline = Number.POSITIVE_INFINITY,
  now: () => number = Date.now,
): Promise<boolean> {
  for (let partition = -1; partition < partitions; partition++) {
    // First the topic's gc state and retired-objects records (pk '<topicId>#gc'), then per partition.
    for (const pk of partition === -1
      ? [gcKey(topicId).pk.S as string]
      : [
          timeKey(topicId, partition),
          producersKey(topicId, partition),
          partitionKey(topicId, partition), // the head (sk -1) goes with the pages, last
        ]) {
      let startKey: Item | undefined;
      do {
        if (now() > deadline) return false;
        const out = await client
          .send(
            new QueryCommand({
              TableName: table,
              KeyConditionExpression: 'pk = :pk',
              ExpressionAttributeValues: { ':pk': S(pk) },
              ProjectionExpression: 'pk, sk',
              ScanIndexForward: false, // pages from the end, the head (sk -1) last
              Limit: 500,
              ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
            }),
          )
          .catch(mapAwsError);
        await batchWrite(
          client,
          table,
          (out.Items ?? []).map((item) => ({
            DeleteRequest: { Key: { pk: item.pk as Item[string], sk: item.sk as Item[string] } },
          })),
        );
        startKey = out.LastEvaluatedKey;
      } while (startKey !== undefined);
    }
  }
  return true;
}

/**
 * Fences one append attempt (`<object id>.<attempt>`) on the head, so that it can never be applied
 * from now on; retried until it is known to be set. UnknownTopic when the head is gone.
 */
export async function fenceAttempt(
  client: DynamoDBClient,
  table: string,
  ref: PartitionRef,
  fence: string,
  now: number,
): Promise<void> {
  for (let tries = 0; ; tries++) {
    try {
      await client.send(
        new UpdateItemCommand({
          TableName: table,
          Key: headKey(ref.topicId, ref.partition),
          UpdateExpression: 'SET #fx.#fence = :now',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#fx': 'fx', '#fence': fence },
          ExpressionAttributeValues: { ':now': N(now) },
        }),
      );
      return;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new UnknownTopicError(ref.topic);
      if (tries >= 5) mapAwsError(error);
      await sleep(20 * 2 ** tries);
    }
  }
}
