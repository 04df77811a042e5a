import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  TransactionCanceledException,
  type TransactWriteItem,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { Lease, MemberInfo } from '../../core/assignment.ts';
import { InvalidArgumentError, LeaseLostError, OffsetResetError } from '../../core/errors.ts';
import type { AtomicWrite, LeasedCommit, LeaseState, LeaseStore } from '../../core/ports.ts';
import { mapAwsError } from '../aws-errors.ts';
import { type Item, N, num, optNum, S } from './attributes.ts';
import { leasedOffsetUpdate } from './group-store.ts';
import { leasedCommitWrite } from './leased-commit-write.ts';
import { queryPartition } from './query.ts';

/**
 * Leases and members in the `meta` table:
 *   lease:  pk 'lease#<group>#<topic>',  sk '<partition, 4 digits>'  owner?, counter, expiresAt, p,
 *           fo/fa/fs/ft (offset, attempts, first-failure time and topic id of a batch that keeps failing,
 *           for dispatchers: a topic deleted and created again under the same name does not inherit it)
 *   member: pk 'member#<group>#<topic>', sk '<memberId>'            expiresAt, ttl (seconds, cleanup only)
 * Correctness never rests on TTL: expiry is compared with `expiresAt`.
 */
const leasePk = (group: string, topic: string) => S(`lease#${group}#${topic}`);
const memberPk = (group: string, topic: string) => S(`member#${group}#${topic}`);
const partitionSk = (partition: number) => S(String(partition).padStart(4, '0'));

function decodeLease(item: Item): LeaseState {
  const failedOffset = optNum(item, 'fo');
  const attempts = optNum(item, 'fa');
  const failedSince = optNum(item, 'fs');
  const failedTopicId = item.ft?.S;
  return {
    partition: num(item, 'p'),
    owner: item.owner?.S ?? null,
    counter: num(item, 'counter'),
    expiresAt: num(item, 'expiresAt'),
    ...(failedOffset === undefined ? {} : { failedOffset }),
    ...(attempts === undefined ? {} : { attempts }),
    ...(failedSince === undefined ? {} : { failedSince }),
    ...(failedTopicId === undefined ? {} : { failedTopicId }),
  };
}

/**
 * @example
 * const leases = new DynamoLeaseStore({ client, table: 'streambed-meta' });
 * const taken = await leases.take('billing', 'orders', lease, 'member-1', Date.now() + 10_000);
 */
export class DynamoLeaseStore implements LeaseStore {
  private readonly client: DynamoDBClient;
  private readonly table: string;

  constructor(options: { readonly client: DynamoDBClient; readonly table: string }) {
    this.client = options.client;
    this.table = options.table;
  }

  async list(group: string, topic: string): Promise<LeaseState[]> {
    return (await queryPartition(this.client, this.table, leasePk(group, topic).S as string)).map(
      decodeLease,
    );
  }

  async get(group: string, topic: string, partition: number): Promise<LeaseState | undefined> {
    const out = await this.client
      .send(
        new GetItemCommand({
          TableName: this.table,
          Key: { pk: leasePk(group, topic), sk: partitionSk(partition) },
          ConsistentRead: true,
        }),
      )
      .catch(mapAwsError);
    return out.Item === undefined ? undefined : decodeLease(out.Item);
  }

  async create(group: string, topic: string, partitions: readonly number[]): Promise<void> {
    await Promise.all(
      partitions.map(async (partition) => {
        try {
          await this.client.send(
            new PutItemCommand({
              TableName: this.table,
              Item: {
                pk: leasePk(group, topic),
                sk: partitionSk(partition),
                p: N(partition),
                counter: N(0),
                expiresAt: N(0),
              },
              ConditionExpression: 'attribute_not_exists(pk)',
            }),
          );
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException)) mapAwsError(error);
        }
      }),
    );
  }

  private async conditional(
    group: string,
    topic: string,
    partition: number,
    update: string,
    condition: string,
    values: Item,
  ): Promise<LeaseState | undefined> {
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { pk: leasePk(group, topic), sk: partitionSk(partition) },
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: Object.fromEntries(
            Object.entries({ '#owner': 'owner', '#counter': 'counter', '#exp': 'expiresAt' }).filter(
              ([name]) => `${update} ${condition}`.includes(name),
            ),
          ),
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return decodeLease(out.Attributes ?? {});
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      mapAwsError(error);
    }
  }

  /**
   * Conditioned on the counter AND the expiry the taker saw: a holder that renewed in between (same
   * counter, later expiry) keeps its lease, so a taker that judged it expired cannot take it live.
   */
  take(group: string, topic: string, lease: Lease, owner: string, expiresAt: number) {
    return this.conditional(
      group,
      topic,
      lease.partition,
      'SET #owner = :owner, #exp = :exp, #counter = #counter + :one',
      '#counter = :counter AND #exp = :seen',
      {
        ':owner': S(owner),
        ':exp': N(expiresAt),
        ':one': N(1),
        ':counter': N(lease.counter),
        ':seen': N(lease.expiresAt),
      },
    );
  }

  renew(group: string, topic: string, lease: Lease, owner: string, expiresAt: number) {
    return this.conditional(
      group,
      topic,
      lease.partition,
      'SET #exp = :exp',
      '#owner = :owner AND #counter = :counter',
      { ':owner': S(owner), ':exp': N(expiresAt), ':counter': N(lease.counter) },
    );
  }

  async release(group: string, topic: string, lease: Lease, owner: string): Promise<boolean> {
    const released = await this.conditional(
      group,
      topic,
      lease.partition,
      'SET #exp = :zero, #counter = #counter + :one REMOVE #owner',
      '#owner = :owner AND #counter = :counter',
      { ':owner': S(owner), ':zero': N(0), ':one': N(1), ':counter': N(lease.counter) },
    );
    return released !== undefined;
  }

  async recordFailure(
    group: string,
    topic: string,
    lease: Lease,
    owner: string,
    offset: number,
    attempts: number,
    since = 0,
    topicId = '',
  ): Promise<boolean> {
    const updated = await this.conditional(
      group,
      topic,
      lease.partition,
      'SET fo = :fo, fa = :fa, fs = :fs, ft = :ft',
      '#owner = :owner AND #counter = :counter',
      {
        ':owner': S(owner),
        ':counter': N(lease.counter),
        ':fo': N(offset),
        ':fa': N(attempts),
        ':fs': N(since),
        ':ft': S(topicId),
      },
    );
    return updated !== undefined;
  }

  async heartbeat(group: string, topic: string, memberId: string, expiresAt: number): Promise<void> {
    await this.client
      .send(
        new PutItemCommand({
          TableName: this.table,
          Item: {
            pk: memberPk(group, topic),
            sk: S(memberId),
            expiresAt: N(expiresAt),
            ttl: N(Math.ceil(expiresAt / 1000) + 86_400),
          },
        }),
      )
      .catch(mapAwsError);
  }

  async renewMember(group: string, topic: string, memberId: string, expiresAt: number): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { pk: memberPk(group, topic), sk: S(memberId) },
          UpdateExpression: 'SET expiresAt = :exp, #ttl = :ttl',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: {
            ':exp': N(expiresAt),
            ':ttl': N(Math.ceil(expiresAt / 1000) + 86_400),
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      mapAwsError(error);
    }
  }

  async members(group: string, topic: string): Promise<MemberInfo[]> {
    return (await queryPartition(this.client, this.table, memberPk(group, topic).S as string)).map(
      (item) => ({
        memberId: item.sk?.S ?? '',
        expiresAt: num(item, 'expiresAt'),
      }),
    );
  }

  async removeMember(group: string, topic: string, memberId: string): Promise<void> {
    await this.client
      .send(
        new DeleteItemCommand({
          TableName: this.table,
          Key: { pk: memberPk(group, topic), sk: S(memberId) },
        }),
      )
      .catch(mapAwsError);
  }

  /**
   * One transaction: for each partition, a check that the lease is still `owner`'s at the counter,
   * and the offset update. Within one lease counter an offset never moves backwards; a new lease
   * (a higher counter) may set any offset.
   */
  async commitLeased(commit: LeasedCommit): Promise<void> {
    if (commit.offsets.length * 2 > 100) {
      throw new InvalidArgumentError(
        `a leased commit may hold at most 50 partitions, got ${commit.offsets.length}`,
      );
    }
    const now = Date.now();
    const items: TransactWriteItem[] = commit.offsets.flatMap((o) => [
      {
        ConditionCheck: {
          TableName: this.table,
          Key: { pk: leasePk(commit.group, commit.topic), sk: partitionSk(o.partition) },
          ConditionExpression: '#owner = :owner AND #counter = :counter',
          ExpressionAttributeNames: { '#owner': 'owner', '#counter': 'counter' },
          ExpressionAttributeValues: { ':owner': S(commit.owner), ':counter': N(o.leaseCounter) },
        },
      },
      {
        Update: {
          ...leasedOffsetUpdate(
            this.table,
            {
              group: commit.group,
              topic: commit.topic,
              topicId: commit.topicId,
              partition: o.partition,
              offset: o.offset,
              metadata: o.metadata ?? '',
              generation: o.leaseCounter,
              at: now,
            },
            o.plainCommits,
          ),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
    ]);
    try {
      await this.client.send(new TransactWriteItemsCommand({ TransactItems: items }));
    } catch (error) {
      if (error instanceof TransactionCanceledException) {
        const reasons = error.CancellationReasons ?? [];
        const index = reasons.findIndex((reason) => reason.Code === 'ConditionalCheckFailed');
        if (index >= 0) {
          const o = commit.offsets[Math.floor(index / 2)];
          const partition = o?.partition;
          const old = reasons[index]?.Item;
          const plain = old?.pv?.N === undefined ? undefined : Number(old.pv.N);
          if (
            index % 2 === 1 &&
            o?.plainCommits !== undefined &&
            plain !== undefined &&
            plain !== o.plainCommits
          ) {
            throw new OffsetResetError(
              `partition ${partition} of '${commit.topic}' in group '${commit.group}': its committed offset was reset to ${old?.offset?.N} by a plain commit`,
            );
          }
          throw new LeaseLostError(
            index % 2 === 0
              ? `'${commit.owner}' no longer holds partition ${partition} of '${commit.topic}' in group '${commit.group}'`
              : `partition ${partition}: the committed offset would move backwards within the same lease`,
          );
        }
      }
      mapAwsError(error);
    }
  }

  /** One partition's leased commit as items of another adapter's transaction (leased-commit-write.ts). */
  leasedCommitWrite(commit: LeasedCommit): AtomicWrite {
    const partition = commit.offsets[0]?.partition ?? 0;
    const key = { pk: leasePk(commit.group, commit.topic), sk: partitionSk(partition) };
    return leasedCommitWrite(this.client, this.table, key, commit);
  }
}
