import type { AttributeValue, ConsumedCapacity, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { RequestCounter } from '../../lib/adapters/request-counter.ts';
import { itemSize, writeUnits } from './item-size.ts';

/** Everything the instruments saw between two resets. */
export interface InstrumentSnapshot {
  /** HTTP requests sent, by `s3:`/`ddb:` command (every attempt, retries included). */
  readonly requests: Record<string, number>;
  /**
   * Failed calls by `s3:`/`ddb:` command and error name, e.g. `ddb:UpdateItem[append]:ConditionalCheckFailedException`
   * (UpdateItems of a partition head are tagged `[append]` or `[page-trim]`).
   */
  readonly errors: Record<string, number>;
  /**
   * Failed HTTP attempts by command and error name, counted inside the SDK's retry loop: the
   * failures the SDK retried on its own (throttling, 5xx such as MinIO's 503 SlowDown) show here and
   * not in `errors`, which holds what the caller saw.
   */
  readonly attemptErrors: Record<string, number>;
  /** Request units DynamoDB reported (only with `capacity`), plus estimates for failed conditional writes. */
  readonly capacity: { readonly write: number; readonly read: number; readonly failedWriteEstimate: number };
}

const WRITE_COMMANDS = new Set([
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'BatchWriteItemCommand',
  'TransactWriteItemsCommand',
]);
const READ_COMMANDS = new Set([
  'GetItemCommand',
  'QueryCommand',
  'ScanCommand',
  'BatchGetItemCommand',
  'TransactGetItemsCommand',
]);

let attached = 0;

/**
 * DynamoDB bills transactional reads and writes 2 units per item KB; DynamoDB Local reports the
 * plain count (checked: a TransactWriteItems of two small items reports 2, AWS bills 4).
 */
const TRANSACTION_FACTOR = 2;

/**
 * Which of Streambed's head updates an UpdateItem is, from its update expression: the commit
 * (`[append]`: list_append to the tail) or the paging trim (`[page-trim]`: REMOVE tail[0..ps)).
 * Fences (`SET fx.<id>`) stay untagged; idempotent appends are TransactWriteItems.
 */
function updateKind(input: unknown): string {
  const expression = (input as { UpdateExpression?: unknown } | undefined)?.UpdateExpression;
  if (typeof expression !== 'string') return '';
  if (expression.includes('list_append')) return '[append]';
  if (expression.startsWith('REMOVE')) return '[page-trim]';
  return '';
}

/**
 * Counts what SDK clients do, with middleware (nothing estimated from code paths):
 * - requests per command: the project's {@link RequestCounter} (deserialize step, below retries);
 * - errors by name: an `initialize`-step middleware, so it sees the error the caller sees;
 * - with `capacity: true`, DynamoDB's consumed request units: the middleware sets
 *   `ReturnConsumedCapacity: TOTAL` on every data-plane request and adds up what comes back. A failed
 *   conditional write reports no capacity (DynamoDB charges it by the existing item's size): when the
 *   error carries the old item (`ReturnValuesOnConditionCheckFailure: ALL_OLD`) its units are estimated
 *   from that item's size, otherwise as 1.
 *
 * @example
 * const instruments = new Instruments().attach(s3, dynamodb, { capacity: true });
 * await log.produce(request);
 * instruments.snapshot().requests; // { 'ddb:UpdateItem': 1, 's3:PutObject': 1 }
 */
export class Instruments {
  private readonly counter = new RequestCounter();
  private readonly errorCounts = new Map<string, number>();
  private readonly attemptErrorCounts = new Map<string, number>();
  private write = 0;
  private read = 0;
  private failedWrite = 0;

  attach(s3: S3Client, dynamodb: DynamoDBClient, options: { capacity?: boolean } = {}): this {
    this.counter.attach(s3, 's3:').attach(dynamodb, 'ddb:');
    this.watchErrors(s3, 's3:');
    this.watchErrors(dynamodb, 'ddb:');
    this.watchAttempts(s3, 's3:');
    this.watchAttempts(dynamodb, 'ddb:');
    if (options.capacity === true) this.watchCapacity(dynamodb);
    return this;
  }

  private watchErrors(client: S3Client | DynamoDBClient, prefix: string): void {
    const stack = client.middlewareStack as S3Client['middlewareStack'];
    stack.add(
      (next, context) => async (args) => {
        try {
          return await next(args);
        } catch (error) {
          const command = (context.commandName ?? 'Unknown').replace(/Command$/, '');
          const name = `${prefix}${command}${updateKind(args.input)}:${error instanceof Error ? error.name : 'Error'}`;
          this.errorCounts.set(name, (this.errorCounts.get(name) ?? 0) + 1);
          if (
            prefix === 'ddb:' &&
            error instanceof Error &&
            error.name === 'ConditionalCheckFailedException' &&
            WRITE_COMMANDS.has(context.commandName ?? '')
          ) {
            const old = (error as { Item?: Record<string, AttributeValue> }).Item;
            this.failedWrite += old === undefined ? 1 : writeUnits(itemSize(old));
          }
          if (prefix === 'ddb:' && error instanceof Error && error.name === 'TransactionCanceledException') {
            // Estimated as if each item were written: 2 units per KB of the item it returned.
            const reasons = (error as { CancellationReasons?: { Item?: Record<string, AttributeValue> }[] })
              .CancellationReasons;
            for (const reason of reasons ?? [{}]) {
              this.failedWrite +=
                TRANSACTION_FACTOR * (reason.Item === undefined ? 1 : writeUnits(itemSize(reason.Item)));
            }
          }
          throw error;
        }
      },
      { step: 'initialize', name: `benchErrorCounter${++attached}` },
    );
  }

  /** Inside the retry middleware (finalizeRequest, priority high), so each failed attempt counts. */
  private watchAttempts(client: S3Client | DynamoDBClient, prefix: string): void {
    const stack = client.middlewareStack as S3Client['middlewareStack'];
    stack.add(
      (next, context) => async (args) => {
        try {
          return await next(args);
        } catch (error) {
          const command = (context.commandName ?? 'Unknown').replace(/Command$/, '');
          const name = `${prefix}${command}${updateKind(args.input)}:${error instanceof Error ? error.name : 'Error'}`;
          this.attemptErrorCounts.set(name, (this.attemptErrorCounts.get(name) ?? 0) + 1);
          throw error;
        }
      },
      { step: 'finalizeRequest', priority: 'low', name: `benchAttemptErrorCounter${++attached}` },
    );
  }

  private watchCapacity(dynamodb: DynamoDBClient): void {
    const stack = dynamodb.middlewareStack as unknown as S3Client['middlewareStack'];
    stack.add(
      (next, context) => async (args) => {
        const command = context.commandName ?? '';
        const isWrite = WRITE_COMMANDS.has(command);
        if (isWrite || READ_COMMANDS.has(command)) {
          (args.input as Record<string, unknown>).ReturnConsumedCapacity = 'TOTAL';
        }
        const out = await next(args);
        const consumed = (out.output as { ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[] })
          .ConsumedCapacity;
        const units = (Array.isArray(consumed) ? consumed : consumed === undefined ? [] : [consumed]).reduce(
          (total, c) => total + (c.CapacityUnits ?? 0),
          0,
        );
        // DynamoDB bills a transaction 2 units per KB of each item; DynamoDB Local reports 1.
        const factor = command.startsWith('Transact') ? TRANSACTION_FACTOR : 1;
        if (isWrite) this.write += units * factor;
        else this.read += units * factor;
        return out;
      },
      { step: 'initialize', name: `benchCapacity${++attached}` },
    );
  }

  snapshot(): InstrumentSnapshot {
    return {
      requests: this.counter.snapshot(),
      errors: sorted(this.errorCounts),
      attemptErrors: sorted(this.attemptErrorCounts),
      capacity: { write: this.write, read: this.read, failedWriteEstimate: this.failedWrite },
    };
  }

  reset(): void {
    this.counter.reset();
    this.errorCounts.clear();
    this.attemptErrorCounts.clear();
    this.write = 0;
    this.read = 0;
    this.failedWrite = 0;
  }
}

function sorted(counts: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...counts.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * Failed attempts the SDK retried on its own (so the caller never saw them): attempt errors minus
 * the errors that reached the caller, by name; only names with retried attempts are listed.
 */
export function retriedByName(snapshot: InstrumentSnapshot): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, n] of Object.entries(snapshot.attemptErrors)) {
    const retried = n - (snapshot.errors[name] ?? 0);
    if (retried > 0) out[name] = retried;
  }
  return out;
}

/** Failed conditions in a snapshot: ConditionalCheckFailed and TransactionCanceled answers. */
export function failedConditions(errors: Record<string, number>): number {
  return (
    errorsNamed(errors, 'ConditionalCheckFailedException') +
    errorsNamed(errors, 'TransactionCanceledException')
  );
}

/** Requests of one kind in a snapshot: `count(s, 'ddb:', ['UpdateItem', 'PutItem'])`. */
export function count(
  requests: Record<string, number>,
  prefix: 's3:' | 'ddb:',
  commands?: readonly string[],
): number {
  let total = 0;
  for (const [name, value] of Object.entries(requests)) {
    if (!name.startsWith(prefix)) continue;
    if (commands === undefined || commands.includes(name.slice(prefix.length))) total += value;
  }
  return total;
}

export const DDB_WRITES = [
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'BatchWriteItem',
  'TransactWriteItems',
] as const;
export const DDB_READS = ['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems'] as const;

/** Failed calls whose name ends with `suffix` (e.g. 'ConditionalCheckFailedException'). */
export function errorsNamed(errors: Record<string, number>, suffix: string): number {
  let total = 0;
  for (const [name, value] of Object.entries(errors)) if (name.endsWith(`:${suffix}`)) total += value;
  return total;
}
