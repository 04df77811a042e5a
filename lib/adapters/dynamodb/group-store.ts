import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  type Update,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { InvalidArgumentError, StaleGenerationError } from '../../core/errors.ts';
import type { GroupStore } from '../../core/ports.ts';
import type { Subscription } from '../../core/subscription.ts';
import type { CommitOffsetsRequest, CommittedOffset } from '../../core/types.ts';
import { mapAwsError } from '../aws-errors.ts';
import { N, num, optNum, S, str } from './attributes.ts';
import { queryAll, queryPartition } from './query.ts';
import { DynamoSubscriptionStore } from './subscription-store.ts';

/** A commit without a generation carries this one (Kafka's -1 for members outside a group protocol). */
export const NO_GENERATION = -1;
/** TransactWriteItems takes at most 100 actions. */
export const MAX_PARTITIONS_PER_COMMIT = 100;

/** The registry of group names: pk 'groups', sk = group. */
const GROUPS_PK = 'groups';
const groupPk = (group: string) => `group#${group}`;
const offsetSk = (topic: string, partition: number) => `${topic}#${String(partition).padStart(4, '0')}`;

/** One committed offset, for {@link plainOffsetUpdate} and {@link leasedOffsetUpdate}. */
export interface OffsetWrite {
  readonly group: string;
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  readonly offset: number;
  readonly metadata: string;
  /** A plain commit's generation, or a leased commit's lease counter. */
  readonly generation: number;
  readonly at: number;
}

/*
 * A committed-offset item keeps the two fencing domains apart: plain commits (Kafka's commits with a
 * member generation, and resets) compare `pg`, the last plain generation; lease holders (dispatchers,
 * pull members) compare `lc`, the last lease counter. `pv` counts plain commits, so a lease holder that
 * read `pv` with the offset can tell that a reset happened since. `generation` is what was last
 * written, for display.
 */

function offsetWrite(
  table: string,
  write: OffsetWrite,
  set: string,
  condition: string | undefined,
  values: Record<string, AttributeValue>,
): Update {
  const update = `SET #offset = :offset, #meta = :meta, #gen = :gen, #at = :at, #topic = :topic, #p = :p, #tid = :tid, ${set}`;
  // DynamoDB refuses names an expression does not use.
  const used = (name: string) => update.includes(name) || (condition ?? '').includes(name);
  const names: Record<string, string> = {
    '#offset': 'offset',
    '#meta': 'metadata',
    '#gen': 'generation',
    '#at': 'committedAt',
    '#topic': 'topic',
    '#p': 'partition',
    '#tid': 'topicId',
    '#pg': 'pg',
    '#lc': 'lc',
    '#pv': 'pv',
  };
  return {
    TableName: table,
    Key: offsetKey(write.group, write.topic, write.partition),
    UpdateExpression: update,
    ...(condition === undefined ? {} : { ConditionExpression: condition }),
    ExpressionAttributeNames: Object.fromEntries(Object.entries(names).filter(([name]) => used(name))),
    ExpressionAttributeValues: {
      ':tid': S(write.topicId),
      ':offset': N(write.offset),
      ':meta': S(write.metadata),
      ':gen': N(write.generation),
      ':at': N(write.at),
      ':topic': S(write.topic),
      ':p': N(write.partition),
      ...values,
    },
  };
}

/** A plain commit: fenced by plain generations only (a re-created topic starts afresh); counts itself. */
export function plainOffsetUpdate(table: string, write: OffsetWrite): Update {
  return offsetWrite(
    table,
    write,
    '#pg = :gen, #pv = if_not_exists(#pv, :zero) + :one',
    'attribute_not_exists(#pg) OR #pg <= :gen OR #tid <> :tid',
    { ':zero': N(0), ':one': N(1) },
  );
}

/**
 * A reset: a plain commit outside generation fencing. It counts itself in `pv` (lease holders that
 * read the offset before it are refused with OffsetResetError) and leaves `pg` alone, so plain
 * committers keep their fencing. `generation` shows -1 (no generation).
 */
export function resetOffsetUpdate(table: string, write: Omit<OffsetWrite, 'generation'>): Update {
  return offsetWrite(
    table,
    { ...write, generation: NO_GENERATION },
    '#pv = if_not_exists(#pv, :zero) + :one',
    undefined,
    { ':zero': N(0), ':one': N(1) },
  );
}

/**
 * A lease holder's commit: never behind a later lease's, never backwards within its own lease, and,
 * given `plainCommits` (the count it read with the offset), refused when a plain commit came since.
 */
export function leasedOffsetUpdate(
  table: string,
  write: OffsetWrite,
  plainCommits: number | undefined,
): Update {
  const fenced = 'attribute_not_exists(#lc) OR #lc < :gen OR (#lc = :gen AND #offset <= :offset)';
  if (plainCommits === undefined) {
    return offsetWrite(table, write, '#lc = :gen', `#tid <> :tid OR ${fenced}`, {});
  }
  return offsetWrite(
    table,
    write,
    // `pv` is set, not kept: on an item a deleted topic of the same name left (tid differs), the count
    // restarts at what the holder read for the new topic (0), so its next commit is not taken for a reset.
    '#lc = :gen, #pv = :pv',
    `#tid <> :tid OR ((${fenced}) AND (attribute_not_exists(#pv) OR #pv = :pv))`,
    { ':pv': N(plainCommits) },
  );
}

/** The key of a committed-offset item. */
export const offsetKey = (group: string, topic: string, partition: number) => ({
  pk: S(groupPk(group)),
  sk: S(offsetSk(topic, partition)),
});

/**
 * Committed consumer-group offsets in the `meta` table: pk 'group#<group>', sk '<topic>#<partition>',
 * and a registry of group names (pk 'groups', sk = group).
 * Each item carries the generation of its last commit; a commit with a lower generation fails its
 * condition and is rejected with {@link StaleGenerationError}. A commit of several partitions is one
 * transaction, so it is all-or-nothing.
 *
 * @example
 * await groups.commit({ group: 'billing', topic: 'orders', offsets: [{ partition: 0, offset: 42 }], generation: 3 });
 */
export class DynamoGroupStore implements GroupStore {
  private readonly client: DynamoDBClient;
  private readonly table: string;
  /** Groups this process has already registered (the registry put is idempotent; this saves writes). */
  private readonly registered = new Set<string>();

  /** Subscriptions live in the same table; the group store only reads them. */
  private readonly subscriptions: DynamoSubscriptionStore;

  constructor(options: { readonly client: DynamoDBClient; readonly table: string }) {
    this.client = options.client;
    this.table = options.table;
    this.subscriptions = new DynamoSubscriptionStore(options);
  }

  async commit(request: CommitOffsetsRequest & { readonly topicId: string }): Promise<void> {
    await this.register(request.group);
    if (request.offsets.length > MAX_PARTITIONS_PER_COMMIT) {
      throw new InvalidArgumentError(
        `offsets may hold at most ${MAX_PARTITIONS_PER_COMMIT} partitions per commit, got ${request.offsets.length}`,
      );
    }
    const generation = request.generation ?? NO_GENERATION;
    const now = Date.now();
    const updates: Update[] = request.offsets.map((commit) =>
      plainOffsetUpdate(this.table, {
        group: request.group,
        topic: request.topic,
        topicId: request.topicId,
        partition: commit.partition,
        offset: commit.offset,
        metadata: commit.metadata ?? '',
        generation,
        at: now,
      }),
    );
    const stale = (stored: number | undefined) =>
      new StaleGenerationError(
        `group '${request.group}' commit with generation ${generation} is older than generation ${stored ?? '?'}`,
      );
    if (updates.length === 1) {
      try {
        await this.client.send(
          new UpdateItemCommand({
            ...(updates[0] as Update),
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) throw stale(optNum(error.Item, 'pg'));
        mapAwsError(error);
      }
      return;
    }
    try {
      await this.client.send(
        new TransactWriteItemsCommand({
          TransactItems: updates.map((Update) => ({
            Update: { ...Update, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' },
          })),
        }),
      );
    } catch (error) {
      if (error instanceof TransactionCanceledException) {
        const failed = error.CancellationReasons?.find((reason) => reason.Code === 'ConditionalCheckFailed');
        if (failed !== undefined) throw stale(optNum(failed.Item, 'pg'));
      }
      mapAwsError(error);
    }
  }

  async reset(
    group: string,
    topic: string,
    topicId: string,
    offsets: readonly { readonly partition: number; readonly offset: number }[],
  ): Promise<void> {
    await this.register(group);
    const at = Date.now();
    for (let i = 0; i < offsets.length; i += MAX_PARTITIONS_PER_COMMIT) {
      const updates = offsets
        .slice(i, i + MAX_PARTITIONS_PER_COMMIT)
        .map(({ partition, offset }) =>
          resetOffsetUpdate(this.table, { group, topic, topicId, partition, offset, metadata: '', at }),
        );
      const [only] = updates;
      if (updates.length === 1 && only !== undefined) {
        await this.client.send(new UpdateItemCommand(only)).catch(mapAwsError);
      } else {
        await this.client
          .send(new TransactWriteItemsCommand({ TransactItems: updates.map((Update) => ({ Update })) }))
          .catch(mapAwsError);
      }
    }
  }

  subscription(group: string): Promise<Subscription | undefined> {
    return this.subscriptions.get(group);
  }

  async fetch(group: string, topic: string, topicId: string): Promise<CommittedOffset[]> {
    const items = await queryAll(this.client, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': S(groupPk(group)), ':prefix': S(`${topic}#`) },
      ConsistentRead: true,
    });
    return items
      .filter((item) => item.topicId?.S === topicId) // others were committed for a deleted incarnation
      .map((item) => ({
        partition: num(item, 'partition'),
        offset: num(item, 'offset'),
        metadata: str(item, 'metadata'),
        generation: num(item, 'generation'),
        committedAt: num(item, 'committedAt'),
        plainCommits: optNum(item, 'pv') ?? 0,
      }));
  }

  /** Records the group's name under pk 'groups' so groups can be listed without a scan. */
  async register(group: string): Promise<void> {
    if (this.registered.has(group)) return;
    await this.client
      .send(new PutItemCommand({ TableName: this.table, Item: { pk: S(GROUPS_PK), sk: S(group) } }))
      .catch(mapAwsError);
    this.registered.add(group);
  }

  async exists(group: string): Promise<boolean> {
    const out = await this.client
      .send(
        new GetItemCommand({
          TableName: this.table,
          Key: { pk: S(GROUPS_PK), sk: S(group) },
          ConsistentRead: true,
        }),
      )
      .catch(mapAwsError);
    return out.Item !== undefined;
  }

  async list(): Promise<string[]> {
    return (await queryPartition(this.client, this.table, GROUPS_PK)).map((item) => str(item, 'sk'));
  }
}
