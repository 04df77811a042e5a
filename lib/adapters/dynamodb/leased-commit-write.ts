import {
  type CancellationReason,
  type DynamoDBClient,
  GetItemCommand,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import {
  InvalidArgumentError,
  LeaseLostError,
  OffsetResetError,
  type StreambedError,
} from '../../core/errors.ts';
import type { AtomicWrite, LeasedCommit } from '../../core/ports.ts';
import { mapAwsError } from '../aws-errors.ts';
import { type Item, N, S } from './attributes.ts';
import { leasedOffsetUpdate, offsetKey } from './group-store.ts';

/** An {@link AtomicWrite} made by a DynamoDB adapter: items to add to another adapter's transaction. */
export interface DynamoAtomicWrite extends AtomicWrite {
  readonly items: readonly TransactWriteItem[];
  /**
   * For a cancelled transaction, given the cancellation reasons of this write's items (in the order
   * of `items`): 'applied' when they show that an earlier send of it was applied, the error it
   * refuses with, or undefined when none of its items failed its condition.
   */
  verdict(reasons: readonly (CancellationReason | undefined)[]): 'applied' | StreambedError | undefined;
  /** After a send whose outcome is unknown: whether a send of it was applied (strongly consistent). */
  applied(): Promise<boolean>;
}

export function isDynamoAtomicWrite(write: AtomicWrite): write is DynamoAtomicWrite {
  const candidate = write as Partial<DynamoAtomicWrite>;
  return (
    Array.isArray(candidate.items) &&
    typeof candidate.verdict === 'function' &&
    typeof candidate.applied === 'function'
  );
}

/**
 * One partition's leased commit as two transaction items of the `meta` table:
 *
 *   [0] ConditionCheck  lease item     owner = :owner AND counter = :counter
 *   [1] Update          offset item    as commitLeased's (group-store.ts leasedOffsetUpdate), with one
 *                                      more condition: within the lease the offset must be BELOW `to`
 *                                      (commitLeased allows equal, a repeat commit)
 *
 * The stricter condition makes the write applicable once: an applied send leaves lc = counter and
 * offset = to (a later commit of the same lease only raises the offset, a reset changes `pv`, which
 * is pinned, a new lease fails the check), so every other send of it fails. Whether it was applied
 * is therefore read from the offset item: lc = counter, offset ≥ to, the topic id and `pv` unchanged.
 *
 * @example
 * const write = leasedCommitWrite(client, 'streambed-meta', leaseKey, commit);
 * await index.appendAtomically(appends, write);
 */
export function leasedCommitWrite(
  client: DynamoDBClient,
  table: string,
  leaseKey: Item,
  commit: LeasedCommit,
  now: number = Date.now(),
): DynamoAtomicWrite {
  const [target, ...others] = commit.offsets;
  if (target === undefined || others.length > 0) {
    throw new InvalidArgumentError(
      `an atomic leased commit covers exactly one partition, got ${commit.offsets.length}`,
    );
  }
  const where = `partition ${target.partition} of '${commit.topic}' in group '${commit.group}'`;
  const key = offsetKey(commit.group, commit.topic, target.partition);
  const update = leasedOffsetUpdate(
    table,
    {
      group: commit.group,
      topic: commit.topic,
      topicId: commit.topicId,
      partition: target.partition,
      offset: target.offset,
      metadata: target.metadata ?? '',
      generation: target.leaseCounter,
      at: now,
    },
    target.plainCommits,
  );
  const once = '#tid <> :tid OR attribute_not_exists(#lc) OR #lc <> :gen OR #offset < :offset';
  /** Whether the offset item (as stored) shows this commit applied. */
  const shows = (item: Item | undefined): boolean =>
    item !== undefined &&
    item.topicId?.S === commit.topicId &&
    item.lc?.N === String(target.leaseCounter) &&
    Number(item.offset?.N ?? Number.NaN) >= target.offset &&
    (target.plainCommits === undefined || (item.pv?.N ?? '0') === String(target.plainCommits));
  return {
    description: `commit of offset ${target.offset} of ${where} by '${commit.owner}'`,
    items: [
      {
        ConditionCheck: {
          TableName: table,
          Key: leaseKey,
          ConditionExpression: '#owner = :owner AND #counter = :counter',
          ExpressionAttributeNames: { '#owner': 'owner', '#counter': 'counter' },
          ExpressionAttributeValues: { ':owner': S(commit.owner), ':counter': N(target.leaseCounter) },
        },
      },
      {
        Update: {
          ...update,
          ConditionExpression: `(${update.ConditionExpression}) AND (${once})`,
          ExpressionAttributeNames: {
            ...update.ExpressionAttributeNames,
            '#lc': 'lc',
            '#offset': 'offset',
            '#tid': 'topicId',
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
    ],
    verdict(reasons) {
      const [lease, offset] = reasons;
      if (offset?.Code === 'ConditionalCheckFailed' && shows(offset.Item)) return 'applied';
      if (lease?.Code === 'ConditionalCheckFailed') {
        return new LeaseLostError(`'${commit.owner}' no longer holds ${where}`);
      }
      if (offset?.Code !== 'ConditionalCheckFailed') return undefined;
      const plain = offset.Item?.pv?.N;
      if (target.plainCommits !== undefined && plain !== undefined && Number(plain) !== target.plainCommits) {
        return new OffsetResetError(
          `${where}: its committed offset was reset to ${offset.Item?.offset?.N} by a plain commit`,
        );
      }
      return new LeaseLostError(`${where}: the committed offset would move backwards within the same lease`);
    },
    async applied() {
      const out = await client
        .send(new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true }))
        .catch(mapAwsError);
      return shows(out.Item);
    },
  };
}
