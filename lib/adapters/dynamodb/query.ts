import { type DynamoDBClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/client-dynamodb';
import { mapAwsError } from '../aws-errors.ts';
import type { Item } from './attributes.ts';

/**
 * Every item a Query matches, following `LastEvaluatedKey` page by page.
 *
 * @example
 * const items = await queryAll(client, { TableName, KeyConditionExpression: 'pk = :pk', ... });
 */
export async function queryAll(
  client: DynamoDBClient,
  input: Omit<QueryCommandInput, 'ExclusiveStartKey'>,
): Promise<Item[]> {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const out = await client
      .send(new QueryCommand({ ...input, ExclusiveStartKey: start }))
      .catch(mapAwsError);
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}

/** Every item of one partition key, strongly consistent. */
export async function queryPartition(client: DynamoDBClient, table: string, pk: string): Promise<Item[]> {
  return await queryAll(client, {
    TableName: table,
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': { S: pk } },
    ConsistentRead: true,
  });
}
