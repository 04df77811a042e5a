import {
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import type { SubscriptionStore } from '../../core/ports.ts';
import type { Subscription } from '../../core/subscription.ts';
import { mapAwsError } from '../aws-errors.ts';
import { type Item, S, str } from './attributes.ts';

/** Subscriptions in the `meta` table: pk 'subscription', sk = group, `spec` = the subscription as JSON. */
export const SUBSCRIPTION_PK = 'subscription';

export function subscriptionItem(subscription: Subscription): Item {
  return { pk: S(SUBSCRIPTION_PK), sk: S(subscription.group), spec: S(JSON.stringify(subscription)) };
}

/**
 * @example
 * const subscriptions = new DynamoSubscriptionStore({ client, table: 'streambed-meta' });
 * await subscriptions.list();
 */
export class DynamoSubscriptionStore implements SubscriptionStore {
  private readonly client: DynamoDBClient;
  private readonly table: string;

  constructor(options: { readonly client: DynamoDBClient; readonly table: string }) {
    this.client = options.client;
    this.table = options.table;
  }

  async put(subscription: Subscription): Promise<void> {
    await this.client
      .send(new PutItemCommand({ TableName: this.table, Item: subscriptionItem(subscription) }))
      .catch(mapAwsError);
  }

  async get(group: string): Promise<Subscription | undefined> {
    const out = await this.client
      .send(
        new GetItemCommand({
          TableName: this.table,
          Key: { pk: S(SUBSCRIPTION_PK), sk: S(group) },
          ConsistentRead: true,
        }),
      )
      .catch(mapAwsError);
    return out.Item === undefined ? undefined : (JSON.parse(str(out.Item, 'spec')) as Subscription);
  }

  async list(): Promise<Subscription[]> {
    const found: Subscription[] = [];
    let start: Item | undefined;
    do {
      const out = await this.client
        .send(
          new QueryCommand({
            TableName: this.table,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': S(SUBSCRIPTION_PK) },
            ConsistentRead: true,
            ExclusiveStartKey: start,
          }),
        )
        .catch(mapAwsError);
      found.push(...(out.Items ?? []).map((item) => JSON.parse(str(item, 'spec')) as Subscription));
      start = out.LastEvaluatedKey;
    } while (start !== undefined);
    return found;
  }

  async delete(group: string): Promise<void> {
    await this.client
      .send(new DeleteItemCommand({ TableName: this.table, Key: { pk: S(SUBSCRIPTION_PK), sk: S(group) } }))
      .catch(mapAwsError);
  }
}
