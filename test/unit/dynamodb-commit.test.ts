import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  offsetCommitDocumentItem,
  offsetCommitItem,
  offsetCommitRefusal,
  type StreambedEvent,
} from '../../lib/consumer/index.ts';

const event: StreambedEvent = {
  eventSource: 'streambed',
  group: 'ledger',
  topic: 'payments',
  partition: 3,
  Records: [7, 8, 9].map((offset) => ({
    eventSource: 'streambed',
    messageId: String(offset),
    topic: 'payments',
    partition: 3,
    offset,
    timestamp: 0,
    key: null,
    headers: {},
    value: { amount: offset },
  })),
};
const options = { event, table: 'meta', commit: { topicId: 'tid-1' } };

describe('the offset commit item of a handler transaction', () => {
  test('it moves the offset from the batch start to after its last record, conditioned on the start and topic id', () => {
    const update = offsetCommitItem(options).Update;
    assert.deepEqual(update?.Key, { pk: { S: 'group#ledger' }, sk: { S: 'payments#0003' } });
    assert.equal(update?.ConditionExpression, 'attribute_not_exists(pk) OR #tid <> :tid OR #offset = :start');
    assert.deepEqual(update?.ExpressionAttributeValues?.[':start'], { N: '7' });
    assert.deepEqual(update?.ExpressionAttributeValues?.[':end'], { N: '10' });
    assert.deepEqual(update?.ExpressionAttributeValues?.[':tid'], { S: 'tid-1' });
    assert.doesNotMatch(
      update?.UpdateExpression ?? '',
      /\b(lc|pv|pg)\b/,
      'the fencing attributes are untouched',
    );
  });

  test("the event's commit (start at a hole, end past trailing holes) wins over the records' offsets", () => {
    const withCommit = { ...event, commit: { startOffset: 5, endOffset: 12, topicId: 'tid-2' } };
    const values = offsetCommitItem({ event: withCommit, table: 'meta' }).Update?.ExpressionAttributeValues;
    assert.deepEqual(
      [values?.[':start'], values?.[':end'], values?.[':tid']],
      [{ N: '5' }, { N: '12' }, { S: 'tid-2' }],
    );
  });

  test('the DocumentClient form holds the same values, unmarshalled', () => {
    const typed = offsetCommitItem(options).Update;
    const plain = offsetCommitDocumentItem(options).Update;
    const marshall = (v: unknown) => (typeof v === 'number' ? { N: String(v) } : { S: v });
    const values = (item: Record<string, unknown> | undefined) =>
      Object.fromEntries(Object.entries(item ?? {}).filter(([name]) => name !== ':at'));
    assert.deepEqual(
      values(
        Object.fromEntries(Object.entries(plain.ExpressionAttributeValues).map(([k, v]) => [k, marshall(v)])),
      ),
      values(typed?.ExpressionAttributeValues),
    );
    assert.deepEqual(plain.Key, { pk: 'group#ledger', sk: 'payments#0003' });
    assert.equal(plain.ConditionExpression, typed?.ConditionExpression);
  });

  test('without a table or a topic id it says what is missing', () => {
    const saved = process.env.STREAMBED_META_TABLE;
    delete process.env.STREAMBED_META_TABLE;
    try {
      assert.throws(() => offsetCommitItem({ event, commit: { topicId: 't' } }), /STREAMBED_META_TABLE/);
    } finally {
      if (saved !== undefined) process.env.STREAMBED_META_TABLE = saved;
    }
    assert.throws(() => offsetCommitItem({ event, table: 'meta' }), /topic id is unknown/);
  });

  test('a refusal is read from the item at its index: past the end is already committed, elsewhere moved, others not ours', () => {
    const cancelled = (item: Record<string, unknown>, code = 'ConditionalCheckFailed') =>
      Object.assign(new Error('cancelled'), {
        name: 'TransactionCanceledException',
        CancellationReasons: [{ Code: 'None' }, { Code: code, Item: item }],
      });
    const committed = { offset: { N: '10' }, topicId: { S: 'tid-1' } };
    assert.equal(offsetCommitRefusal(cancelled(committed), 1, options), 'already-committed');
    assert.equal(
      offsetCommitRefusal(cancelled({ offset: 10, topicId: 'tid-1' }), 1, options),
      'already-committed',
    );
    assert.equal(
      offsetCommitRefusal(cancelled({ offset: { N: '4' }, topicId: { S: 'tid-1' } }), 1, options),
      'offset-moved',
    );
    assert.equal(
      offsetCommitRefusal(cancelled({ offset: { N: '10' }, topicId: { S: 'old' } }), 1, options),
      'offset-moved',
    );
    assert.equal(offsetCommitRefusal(cancelled(committed), 0, options), undefined, 'another item failed');
    assert.equal(offsetCommitRefusal(cancelled(committed, 'TransactionConflict'), 1, options), undefined);
    assert.equal(offsetCommitRefusal(new Error('network'), 1, options), undefined);
  });
});
