import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createStreambed } from '../../lib/adapters/aws.ts';
import { RequestCounter } from '../../lib/adapters/request-counter.ts';
import { bytes, type TestStack, testStack } from '../support/stack.ts';

const BASE = 1_800_000_000_000;
const CALLS = 2000;
const PER_CALL = 500; // 1,000,000 records

describe('timestamp lookup on a partition of 1,000,000 records', () => {
  let stack: TestStack;
  // The timestamp of every offset, from the offsets produce returned.
  const timestamps = new Array<number>(CALLS * PER_CALL);
  before(async () => {
    // Small pages make many of them (500 pages, 63 time-index items): the lookup must not scan.
    stack = await testStack({ pageSize: 4 });
    const log = createStreambed(stack.config);
    await log.createTopic({ name: 'clock', partitions: 1 });
    let next = 0;
    const worker = async () => {
      for (let c = next++; c < CALLS; c = next++) {
        // Mostly rising timestamps; every call also carries one record stamped 5 s in the past.
        const stamps = Array.from({ length: PER_CALL }, (_, j) => BASE + c * 1000 + j - (j === 7 ? 5000 : 0));
        const { offsets } = await log.produce({
          topic: 'clock',
          records: stamps.map((timestamp) => ({ value: bytes('.'), partition: 0, timestamp })),
        });
        offsets.forEach((o, j) => {
          timestamps[o.offset] = stamps[j] as number;
        });
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
  });
  after(() => stack.close());

  const expected = (target: number) => {
    const found = timestamps.findIndex((ts) => ts >= target);
    return found === -1 ? null : found;
  };

  test('offsets at a timestamp match a full scan and take at most 5 DynamoDB reads', async () => {
    const log = createStreambed(stack.config);
    await log.listOffsets('clock', 0, 'latest'); // warms the topic cache
    const counter = new RequestCounter().attach(stack.dynamodb, 'ddb:');
    const targets = [
      0,
      BASE,
      BASE + 1,
      BASE + 7,
      BASE + 250_000,
      BASE + 1_000_123,
      BASE + 999_000,
      BASE + (CALLS - 1) * 1000 + 3,
      BASE + (CALLS - 1) * 1000 + PER_CALL - 1,
      BASE + CALLS * 1000 + 1,
    ];
    for (const target of targets) {
      counter.reset();
      const offset = await log.listOffsets('clock', 0, { timestamp: target });
      assert.equal(offset, expected(target), `first offset at ${target}`);
      const reads = Object.values(counter.snapshot()).reduce((a, b) => a + b, 0);
      assert.ok(
        reads <= 5,
        `lookup of ${target} took ${reads} DynamoDB reads: ${JSON.stringify(counter.snapshot())}`,
      );
    }
  });
});
