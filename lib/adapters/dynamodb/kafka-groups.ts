import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  TransactionCanceledException,
  type TransactWriteItem,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { StaleGenerationError } from '../../core/errors.ts';
import type { KafkaCommitFence, KafkaGroupStore, StoredKafkaGroup } from '../../core/ports.ts';
import { mapAwsError } from '../aws-errors.ts';
import { type Item, L, N, num, S, str } from './attributes.ts';
import { DynamoGroupStore, plainOffsetUpdate, resetOffsetUpdate } from './group-store.ts';
import { queryAll } from './query.ts';

/** Kafka groups in the `meta` table: pk 'kgroup', sk = group id. */
const KGROUP_PK = 'kgroup';

const groupKey = (group: string) => ({ pk: S(KGROUP_PK), sk: S(group) });

/*
 * One item per Kafka group:
 *
 *   pk 'kgroup'  sk <group>  v N (version)  gen N  st S (state)  pt S (protocol type)
 *                            n N (member count)  mids L<S> (member ids)  data S (the rest, JSON)
 *
 * Every change is a PutItem conditioned on `v` being the version read (or on the item's absence),
 * so of two servers deciding on the same read exactly one write lands; the other reads again.
 * `gen`, `st`, `n` and `mids` are attributes of their own so that a Kafka offset commit can check them
 * in a ConditionCheck of the same transaction as the offset writes.
 */

function decode(item: Item): StoredKafkaGroup {
  return {
    group: str(item, 'sk'),
    version: num(item, 'v'),
    generation: num(item, 'gen'),
    state: str(item, 'st'),
    protocolType: str(item, 'pt'),
    memberIds: (item.mids?.L ?? []).map((v) => v.S ?? ''),
    data: str(item, 'data'),
  };
}

/**
 * {@link KafkaGroupStore} on DynamoDB. Kafka offset commits go into the same committed-offset items as
 * the engine's plain commits (group-store.ts codec), so every door sees them.
 *
 * @example
 * const groups = new DynamoKafkaGroupStore({ client: dynamodb, table: 'streambed-meta' });
 * const coordinator = new KafkaGroupCoordinator({ store: groups, engine: log, clock: SYSTEM_CLOCK });
 */
export class DynamoKafkaGroupStore implements KafkaGroupStore {
  private readonly client: DynamoDBClient;
  private readonly table: string;
  private readonly offsets: DynamoGroupStore;

  constructor(options: { readonly client: DynamoDBClient; readonly table: string }) {
    this.client = options.client;
    this.table = options.table;
    this.offsets = new DynamoGroupStore(options);
  }

  async get(group: string): Promise<StoredKafkaGroup | undefined> {
    const out = await this.client
      .send(new GetItemCommand({ TableName: this.table, Key: groupKey(group), ConsistentRead: true }))
      .catch(mapAwsError);
    return out.Item === undefined ? undefined : decode(out.Item);
  }

  async put(next: StoredKafkaGroup, expected: number | undefined): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: {
            ...groupKey(next.group),
            v: N(next.version),
            gen: N(next.generation),
            st: S(next.state),
            pt: S(next.protocolType),
            n: N(next.memberIds.length),
            mids: L(next.memberIds.map(S)),
            data: S(next.data),
          },
          ConditionExpression: expected === undefined ? 'attribute_not_exists(pk)' : 'v = :v',
          ...(expected === undefined ? {} : { ExpressionAttributeValues: { ':v': N(expected) } }),
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      return mapAwsError(error);
    }
  }

  async list(): Promise<StoredKafkaGroup[]> {
    const items = await queryAll(this.client, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': S(KGROUP_PK) },
      ConsistentRead: true,
    });
    return items.map(decode);
  }

  /**
   * One TransactWriteItems:
   *
   *   [0]    ConditionCheck  kgroup item   generation ≥ 0: gen = :gen AND contains(mids, :member)
   *                                         AND st <> 'CompletingRebalance'
   *                                         generation -1: no item, or n = 0 (no members)
   *   [1..]  Update          offset items  generation ≥ 0: the engine's plain commit (pg ≤ gen, pv + 1)
   *                                         generation -1: the engine's reset (unfenced, pv + 1)
   *
   * All or nothing: a commit decided on a generation the group has left can never land, because
   * every transition of the group item that changes its generation, members or state is a write to
   * that item, and DynamoDB serializes the transaction against it.
   */
  async commitFenced(
    fence: KafkaCommitFence,
    topic: string,
    topicId: string,
    offsets: readonly { readonly partition: number; readonly offset: number; readonly metadata: string }[],
  ): Promise<boolean> {
    await this.offsets.register(fence.group);
    const at = Date.now();
    const check: TransactWriteItem =
      fence.generation >= 0
        ? {
            ConditionCheck: {
              TableName: this.table,
              Key: groupKey(fence.group),
              ConditionExpression: 'gen = :gen AND contains(mids, :member) AND st <> :completing',
              ExpressionAttributeValues: {
                ':gen': N(fence.generation),
                ':member': S(fence.memberId),
                ':completing': S('CompletingRebalance'),
              },
            },
          }
        : {
            ConditionCheck: {
              TableName: this.table,
              Key: groupKey(fence.group),
              ConditionExpression: 'attribute_not_exists(pk) OR n = :zero',
              ExpressionAttributeValues: { ':zero': N(0) },
            },
          };
    const writes: TransactWriteItem[] = offsets.map((o) => {
      const write = {
        group: fence.group,
        topic,
        topicId,
        partition: o.partition,
        offset: o.offset,
        metadata: o.metadata,
        at,
      };
      const Update =
        fence.generation >= 0
          ? plainOffsetUpdate(this.table, { ...write, generation: fence.generation })
          : resetOffsetUpdate(this.table, write);
      return { Update };
    });
    try {
      await this.client.send(new TransactWriteItemsCommand({ TransactItems: [check, ...writes] }));
      return true;
    } catch (error) {
      if (error instanceof TransactionCanceledException) {
        const reasons = error.CancellationReasons ?? [];
        if (reasons[0]?.Code === 'ConditionalCheckFailed') return false;
        if (reasons.slice(1).some((r) => r.Code === 'ConditionalCheckFailed')) {
          throw new StaleGenerationError(
            `group '${fence.group}' commit with Kafka generation ${fence.generation} is older than a generation committed over another door`,
          );
        }
      }
      return mapAwsError(error);
    }
  }
}
