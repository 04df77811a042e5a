import { setTimeout as sleep } from 'node:timers/promises';
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { IndexEntry } from '../../core/index-entry.ts';
import type { PartitionRef } from '../../core/ports.ts';
import { mapAwsError } from '../aws-errors.ts';
import { type Item, N, optNum } from './attributes.ts';
import {
  decodeHead,
  encodePage,
  encodeTimeItem,
  type HeadState,
  headKey,
  maxTimestamp,
  TIME_INDEX_STRIDE,
} from './head-codec.ts';

/** How long a fence is kept: longer than any request of the fenced attempt can take to arrive. */
export const DEFAULT_FENCE_TTL_MS = 60 * 60 * 1000;

export interface FlusherOptions {
  readonly client: DynamoDBClient;
  readonly table: string;
  readonly fenceTtlMs?: number;
  readonly now?: () => number;
}

/**
 * Whether the appender whose entry is the `entries`-th of the tail should page it out: when that
 * completes the first page (one flusher per page, so flushers do not race), or a later whole page
 * (the first flusher died or is slow).
 */
export function flushDue(entries: number, pageSize: number): boolean {
  return entries >= pageSize && entries % pageSize === 0;
}

/**
 * Moves whole pages of a partition's tail into immutable page items. A page is a pure function of
 * (`lb`, `pn`, `cm`, the tail, `ps`), so two flushers racing at the same `lb` write identical
 * pages; a page is only created, never overwritten; the trim is conditional on `lb`, so exactly one
 * flusher removes the entries, and only after their pages exist. Every TIME_INDEX_STRIDE-th page
 * also gets a time-index item (written before the trim, so it exists once `lb` passes it). The
 * trim also drops fences older than the fence lifetime.
 *
 * @example
 * if (flushDue(head.tail.length, head.pageSize)) await flusher.flush(ref, head);
 */
export class Flusher {
  private readonly client: DynamoDBClient;
  private readonly table: string;
  private readonly fenceTtlMs: number;
  private readonly now: () => number;

  constructor(options: FlusherOptions) {
    this.client = options.client;
    this.table = options.table;
    this.fenceTtlMs = options.fenceTtlMs ?? DEFAULT_FENCE_TTL_MS;
    this.now = options.now ?? Date.now;
  }

  async flush(ref: PartitionRef, start: HeadState): Promise<void> {
    let view = start;
    for (let round = 0; round < 16; round++) {
      const pageSize = view.pageSize;
      const pages = Math.floor(view.tail.length / pageSize);
      if (pages === 0) return;
      const moved = view.tail.slice(0, pages * pageSize);
      let cm = view.cumulativeMax;
      const writes: Promise<void>[] = [];
      for (let i = 0; i < pages; i++) {
        const chunk = moved.slice(i * pageSize, (i + 1) * pageSize);
        cm = maxTimestamp(chunk, cm);
        writes.push(this.writePage(ref, chunk, cm));
        const ordinal = view.pagesWritten + i;
        if (ordinal % TIME_INDEX_STRIDE === 0) {
          const first = chunk[0] as IndexEntry;
          writes.push(this.put(encodeTimeItem(ref.topicId, ref.partition, cm, ordinal, first.baseOffset)));
        }
      }
      await Promise.all(writes);
      const last = moved.at(-1) as IndexEntry;
      const next = await this.trim(ref, view, pages, last.baseOffset + last.recordCount, cm);
      if (next === undefined) return; // another flusher moved lb first (or the partition is gone)
      view = next;
    }
  }

  private async trim(
    ref: PartitionRef,
    view: HeadState,
    pages: number,
    end: number,
    cm: number,
  ): Promise<HeadState | undefined> {
    const names: Record<string, string> = { '#tail': 'tail', '#lb': 'lb', '#pn': 'pn', '#cm': 'cm' };
    const removes = Array.from({ length: pages * view.pageSize }, (_, i) => `#tail[${i}]`);
    const cutoff = this.now() - this.fenceTtlMs;
    let stale = 0;
    for (const [fence, at] of view.fences) {
      if (at >= cutoff || stale >= 16) continue;
      names['#fx'] = 'fx';
      names[`#f${stale}`] = fence;
      removes.push(`#fx.#f${stale}`);
      stale++;
    }
    const trim = new UpdateItemCommand({
      TableName: this.table,
      Key: headKey(ref.topicId, ref.partition),
      UpdateExpression: `REMOVE ${removes.join(', ')} SET #lb = :end, #pn = :pn, #cm = :cm`,
      ConditionExpression: '#lb = :lb',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: {
        ':lb': N(view.tailBase),
        ':end': N(end),
        ':pn': N(view.pagesWritten + pages),
        ':cm': N(cm),
      },
      ReturnValues: 'ALL_NEW',
    });
    for (let tries = 0; ; tries++) {
      try {
        const out = await this.client.send(trim);
        return decodeHead(ref.partition, out.Attributes ?? {});
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return undefined;
        // An idempotent append's transaction holds the head: wait for it rather than give up paging.
        if ((error as Error).name !== 'TransactionConflictException' || tries >= 20)
          return mapAwsError(error);
        await sleep(1 + Math.random() * 3 * Math.min(tries + 1, 8));
      }
    }
  }

  /** Creates the page unless it exists; an existing page must cover the same range. */
  private async writePage(ref: PartitionRef, chunk: readonly IndexEntry[], cm: number): Promise<void> {
    const item = encodePage(ref.topicId, ref.partition, chunk, cm);
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: item,
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) return mapAwsError(error);
      const existing = optNum(error.Item as Item | undefined, 'end') ?? -1;
      const end = optNum(item, 'end') ?? -1;
      if (existing !== end) {
        throw new Error(
          `index page at ${chunk[0]?.baseOffset} of partition ${ref.partition} ends at ${existing}, not ${end}`,
        );
      }
    }
  }

  private async put(item: Item): Promise<void> {
    await this.client.send(new PutItemCommand({ TableName: this.table, Item: item })).catch(mapAwsError);
  }
}
