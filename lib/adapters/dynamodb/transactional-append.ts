import { setTimeout as sleep } from 'node:timers/promises';
import {
  type CancellationReason,
  type DynamoDBClient,
  TransactionCanceledException,
  type TransactWriteItem,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { InvalidArgumentError, PartitionBusyError, UnknownTopicError } from '../../core/errors.ts';
import type { AtomicAppend, AtomicWrite, PartitionRef } from '../../core/ports.ts';
import { mapAwsError } from '../aws-errors.ts';
import { type Item, N } from './attributes.ts';
import { decodeHead, encodeEntry, type HeadState, headKey, partitionKey } from './head-codec.ts';
import { isDynamoAtomicWrite } from './leased-commit-write.ts';
import { definitelyRefused } from './send-once.ts';

/** TransactWriteItems takes at most 100 actions. */
export const MAX_TRANSACTION_ITEMS = 100;

export interface TransactionalAppenderDeps {
  readonly client: DynamoDBClient;
  readonly table: string;
  readonly maxTail: (ref: PartitionRef) => number;
  /** Throws CommitTooLate when the object is past the commit limit. */
  readonly checkInTime: (objectId: string) => void;
  readonly readHead: (ref: PartitionRef) => Promise<HeadState | undefined>;
  readonly afterAppend: (ref: PartitionRef, head: HeadState, position: number) => Promise<void>;
  /** Told when the read after a commit fails (the commit stands; a later appender flushes). */
  readonly onFlushError: (error: unknown) => void;
}

/**
 * Atomic appends (exactly-once consume → produce): ONE TransactWriteItems of
 *
 *   [0 .. n)   Update  head of each output partition, exactly a plain append's update:
 *                      SET tail = list_append(tail, :entry), next = next + :n
 *                      IF attribute_exists(pk) AND attribute_not_exists(del) AND size(tail) < :maxTail
 *   [n .. )    the items of another port's write (a leased offset commit: lease check + offset update)
 *
 * Nothing in a head's condition depends on what other appenders do, so concurrent producers never
 * make it fail; a transaction that meets a head being written at that moment is cancelled
 * (TransactionConflict) and sent again, as is one that meets a full tail (after stepping in to flush
 * it, as a plain append does). The write must be applicable once (see leased-commit-write.ts): a send
 * whose outcome is unknown after the SDK's own retries (which reuse the ClientRequestToken) is
 * resolved by asking the write whether it was applied, and resent only if not; a resend of an applied
 * one fails the write's condition, which the write recognizes. So the entries are appended once.
 * A transaction returns no values: the appender reads each head afterwards, to flush the page its
 * entry completed (one flusher per page, as with plain appends).
 *
 * @example
 * await appender.append([{ ref, entry }], leases.leasedCommitWrite(commit));
 */
export class TransactionalAppender {
  private readonly deps: TransactionalAppenderDeps;

  constructor(deps: TransactionalAppenderDeps) {
    this.deps = deps;
  }

  async append(appends: readonly AtomicAppend[], write: AtomicWrite): Promise<void> {
    if (!isDynamoAtomicWrite(write)) {
      throw new InvalidArgumentError(`${write.description} cannot join a DynamoDB transaction`);
    }
    if (appends.length + write.items.length > MAX_TRANSACTION_ITEMS) {
      throw new InvalidArgumentError(
        `an atomic append holds at most ${MAX_TRANSACTION_ITEMS - write.items.length} partitions with ${write.description}, got ${appends.length}`,
      );
    }
    const keys = new Set(appends.map(({ ref }) => partitionKey(ref.topicId, ref.partition)));
    if (keys.size !== appends.length) {
      throw new InvalidArgumentError('an atomic append holds at most one entry per partition');
    }
    const heads = appends.map((append) => this.headUpdate(append));
    for (let tries = 0; ; tries++) {
      for (const { entry } of appends) this.deps.checkInTime(entry.objectId);
      try {
        await this.deps.client.send(
          new TransactWriteItemsCommand({ TransactItems: [...heads, ...write.items] }),
        );
        break;
      } catch (error) {
        if (error instanceof TransactionCanceledException) {
          const reasons = error.CancellationReasons ?? [];
          const verdict = write.verdict(reasons.slice(heads.length));
          if (verdict === 'applied') break;
          if (verdict !== undefined) throw verdict;
          await this.onHeadsRefused(appends, reasons.slice(0, heads.length), tries);
          if (reasons.some((reason) => reason.Code === 'ValidationError')) mapAwsError(error);
        } else if (definitelyRefused(error) && (error as Error).name !== 'TransactionInProgressException') {
          // Refused as a whole (throttled past the SDK's retries, invalid): nothing was applied.
          mapAwsError(error);
        } else if (await write.applied()) {
          // The outcome was unknown (a lost response, a dropped connection, a 5xx, or the SDK's retry met
          // its first send still in progress), and it was applied.
          break;
        }
        if (tries >= 40) {
          const partitions = appends.map(({ ref }) => `${ref.topic}/${ref.partition}`).join(', ');
          throw new PartitionBusyError(`partitions ${partitions} are busy; retry shortly`);
        }
        await sleep(2 + Math.random() * 5 * Math.min(tries + 1, 10));
      }
    }
    await Promise.all(appends.map((append) => this.flushIfDue(append).catch(this.deps.onFlushError)));
  }

  private headUpdate({ ref, entry }: AtomicAppend): TransactWriteItem {
    return {
      Update: {
        TableName: this.deps.table,
        Key: headKey(ref.topicId, ref.partition),
        UpdateExpression: 'SET #tail = list_append(#tail, :entry), #next = #next + :n',
        ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#del) AND size(#tail) < :maxTail',
        ExpressionAttributeNames: { '#next': 'next', '#tail': 'tail', '#del': 'del' },
        ExpressionAttributeValues: {
          ':n': N(entry.recordCount),
          ':entry': { L: [encodeEntry(entry)] },
          ':maxTail': N(this.deps.maxTail(ref)),
        },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    };
  }

  /** A head refused the append: its topic is gone, or its tail is full (step in to flush it). */
  private async onHeadsRefused(
    appends: readonly AtomicAppend[],
    reasons: readonly CancellationReason[],
    tries: number,
  ): Promise<void> {
    for (const [i, reason] of reasons.entries()) {
      if (reason.Code !== 'ConditionalCheckFailed') continue;
      const ref = (appends[i] as AtomicAppend).ref;
      const item = reason.Item as Item | undefined;
      if (item === undefined || item.del !== undefined) throw new UnknownTopicError(ref.topic);
      const head = decodeHead(ref.partition, item);
      // The flusher is behind: after a few rounds, page the tail out as a plain appender would.
      if (tries >= 2) await this.deps.afterAppend(ref, head, head.pageSize - 1);
    }
  }

  /** Pages out the page this entry completed, when it did (see flushDue). */
  private async flushIfDue({ ref, entry }: AtomicAppend): Promise<void> {
    const head = await this.deps.readHead(ref);
    if (head === undefined) return;
    const position = head.tail.findIndex((e) => e.objectId === entry.objectId);
    // Not in the tail: already paged by a flusher that stepped in.
    if (position >= 0) await this.deps.afterAppend(ref, head, position);
  }
}
