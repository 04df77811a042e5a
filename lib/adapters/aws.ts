import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Invoker, QueueSender } from '../core/ports.ts';
import type { EngineDeps } from '../engine/context.ts';
import { Dispatcher, type DispatcherOptions } from '../engine/dispatcher.ts';
import { Streambed } from '../engine/streambed.ts';
import { DynamoGroupStore } from './dynamodb/group-store.ts';
import { DynamoLeaseStore } from './dynamodb/lease-store.ts';
import { DynamoPartitionIndex } from './dynamodb/partition-index.ts';
import { DynamoProducerRegistry } from './dynamodb/producer-registry.ts';
import { DynamoSubscriptionStore } from './dynamodb/subscription-store.ts';
import type { TableNames } from './dynamodb/tables.ts';
import { DynamoTopicStore } from './dynamodb/topic-store.ts';
import { S3ObjectStore } from './s3/object-store.ts';

export interface StreambedAwsConfig {
  readonly s3: S3Client;
  readonly dynamodb: DynamoDBClient;
  readonly bucket: string;
  readonly tables: TableNames;
  /** Tail entries per index page. @default 32 */
  readonly pageSize?: number;
  readonly engine?: Omit<EngineDeps, 'objects' | 'topics' | 'index' | 'groups' | 'leases' | 'producers'>;
  readonly onFlushError?: (error: unknown) => void;
}

/** The ports backed by S3 and DynamoDB, for tests and tools that wrap one of them. */
export function awsPorts(config: StreambedAwsConfig): EngineDeps {
  return {
    ...config.engine,
    objects: new S3ObjectStore({ client: config.s3, bucket: config.bucket }),
    topics: new DynamoTopicStore({ client: config.dynamodb, table: config.tables.meta }),
    index: new DynamoPartitionIndex({
      client: config.dynamodb,
      table: config.tables.log,
      ...(config.pageSize === undefined ? {} : { pageSize: config.pageSize }),
      ...(config.onFlushError === undefined ? {} : { onFlushError: config.onFlushError }),
      // One clock for object ids and the commit limit checked against them.
      ...(config.engine?.now === undefined ? {} : { now: config.engine.now }),
    }),
    groups: new DynamoGroupStore({ client: config.dynamodb, table: config.tables.meta }),
    leases: new DynamoLeaseStore({ client: config.dynamodb, table: config.tables.meta }),
    producers: new DynamoProducerRegistry({ client: config.dynamodb, table: config.tables.meta }),
  };
}

/**
 * A Streambed engine on S3 and DynamoDB, with the clients you pass in.
 *
 * @example
 * const log = createStreambed({
 *   s3: new S3Client({}), dynamodb: new DynamoDBClient({}),
 *   bucket: 'my-streambed', tables: { log: 'streambed-log', meta: 'streambed-meta' },
 * });
 */
export function createStreambed(config: StreambedAwsConfig): Streambed {
  return new Streambed(awsPorts(config));
}

/**
 * A dispatcher of consumer functions on S3 and DynamoDB.
 *
 * @example
 * const dispatcher = createDispatcher(config, { invoker: new LambdaInvoker(new LambdaClient({})) });
 */
export function createDispatcher(
  config: StreambedAwsConfig,
  options: { readonly invoker: Invoker; readonly sqs?: QueueSender } & Omit<
    DispatcherOptions,
    'deps' | 'subscriptions' | 'invoker' | 'sqs'
  >,
): Dispatcher {
  return new Dispatcher({
    ...options,
    deps: awsPorts(config),
    subscriptions: new DynamoSubscriptionStore({ client: config.dynamodb, table: config.tables.meta }),
  });
}
