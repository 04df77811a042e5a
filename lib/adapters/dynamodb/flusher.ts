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
 * When an appender should page the tail out: the one whose append made the tail exactly one page
 * long (one flusher per page, so flushers do not race), and anyone who sees a tail two or more
 * pages long at a page boundary (the first flusher died or is slow).
 */
export function flushDue(tailLength: number, pageSize: number): boolean {
  return tailLength === pageSize || (tailLength >= 2 * pageSize && tailLength % pageSize === 0);
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
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
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
        }),
      );
      return decodeHead(ref.partition, out.Attributes ?? {});
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      return mapAwsError(error);
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
