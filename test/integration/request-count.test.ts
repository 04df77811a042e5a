import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createStreambed } from '../../lib/adapters/aws.ts';
import { RequestCounter } from '../../lib/adapters/request-counter.ts';
import { bytes, type TestStack, testStack } from '../support/stack.ts';

describe('requests per produce call', () => {
  let stack: TestStack;
  before(async () => {
    stack = await testStack();
  });
  after(() => stack.close());

  for (const partitions of [1, 8]) {
    test(`a produce call to ${partitions} partition(s) makes one S3 PUT and one DynamoDB write per partition, plus paging every 32 calls`, async () => {
      const counter = new RequestCounter();
      // A topic cache that outlives the test: a slow machine must not add a topic read mid-count.
      const log = createStreambed({ ...stack.config, engine: { topicCacheMs: 3_600_000 } });
      counter.attach(stack.s3, 's3:').attach(stack.dynamodb, 'ddb:');
      const topic = `count-${partitions}`;
      await log.createTopic({ name: topic, partitions });
      const call = () =>
        log.produce({
          topic,
          records: Array.from({ length: partitions * 10 }, (_, i) => ({
            value: bytes('v'),
            partition: i % partitions,
          })),
        });
      counter.reset();
      await call();
      // A cold process reads the topic, and (eventually consistent, beside the PUT) the heads' ends.
      assert.deepEqual(counter.snapshot(), {
        'ddb:BatchGetItem': 1,
        'ddb:GetItem': 1,
        'ddb:UpdateItem': partitions,
        's3:PutObject': 1,
      });
      counter.reset();
      await call();
      assert.deepEqual(counter.snapshot(), { 'ddb:UpdateItem': partitions, 's3:PutObject': 1 });
      // The 32nd append of a partition pages its tail out: one page, one trim of the head, and for
      // every 8th page (the first one here) one time-index item.
      counter.reset();
      for (let i = 2; i < 32; i++) await call();
      assert.deepEqual(counter.snapshot(), {
        'ddb:PutItem': partitions * 2,
        'ddb:UpdateItem': partitions * 31,
        's3:PutObject': 30,
      });
      counter.reset();
      for (let i = 0; i < 32; i++) await call();
      assert.deepEqual(counter.snapshot(), {
        'ddb:PutItem': partitions,
        'ddb:UpdateItem': partitions * 33,
        's3:PutObject': 32,
      });
    });
  }
});
