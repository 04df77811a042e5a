import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { IndexEntry } from '../../core/index-entry.ts';
import type {
  GcState,
  IndexPage,
  PartitionHead,
  PartitionRef,
  RetiredObjects,
  SizeCount,
} from '../../core/ports.ts';
import { readGcState, writeGcState } from './gc-state.ts';
import { advanceStart, deleteRecords, dropPagesBelow } from './log-start.ts';
import { readPages, replacePages, type SizeChange } from './page-swap.ts';
import { claimPending, forgetRetired, notePending, readRetired } from './retired.ts';

/**
 * The index's lifecycle side (PartitionIndex in lib/core/ports.ts): what retention, DeleteRecords,
 * compaction and collection do to a partition's index. DynamoPartitionIndex adds the append path.
 *
 * @example
 * class MyIndex extends DynamoLifecycleIndex { ... } // see partition-index.ts
 */
export abstract class DynamoLifecycleIndex {
  protected readonly client: DynamoDBClient;
  protected readonly table: string;
  protected readonly now: () => number;

  constructor(client: DynamoDBClient, table: string, now: () => number) {
    this.client = client;
    this.table = table;
    this.now = now;
  }

  async deleteRecords(ref: PartitionRef, before: number): Promise<PartitionHead | undefined> {
    return await deleteRecords(this.client, this.table, ref, before);
  }

  async advanceStart(
    ref: PartitionRef,
    seen: PartitionHead,
    start: number,
    sizes: SizeCount,
  ): Promise<boolean> {
    return await advanceStart(this.client, this.table, ref, seen, start, sizes);
  }

  async dropPagesBelow(ref: PartitionRef, offset: number): Promise<number> {
    return await dropPagesBelow(this.client, this.table, ref, offset);
  }

  async pagesFrom(ref: PartitionRef, offset: number, limit: number): Promise<IndexPage[]> {
    return await readPages(this.client, this.table, ref, offset, limit);
  }

  async notePending(topicId: string, pending: number | undefined, objectId: string): Promise<number> {
    return await notePending(this.client, this.table, topicId, pending, objectId, this.now());
  }

  async claimPending(topicId: string, id: number): Promise<boolean> {
    return await claimPending(this.client, this.table, topicId, id);
  }

  async readRetired(topicId: string, before: number, limit: number): Promise<RetiredObjects[]> {
    return await readRetired(this.client, this.table, topicId, before, limit);
  }

  async forgetRetired(topicId: string, id: number): Promise<void> {
    await forgetRetired(this.client, this.table, topicId, id);
  }

  async replacePages(
    ref: PartitionRef,
    replaced: readonly IndexPage[],
    entries: readonly IndexEntry[],
    retired: readonly string[] = [],
    pending: number | undefined = undefined,
    sizes: SizeChange | undefined = undefined,
  ): Promise<boolean> {
    return await replacePages(
      this.client,
      this.table,
      ref,
      replaced,
      entries,
      retired,
      pending,
      sizes,
      this.now(),
    );
  }

  async readGcState(topicId: string): Promise<GcState | undefined> {
    return await readGcState(this.client, this.table, topicId);
  }

  async writeGcState(topicId: string, seen: GcState | undefined, next: GcState): Promise<boolean> {
    return await writeGcState(this.client, this.table, topicId, seen, next);
  }
}
