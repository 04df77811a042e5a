import { setTimeout as sleep } from 'node:timers/promises';
import {
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  BatchWriteItemCommand,
  type DynamoDBClient,
  type KeysAndAttributes,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { ThrottledError } from '../../core/errors.ts';
import { mapAwsError } from '../aws-errors.ts';
import type { Item } from './attributes.ts';

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Runs `work` over `items` with at most `limit` in flight. */
export async function forEachLimit<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  });
  await Promise.all(runners);
}

/** BatchWriteItem in chunks of 25, re-sending unprocessed items with backoff. */
export async function batchWrite(client: DynamoDBClient, table: string, requests: readonly WriteRequest[]) {
  await forEachLimit(chunks(requests, 25), 4, async (chunk) => {
    let pending: WriteRequest[] = chunk;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) await sleep(Math.min(1000, 20 * 2 ** attempt));
      const out = await client
        .send(new BatchWriteItemCommand({ RequestItems: { [table]: pending } }))
        .catch(mapAwsError);
      pending = out.UnprocessedItems?.[table] ?? [];
      if (attempt > 10 && pending.length > 0)
        throw new Error('BatchWriteItem kept leaving items unprocessed');
    }
  });
}

/** Consistent BatchGetItem in chunks of 100, re-asking for unprocessed keys. */
export async function batchGet(
  client: DynamoDBClient,
  table: string,
  keys: readonly Item[],
): Promise<Item[]> {
  const found: Item[] = [];
  await forEachLimit(chunks(keys, 100), 4, async (chunk) => {
    let pending: KeysAndAttributes | undefined = { Keys: chunk, ConsistentRead: true };
    for (let attempt = 0; pending?.Keys !== undefined && pending.Keys.length > 0; attempt++) {
      if (attempt > 0) await sleep(Math.min(1000, 20 * 2 ** attempt));
      const out: BatchGetItemCommandOutput = await client
        .send(new BatchGetItemCommand({ RequestItems: { [table]: pending } }))
        .catch(mapAwsError);
      found.push(...(out.Responses?.[table] ?? []));
      pending = out.UnprocessedKeys?.[table];
      if (attempt > 10 && (pending?.Keys?.length ?? 0) > 0) {
        throw new ThrottledError('BatchGetItem kept leaving keys unprocessed; retry');
      }
    }
  });
  return found;
}
