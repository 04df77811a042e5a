import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateTableCommand,
  GetItemCommand,
  type TransactWriteItem,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { createDispatcher } from '../../lib/adapters/aws.ts';
import {
  offsetCommitItem,
  offsetCommitRefusal,
  type StreambedEvent,
  transactWithOffsetCommit,
} from '../../lib/consumer/index.ts';
import { toHttpRecord } from '../../lib/core/record-json.ts';
import { InProcessInvoker } from '../../lib/engine/in-process-invoker.ts';
import type { Streambed } from '../../lib/engine/streambed.ts';
import { committedOffset } from '../support/exactly-once.ts';
import { loseNextResponse } from '../support/faults.ts';
import { subscriptionOf } from '../support/lookups.ts';
import { bytes, type TestStack, testStack } from '../support/stack.ts';

/**
 * A handler that keeps a ledger in its own DynamoDB table: each payment record adds its amount to a
 * balance (an effect that shows when it is applied twice), in ONE transaction with the group's offset.
 */
function ledgerHandler(stack: TestStack, ledger: string, topicId: string) {
  const results: string[] = [];
  const handle = async (
    event: StreambedEvent,
    options: { failAfterCommit?: boolean; extra?: TransactWriteItem[] } = {},
  ) => {
    const total = event.Records.reduce((sum, r) => sum + (r.value as { amount: number }).amount, 0);
    const items: TransactWriteItem[] = [
      {
        Update: {
          TableName: ledger,
          Key: { pk: { S: 'balance' } },
          UpdateExpression: 'ADD amount :total',
          ExpressionAttributeValues: { ':total': { N: String(total) } },
        },
      },
      ...(options.extra ?? []),
    ];
    const result = await transactWithOffsetCommit(stack.dynamodb, {
      event,
      table: stack.tables.meta,
      commit: { topicId },
      items,
    });
    results.push(result);
    if (options.failAfterCommit) throw new Error('timed out after committing');
    return result;
  };
  return { handle, results };
}

describe('the DynamoDB helper: a handler commits its writes and the group offset in one transaction', () => {
  let stack: TestStack;
  let log: Streambed;
  let ledger: string;
  let topicId: string;
  before(async () => {
    stack = await testStack();
    log = stack.engine();
    ledger = `${stack.tables.meta}-ledger`;
    await stack.dynamodb.send(
      new CreateTableCommand({
        TableName: ledger,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      }),
    );
    topicId = (await log.createTopic({ name: 'payments', partitions: 1 })).id;
  });
  after(() => stack.close());

  const balance = async () => {
    const out = await stack.dynamodb.send(
      new GetItemCommand({ TableName: ledger, Key: { pk: { S: 'balance' } }, ConsistentRead: true }),
    );
    return Number(out.Item?.amount?.N ?? 0);
  };

  /** The batch of `group` from its committed offset, as the dispatcher's event carries it. */
  async function batch(group: string, count: number): Promise<StreambedEvent> {
    const start = (await committedOffset(log, group, 'payments')) ?? 0;
    const { records } = await log.fetch({
      topic: 'payments',
      partition: 0,
      offset: start,
      maxRecords: count,
    });
    return {
      eventSource: 'streambed',
      group,
      topic: 'payments',
      partition: 0,
      Records: records.map((r) => ({
        eventSource: 'streambed',
        messageId: String(r.offset),
        topic: 'payments',
        partition: 0,
        ...toHttpRecord(r),
      })),
    };
  }

  async function pay(...amounts: number[]) {
    await log.produce({
      topic: 'payments',
      records: amounts.map((amount) => ({ value: bytes(JSON.stringify({ amount })), valueIsJson: true })),
    });
  }

  test('both commit: the handler writes and the group offset moves past the batch', async () => {
    await log.commitOffsets({ group: 'g1', topic: 'payments', offsets: [{ partition: 0, offset: 0 }] });
    await pay(1, 2, 3);
    const { handle } = ledgerHandler(stack, ledger, topicId);
    assert.equal(await handle(await batch('g1', 3)), 'committed');
    assert.equal(await balance(), 6);
    assert.equal(await committedOffset(log, 'g1', 'payments'), 3);
  });

  test("neither commits when the handler's own item fails: the offset stays where the batch started", async () => {
    await log.commitOffsets({ group: 'g2', topic: 'payments', offsets: [{ partition: 0, offset: 0 }] });
    const before = await balance();
    const { handle } = ledgerHandler(stack, ledger, topicId);
    const missing: TransactWriteItem = {
      ConditionCheck: {
        TableName: ledger,
        Key: { pk: { S: 'no-such-account' } },
        ConditionExpression: 'attribute_exists(pk)',
      },
    };
    const event = await batch('g2', 3);
    await assert.rejects(handle(event, { extra: [missing] }), (error: Error) => {
      assert.equal(
        offsetCommitRefusal(error, 2, { event, table: stack.tables.meta, commit: { topicId } }),
        undefined,
      );
      return error.name === 'TransactionCanceledException';
    });
    assert.equal(await balance(), before);
    assert.equal(await committedOffset(log, 'g2', 'payments'), 0);
  });

  test('neither commits when the offset item fails: a batch that does not start at the committed offset writes nothing', async () => {
    await log.commitOffsets({ group: 'g3', topic: 'payments', offsets: [{ partition: 0, offset: 0 }] });
    const event = await batch('g3', 3);
    // An operator resets the group (to 1) while the batch [0, 3) is in the handler.
    await log.commitOffsets({ group: 'g3', topic: 'payments', offsets: [{ partition: 0, offset: 1 }] });
    const before = await balance();
    const { handle } = ledgerHandler(stack, ledger, topicId);
    assert.equal(await handle(event), 'offset-moved');
    assert.equal(await balance(), before);
    assert.equal(await committedOffset(log, 'g3', 'payments'), 1);
  });

  test('a second attempt of a committed batch is recognized as already committed and applies nothing', async () => {
    await log.commitOffsets({ group: 'g4', topic: 'payments', offsets: [{ partition: 0, offset: 0 }] });
    const event = await batch('g4', 3);
    const before = await balance();
    const { handle, results } = ledgerHandler(stack, ledger, topicId);
    await assert.rejects(handle(event, { failAfterCommit: true }), /timed out after committing/);
    // The dispatcher saw a failure and delivers the same batch again.
    assert.equal(await handle(event), 'already-committed');
    assert.deepEqual(results, ['committed', 'already-committed']);
    assert.equal(await balance(), before + 6);
    assert.equal(await committedOffset(log, 'g4', 'payments'), 3);
  });

  test('a lost response of the committing transaction, retried by the SDK, applies the effects once', async () => {
    await log.commitOffsets({ group: 'g5', topic: 'payments', offsets: [{ partition: 0, offset: 0 }] });
    const event = await batch('g5', 3);
    const before = await balance();
    const { handle } = ledgerHandler(stack, ledger, topicId);
    loseNextResponse(stack.dynamodb, 'TransactWriteItemsCommand');
    assert.notEqual(await handle(event), 'offset-moved');
    assert.equal(await handle(event), 'already-committed');
    assert.equal(await balance(), before + 6);
  });

  test('the raw item works in a TransactWriteItems of the handler’s own, and a refusal is told apart by index', async () => {
    await log.commitOffsets({ group: 'g6', topic: 'payments', offsets: [{ partition: 0, offset: 0 }] });
    const event = await batch('g6', 2);
    const options = { event, table: stack.tables.meta, commit: { topicId } };
    const send = () =>
      stack.dynamodb.send(new TransactWriteItemsCommand({ TransactItems: [offsetCommitItem(options)] }));
    await send();
    assert.equal(await committedOffset(log, 'g6', 'payments'), 2);
    await assert.rejects(
      send(),
      (error: unknown) => offsetCommitRefusal(error, 0, options) === 'already-committed',
    );
  });

  test('with a dispatcher: a handler that commits then fails is not applied twice, and the dispatcher’s own commit still succeeds', async () => {
    await pay(10, 20);
    const invoker = new InProcessInvoker();
    const dispatcher = createDispatcher(stack.config, { invoker, retryBaseMs: 10, retryMaxMs: 20 });
    const { handle, results } = ledgerHandler(stack, ledger, topicId);
    let calls = 0;
    invoker.register('ledger', (event) => handle(event, { failAfterCommit: ++calls === 1 }));
    await dispatcher.subscribe({
      group: 'g7',
      topic: 'payments',
      target: 'ledger',
      startingPosition: 'earliest',
    });
    const before = await balance();
    const outcome = await dispatcher.deliver(await subscriptionOf(stack, 'g7'), 0, Date.now() + 30_000);
    assert.equal(outcome, 'caught-up');
    assert.equal(await balance(), before + 36, 'every payment once');
    assert.equal(await committedOffset(log, 'g7', 'payments'), 5);
    assert.ok(!results.includes('offset-moved'), results.join());
    assert.equal(results.filter((r) => r === 'committed').length, 1, results.join());
  });
});
