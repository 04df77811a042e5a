import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';

const SINGLE_WRITES = new Set(['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand']);

type TransactItem = Partial<Record<'Put' | 'Update' | 'Delete' | 'ConditionCheck', { TableName?: unknown }>>;

/**
 * Whether a DynamoDB request writes to `table`: a single-item write naming it, a transaction with a
 * Put, Update or Delete on it, or a batch write with items for it. Reads never count.
 *
 * @example
 * writesTo('UpdateItemCommand', { TableName: 'streambed-log' }, 'streambed-log'); // true
 * writesTo('GetItemCommand', { TableName: 'streambed-log' }, 'streambed-log'); // false
 */
export function writesTo(command: string | undefined, input: unknown, table: string): boolean {
  if (typeof input !== 'object' || input === null) return false;
  if (command !== undefined && SINGLE_WRITES.has(command))
    return (input as { TableName?: unknown }).TableName === table;
  if (command === 'TransactWriteItemsCommand') {
    const items = (input as { TransactItems?: unknown }).TransactItems;
    return (
      Array.isArray(items) &&
      (items as TransactItem[]).some((item) =>
        [item.Put, item.Update, item.Delete].some((write) => write?.TableName === table),
      )
    );
  }
  if (command === 'BatchWriteItemCommand') {
    const requests = (input as { RequestItems?: unknown }).RequestItems;
    return typeof requests === 'object' && requests !== null && table in requests;
  }
  return false;
}

let attached = 0;

/**
 * Calls `onCommit` after each write to `table` that succeeds through `client` — every commit that
 * engines over this client make (produce through the local HTTP API or the library, a consumer
 * function's `produce`, an on-failure record), just before their caller sees it acknowledged. It sends
 * nothing and changes no request. Returns a function that detaches it.
 *
 * The local consumer runner uses it to wake its stream poller, so a record produced in this process
 * reaches its handler without waiting out the poller's idle pause. A commit made elsewhere (another
 * process, another client) is still read at the next poll.
 *
 * @example
 * const unwatch = watchCommits(config.dynamodb, config.tables.log, () => poller.wake());
 * ...
 * unwatch();
 */
export function watchCommits(client: DynamoDBClient, table: string, onCommit: () => void): () => void {
  const name = `streambedCommitWatch${++attached}`;
  // Both clients share smithy's middleware stack; only its input/output type parameters differ.
  const stack = client.middlewareStack as unknown as S3Client['middlewareStack'];
  stack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      // After the last attempt succeeded (the initialize step sits above the SDK's retries). The write
      // is done: nothing the listener does may make it look failed to its caller.
      if (writesTo(context.commandName, args.input, table)) {
        try {
          onCommit();
        } catch {}
      }
      return result;
    },
    { step: 'initialize', name },
  );
  return () => {
    stack.remove(name);
  };
}
