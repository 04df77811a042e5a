import { randomBytes } from 'node:crypto';
import { type AttributeValue, type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { awsPorts, type StreambedAwsConfig } from '../../lib/adapters/aws.ts';
import { ensureBucket, localClients } from '../../lib/adapters/clients.ts';
import { ensureTables, type TableNames } from '../../lib/adapters/dynamodb/tables.ts';
import type { EngineDeps } from '../../lib/engine/context.ts';
import { Streambed } from '../../lib/engine/streambed.ts';
import type { ServiceEndpoints } from '../../lib/harness/services.ts';
import { Instruments } from './instrument.ts';

/** One bucket and one pair of tables on the local services, with instrumented clients. */
export interface BenchStack {
  readonly endpoints: ServiceEndpoints;
  readonly bucket: string;
  readonly tables: TableNames;
  /** Clients the timed runs use: requests and errors are counted, nothing is added to requests. */
  readonly s3: S3Client;
  readonly dynamodb: DynamoDBClient;
  readonly instruments: Instruments;
  readonly config: StreambedAwsConfig;
  /** A new engine (own topic cache) over the timed clients. */
  engine(): Streambed;
  /** The ports over the timed clients (for reading the index directly). */
  ports(): EngineDeps;
  /**
   * A partition head as stored (consistent GetItem, pk `<topicId>#<partition>`, sk -1), read through
   * a client of its own that no instrument counts, so sampling it never shows in a figure.
   */
  headItem(topicId: string, partition: number): Promise<Record<string, AttributeValue> | undefined>;
  /** Flush errors the engines reported (best-effort paging that failed). */
  readonly flushErrors: string[];
  /**
   * Separate clients with request-unit accounting on (`ReturnConsumedCapacity` added to every
   * DynamoDB data-plane request): for the cost pass only, so timed runs send exactly what lib/ sends.
   */
  costClients(): { s3: S3Client; dynamodb: DynamoDBClient; instruments: Instruments; engine: Streambed };
  close(): void;
}

export async function benchStack(endpoints: ServiceEndpoints): Promise<BenchStack> {
  const { s3, dynamodb } = localClients(endpoints);
  const instruments = new Instruments().attach(s3, dynamodb);
  const id = randomBytes(3).toString('hex');
  const bucket = `streambed-bench-${id}`;
  const tables = { log: `bench-${id}-log`, meta: `bench-${id}-meta` };
  await Promise.all([ensureBucket(s3, bucket), ensureTables(dynamodb, tables)]);
  const flushErrors: string[] = [];
  const config: StreambedAwsConfig = {
    s3,
    dynamodb,
    bucket,
    tables,
    onFlushError: (error) => {
      if (flushErrors.length < 100) flushErrors.push(error instanceof Error ? error.message : String(error));
    },
  };
  const others: { s3: S3Client; dynamodb: DynamoDBClient }[] = [];
  const probe = localClients(endpoints);
  others.push(probe);
  return {
    endpoints,
    bucket,
    tables,
    s3,
    dynamodb,
    instruments,
    config,
    flushErrors,
    engine: () => new Streambed(awsPorts(config)),
    ports: () => awsPorts(config),
    headItem: async (topicId, partition) => {
      const out = await probe.dynamodb.send(
        new GetItemCommand({
          TableName: tables.log,
          Key: { pk: { S: `${topicId}#${partition}` }, sk: { N: '-1' } },
          ConsistentRead: true,
        }),
      );
      return out.Item;
    },
    costClients: () => {
      const clients = localClients(endpoints);
      others.push(clients);
      const costInstruments = new Instruments().attach(clients.s3, clients.dynamodb, { capacity: true });
      const engine = new Streambed(awsPorts({ ...config, s3: clients.s3, dynamodb: clients.dynamodb }));
      return { ...clients, instruments: costInstruments, engine };
    },
    close: () => {
      s3.destroy();
      dynamodb.destroy();
      for (const clients of others) {
        clients.s3.destroy();
        clients.dynamodb.destroy();
      }
    },
  };
}
