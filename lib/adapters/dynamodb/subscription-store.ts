import {
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { SubscriptionStore } from '../../core/ports.ts';
import { DEFAULT_KNOBS, type Subscription } from '../../core/subscription.ts';
import { mapAwsError } from '../aws-errors.ts';
import { type Item, S, str } from './attributes.ts';
import { queryPartition } from './query.ts';

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
/** A stored subscription; knobs added since it was stored take their defaults. */
function decodeSpec(spec: string): Subscription {
  return { ...DEFAULT_KNOBS, ...(JSON.parse(spec) as Subscription) };
}

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
    return out.Item === undefined ? undefined : decodeSpec(str(out.Item, 'spec'));
  }

  async list(): Promise<Subscription[]> {
    const items = await queryPartition(this.client, this.table, SUBSCRIPTION_PK);
    return items.map((item) => decodeSpec(str(item, 'spec')));
  }

  async delete(group: string): Promise<void> {
    await this.client
      .send(new DeleteItemCommand({ TableName: this.table, Key: { pk: S(SUBSCRIPTION_PK), sk: S(group) } }))
      .catch(mapAwsError);
  }
}
