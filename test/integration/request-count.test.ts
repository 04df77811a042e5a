import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createStreambed } from '../../lib/adapters/aws.ts';
import { RequestCounter } from '../../lib/adapters/request-counter.ts';
import { bytes, type TestStack, testStack } from '../support/stack.ts';

describe('requests per produce call', () => {
  let stack: TestStack;
  before(async () => {
    stack = await testStack({ pageSize: 8 });
  });
  after(() => stack.close());

  for (const partitions of [1, 8]) {
    test(`a produce call to ${partitions} partition(s) makes one S3 PUT and one DynamoDB write per partition`, async () => {
      const counter = new RequestCounter();
      const log = createStreambed(stack.config);
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
      await call(); // warms the topic cache
      counter.reset();
      await call();
      assert.deepEqual(counter.snapshot(), { 'ddb:UpdateItem': partitions, 's3:PutObject': 1 });
      // Every pageSize-th append also moves pageSize tail entries to a page: +1 PutItem +1 UpdateItem.
      counter.reset();
      for (let i = 0; i < 6; i++) await call();
      assert.deepEqual(counter.snapshot(), {
        'ddb:PutItem': partitions,
        'ddb:UpdateItem': partitions * 7,
        's3:PutObject': 6,
      });
    });
  }
});
