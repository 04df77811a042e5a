import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { DynamoSubscriptionStore } from '../../lib/adapters/dynamodb/subscription-store.ts';
import { objectIdOf, topicPrefix } from '../../lib/core/object-keys.ts';
import type { Subscription } from '../../lib/core/subscription.ts';
import type { Streambed } from '../../lib/engine/streambed.ts';
import type { TestStack } from './stack.ts';

/** The ids of the topic's segment objects in the bucket, in key (creation time) order. */
export async function segmentIds(stack: TestStack, log: Streambed, topic: string): Promise<string[]> {
  const { id } = await log.describeTopic(topic);
  const prefix = topicPrefix(topic, id);
  const ids: string[] = [];
  let token: string | undefined;
  do {
    const out = await stack.s3.send(
      new ListObjectsV2Command({ Bucket: stack.bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of out.Contents ?? []) ids.push(objectIdOf(prefix, o.Key ?? '') ?? '');
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token !== undefined);
  return ids.filter((id) => id !== '');
}

/** A stored subscription, as the dispatcher's `deliver` takes it. */
export async function subscriptionOf(stack: TestStack, group: string): Promise<Subscription> {
  const found = await new DynamoSubscriptionStore({ client: stack.dynamodb, table: stack.tables.meta }).get(
    group,
  );
  if (found === undefined) throw new Error(`no subscription '${group}'`);
  return found;
}

/** A group's committed offset on one partition (undefined when it has none). */
export async function positionOf(
  log: Streambed,
  group: string,
  topic: string,
  partition = 0,
): Promise<number | undefined> {
  return (await log.fetchOffsets(group, topic)).find((o) => o.partition === partition)?.offset;
}
