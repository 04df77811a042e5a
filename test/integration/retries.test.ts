import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  ConditionalCheckFailedException,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { createStreambed } from '../../lib/adapters/aws.ts';
import { localClients } from '../../lib/adapters/clients.ts';
import type { Streambed } from '../../lib/engine/streambed.ts';
import { endpointsFromEnv } from '../../lib/harness/services.ts';
import { delayNextRequest, loseResponseAfter } from '../support/faults.ts';
import { bytes, type TestStack, testStack, text } from '../support/stack.ts';

/** Every record of partition 0, in offset order. */
async function readAll(log: Streambed, topic: string): Promise<string[]> {
  const out: string[] = [];
  let offset = 0;
  for (;;) {
    const r = await log.fetch({ topic, partition: 0, offset, maxRecords: 10_000 });
    if (r.records.length === 0) return out;
    out.push(...r.records.map((record) => text(record.value) as string));
    offset = r.nextOffset;
  }
}

describe('no duplicate on any retry of a plain (non-idempotent) produce', () => {
  let stack: TestStack;
  before(async () => {
    stack = await testStack();
  });
  after(() => stack.close());

  for (const intervening of [8, 100, 1000]) {
    test(`a commit whose response is lost while ${intervening} other commits land is appended once`, async () => {
      // The faulty engine has clients of its own; the other writers use the stack's.
      const endpoints = endpointsFromEnv();
      assert.ok(endpoints);
      const own = localClients(endpoints);
      const faulty = createStreambed({ ...stack.config, s3: own.s3, dynamodb: own.dynamodb });
      const others = createStreambed(stack.config);
      const topic = `lost-${intervening}`;
      await others.createTopic({ name: topic, partitions: 1 });
      await others.produce({ topic, records: [{ value: bytes('before') }] });
      loseResponseAfter(own.dynamodb, 'UpdateItemCommand', async () => {
        for (let i = 0; i < intervening; i += 10) {
          await Promise.all(
            Array.from({ length: Math.min(10, intervening - i) }, (_, j) =>
              others.produce({ topic, records: [{ value: bytes(`other-${i + j}`) }] }),
            ),
          );
        }
      });
      const { offsets } = await faulty.produce({
        topic,
        records: [{ value: bytes('once-a') }, { value: bytes('once-b') }],
      });
      const all = await readAll(others, topic);
      assert.equal(all.length, 1 + intervening + 2);
      assert.equal(all.filter((v) => v === 'once-a').length, 1);
      assert.equal(all.filter((v) => v === 'once-b').length, 1);
      assert.equal(all[offsets[0]?.offset as number], 'once-a');
      assert.equal(all[offsets[1]?.offset as number], 'once-b');
      own.s3.destroy();
      own.dynamodb.destroy();
    });
  }

  test('an attempt that arrives after its resend was appended is refused by its fence', async () => {
    const endpoints = endpointsFromEnv();
    assert.ok(endpoints);
    const own = localClients(endpoints);
    const faulty = createStreambed({ ...stack.config, s3: own.s3, dynamodb: own.dynamodb });
    const others = createStreambed(stack.config);
    const topic = 'late-original';
    await others.createTopic({ name: topic, partitions: 1 });
    const deliverLate = delayNextRequest(own.dynamodb, 'UpdateItemCommand');
    const { offsets } = await faulty.produce({ topic, records: [{ value: bytes('late') }] });
    assert.deepEqual(offsets, [{ partition: 0, offset: 0 }]);
    // Page the resend's entry out, so only the fence can stop the original.
    for (let i = 0; i < 40; i++) await others.produce({ topic, records: [{ value: bytes(`x${i}`) }] });
    const late = new UpdateItemCommand(deliverLate() as unknown as UpdateItemCommandInput);
    await assert.rejects(stack.dynamodb.send(late), ConditionalCheckFailedException);
    const all = await readAll(others, topic);
    assert.equal(all.length, 41);
    assert.equal(all.filter((v) => v === 'late').length, 1);
    own.s3.destroy();
    own.dynamodb.destroy();
  });
});
