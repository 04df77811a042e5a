import { randomInt } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { ThrottledError } from '../../core/errors.ts';
import type { IssuedProducer, ProducerRegistry } from '../../core/ports.ts';
import { mapAwsError } from '../aws-errors.ts';
import { type Item, N, num, optNum, S } from './attributes.ts';

export interface DynamoProducerRegistryOptions {
  readonly client: DynamoDBClient;
  /** The `meta` table. */
  readonly table: string;
  /** How long a registration lives after it was issued (Kafka: transactional.id.expiration.ms). @default 7 days */
  readonly expirationMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** A random positive integer below 2^53, in decimal. */
function newProducerId(): string {
  return String(randomInt(1, 2 ** 48) * 32 + randomInt(0, 32));
}

/** Kafka's producer epoch is a 16-bit signed integer. */
const MAX_EPOCH = 32_767;
const PRODUCER_ID = /^[1-9][0-9]{0,15}$/;

/**
 * Issued producer ids in the `meta` table (docs/design.md §2):
 *   pk 'producer', sk '<producer id>': v, epoch, txn (its transactional id), createdAt, ttl
 *   pk 'txn', sk '<transactional id>': producerId
 * Ids are random positive integers below 2^53 (Kafka's int64 producer id), created only if absent.
 * A registration is valid until `ttl` (renewed by every init of a transactional id); `get` checks
 * the time itself, so correctness never rests on DynamoDB TTL deleting on time.
 *
 * @example
 * const registry = new DynamoProducerRegistry({ client, table: 'streambed-meta' });
 * const { producerId, epoch } = await registry.init('orders-writer');
 */
export class DynamoProducerRegistry implements ProducerRegistry {
  private readonly client: DynamoDBClient;
  private readonly table: string;
  private readonly expirationMs: number;
  private readonly now: () => number;

  constructor(options: DynamoProducerRegistryOptions) {
    this.client = options.client;
    this.table = options.table;
    this.expirationMs = options.expirationMs ?? 7 * 24 * 3600 * 1000;
    this.now = options.now ?? Date.now;
  }

  private ttl(): number {
    return Math.ceil((this.now() + this.expirationMs) / 1000);
  }

  private producerItem(producerId: string, epoch: number, transactionalId?: string): Item {
    return {
      pk: S('producer'),
      sk: S(producerId),
      v: N(1),
      epoch: N(epoch),
      createdAt: N(this.now()),
      ttl: N(this.ttl()),
      ...(transactionalId === undefined ? {} : { txn: S(transactionalId) }),
    };
  }

  async init(transactionalId?: string): Promise<IssuedProducer> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const issued =
        transactionalId === undefined
          ? await this.issueFresh()
          : await this.initTransactional(transactionalId);
      if (issued !== undefined) return issued;
    }
    throw new ThrottledError('could not issue a producer id; retry');
  }

  /** A fresh id at epoch 0, or undefined when the random id was taken (vanishingly rare). */
  private async issueFresh(): Promise<IssuedProducer | undefined> {
    const producerId = newProducerId();
    try {
      // One conditional PutItem (1 WRU). A lost response retried by the SDK fails its condition:
      // then another id is issued, and the first registration is simply never used.
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: this.producerItem(producerId, 0),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { producerId, epoch: 0 };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      return mapAwsError(error);
    }
  }

  private async initTransactional(name: string): Promise<IssuedProducer | undefined> {
    const producerId = (await this.read('txn', name))?.producerId?.S;
    if (producerId === undefined) return await this.createTransactional(name);
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { pk: S('producer'), sk: S(producerId) },
          UpdateExpression: 'ADD epoch :one SET #ttl = :ttl',
          ConditionExpression: 'attribute_exists(pk) AND epoch < :max AND txn = :txn',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: {
            ':one': N(1),
            ':ttl': N(this.ttl()),
            ':max': N(MAX_EPOCH),
            ':txn': S(name),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { producerId, epoch: num(out.Attributes, 'epoch'), transactionalId: name };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) return mapAwsError(error);
      // The epoch is exhausted (or the registration is gone): a new id at epoch 0, as Kafka does.
      return await this.repoint(name, producerId);
    }
  }

  /** The first registration of a transactional id (undefined when a racing creator won: then bump). */
  private async createTransactional(name: string): Promise<IssuedProducer | undefined> {
    return await this.registerTransactional(name, 'attribute_not_exists(pk)', {});
  }

  /** A new producer id at epoch 0 for `name`, whose previous id `previous` exhausted its epochs. */
  private async repoint(name: string, previous: string): Promise<IssuedProducer | undefined> {
    return await this.registerTransactional(name, 'producerId = :previous', { ':previous': S(previous) });
  }

  /** Points `name` at a fresh producer id, if the name item still matches `condition`. */
  private async registerTransactional(
    name: string,
    condition: string,
    values: Item,
  ): Promise<IssuedProducer | undefined> {
    const producerId = newProducerId();
    try {
      await this.client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.table,
                Item: { pk: S('txn'), sk: S(name), producerId: S(producerId) },
                ConditionExpression: condition,
                ...(Object.keys(values).length === 0 ? {} : { ExpressionAttributeValues: values }),
              },
            },
            {
              Put: {
                TableName: this.table,
                Item: this.producerItem(producerId, 0, name),
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ],
        }),
      );
      return { producerId, epoch: 0, transactionalId: name };
    } catch (error) {
      if (error instanceof TransactionCanceledException) return undefined;
      return mapAwsError(error);
    }
  }

  /** One item of the registry, strongly consistent. */
  private async read(pk: string, sk: string): Promise<Item | undefined> {
    const out = await this.client
      .send(
        new GetItemCommand({ TableName: this.table, Key: { pk: S(pk), sk: S(sk) }, ConsistentRead: true }),
      )
      .catch(mapAwsError);
    return out.Item;
  }

  async get(producerId: string): Promise<IssuedProducer | undefined> {
    if (typeof producerId !== 'string' || !PRODUCER_ID.test(producerId) || Number(producerId) >= 2 ** 53) {
      return undefined;
    }
    const item = await this.read('producer', producerId);
    if (item === undefined) return undefined;
    const ttl = optNum(item, 'ttl');
    if (ttl !== undefined && ttl * 1000 <= this.now()) return undefined;
    const txn = item.txn?.S;
    return { producerId, epoch: num(item, 'epoch'), ...(txn === undefined ? {} : { transactionalId: txn }) };
  }
}
