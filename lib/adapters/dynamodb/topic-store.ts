import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { TopicAlreadyExistsError } from '../../core/errors.ts';
import type { DeletingTopic, TopicStore } from '../../core/ports.ts';
import type { TopicConfig, TopicRecord } from '../../core/types.ts';
import { mapAwsError } from '../aws-errors.ts';
import { type Item, N, num, S, str } from './attributes.ts';
import { queryPartition } from './query.ts';

const TOPIC_PK = 'topic';
/** Deletions in progress: pk 'deleting', sk = topic id, the topic record's attributes. */
const DELETING_PK = 'deleting';

function encode(topic: TopicRecord): Item {
  return {
    pk: S(TOPIC_PK),
    sk: S(topic.name),
    id: S(topic.id),
    partitions: N(topic.partitions),
    config: S(JSON.stringify(topic.config)),
    createdAt: N(topic.createdAt),
  };
}

function decode(item: Item): TopicRecord {
  return {
    name: item.pk?.S === DELETING_PK ? str(item, 'name') : str(item, 'sk'),
    id: str(item, 'id'),
    partitions: num(item, 'partitions'),
    config: JSON.parse(str(item, 'config')) as TopicConfig,
    createdAt: num(item, 'createdAt'),
  };
}

/**
 * Topics in the `meta` table: pk 'topic', sk = name. The conditional Put is the commit point of
 * topic creation (partition heads are written before it, under the new topic id).
 *
 * @example
 * const topics = new DynamoTopicStore({ client, table: 'streambed-meta' });
 * await topics.get('orders');
 */
export class DynamoTopicStore implements TopicStore {
  private readonly client: DynamoDBClient;
  private readonly table: string;

  constructor(options: { readonly client: DynamoDBClient; readonly table: string }) {
    this.client = options.client;
    this.table = options.table;
  }

  async create(topic: TopicRecord): Promise<void> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: encode(topic),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new TopicAlreadyExistsError(topic.name);
      mapAwsError(error);
    }
  }

  async get(name: string): Promise<TopicRecord | undefined> {
    const out = await this.client
      .send(
        new GetItemCommand({
          TableName: this.table,
          Key: { pk: S(TOPIC_PK), sk: S(name) },
          ConsistentRead: true,
        }),
      )
      .catch(mapAwsError);
    return out.Item === undefined ? undefined : decode(out.Item);
  }

  async list(): Promise<TopicRecord[]> {
    return (await queryPartition(this.client, this.table, TOPIC_PK)).map(decode);
  }

  async markDeleting(topic: TopicRecord, since: number): Promise<void> {
    await this.client
      .send(
        new PutItemCommand({
          TableName: this.table,
          Item: {
            ...encode(topic),
            pk: S(DELETING_PK),
            sk: S(topic.id),
            name: S(topic.name),
            since: N(since),
          },
        }),
      )
      .catch(mapAwsError);
  }

  async listDeleting(): Promise<DeletingTopic[]> {
    return (await queryPartition(this.client, this.table, DELETING_PK)).map((item) => ({
      ...decode(item),
      since: num(item, 'since'),
    }));
  }

  async clearDeleting(topicId: string): Promise<void> {
    await this.client
      .send(new DeleteItemCommand({ TableName: this.table, Key: { pk: S(DELETING_PK), sk: S(topicId) } }))
      .catch(mapAwsError);
  }

  async delete(name: string, id: string): Promise<boolean> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.table,
          Key: { pk: S(TOPIC_PK), sk: S(name) },
          ConditionExpression: 'id = :id',
          ExpressionAttributeValues: { ':id': S(id) },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      mapAwsError(error);
    }
  }
}
