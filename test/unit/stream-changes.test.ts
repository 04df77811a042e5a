import assert from 'node:assert/strict';
import { test } from 'node:test';
import { changedPartitions } from '../../lib/engine/dispatcher.ts';

const record = (pk: string, sk: string, next?: string, before?: string) => ({
  dynamodb: {
    Keys: { pk: { S: pk }, sk: { N: sk } },
    ...(next === undefined ? {} : { NewImage: { next: { N: next } } }),
    ...(before === undefined ? {} : { OldImage: { next: { N: before } } }),
  },
});

test('only head updates whose high watermark grew are deliveries, once per partition', () => {
  const changes = changedPartitions([
    record('abc#0', '-1', '5', '3'),
    record('abc#0', '-1', '7', '5'),
    record('abc#1', '-1', '2'),
    record('abc#2', '-1', '4', '4'), // a page trim: next unchanged
    record('abc#3', '8', '9'), // a page item
    record('def#12', '-1', '1', '0'),
    { dynamodb: {} },
    null,
  ]);
  assert.deepEqual(changes, [
    { topicId: 'abc', partition: 0 },
    { topicId: 'abc', partition: 1 },
    { topicId: 'def', partition: 12 },
  ]);
});
