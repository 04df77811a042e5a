import {
  CreateTableCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';

/**
 * Streambed's two tables.
 *
 * - `log` (pk S, sk N): per-partition heads (sk = -1) and index pages (sk = first offset).
 * - `meta` (pk S, sk S): topics (pk 'topic', sk name) and consumer-group offsets
 *   (pk 'group#<group>', sk '<topic>#<partition>').
 *
 * The full key schema and why it is correct: docs/design.md.
 */
export interface TableNames {
  readonly log: string;
  readonly meta: string;
}

/** An on-demand table keyed by `pk` (string) and `sk` of the given type. */
function pkSkTable(name: string, skType: 'S' | 'N'): CreateTableCommandInput {
  return {
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: skType },
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
  };
}

/** The table definitions, shared by local set-up and (in shape) by the CDK construct. */
export function tableDefinitions(names: TableNames): CreateTableCommandInput[] {
  return [
    {
      ...pkSkTable(names.log, 'N'),
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
    },
    pkSkTable(names.meta, 'S'),
  ];
}

/**
 * Creates the tables if they do not exist (for local stacks and tests; AWS uses the CDK stack).
 *
 * @example
 * await ensureTables(client, { log: 'streambed-log', meta: 'streambed-meta' });
 */
export async function ensureTables(client: DynamoDBClient, names: TableNames): Promise<void> {
  await Promise.all(
    tableDefinitions(names).map(async (definition) => {
      try {
        await client.send(new CreateTableCommand(definition));
      } catch (error) {
        if (!(error instanceof ResourceInUseException)) throw error;
      }
      await waitUntilTableExists({ client, maxWaitTime: 60 }, { TableName: definition.TableName });
      // TTL on `ttl` cleans up expired producer state and registrations (readers check the time).
      try {
        await client.send(
          new UpdateTimeToLiveCommand({
            TableName: definition.TableName,
            TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
          }),
        );
      } catch (error) {
        if (!/already enabled/i.test((error as Error).message)) throw error;
      }
    }),
  );
}
