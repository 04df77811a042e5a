import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Streambed } from '../../lib/engine/streambed.ts';
import { bytes, type TestStack, testStack } from '../support/stack.ts';

const PRODUCERS = 16;
const CALLS = 200;
const PER_CALL = 3;

/**
 * 16 producers each make 200 sequential calls; returns every acknowledged (partition, offset)
 * with the value it carried ("producer:call:index").
 */
async function race(
  engineFor: (producer: number) => Streambed,
  topic: string,
  partitions: number,
): Promise<Map<string, string>> {
  const acked = new Map<string, string>();
  await Promise.all(
    Array.from({ length: PRODUCERS }, async (_, producer) => {
      const log = engineFor(producer);
      for (let call = 0; call < CALLS; call++) {
        const records = Array.from({ length: PER_CALL }, (_, i) => ({
          key: bytes(`p${producer}-k${(call + i) % 5}`),
          value: bytes(`${producer}:${call}:${i}`),
          ...(partitions === 1 ? { partition: 0 } : {}),
        }));
        const { offsets } = await log.produce({ topic, records });
        offsets.forEach((o, i) => {
          const where = `${o.partition}/${o.offset}`;
          assert.ok(!acked.has(where), `offset ${where} was acknowledged twice`);
          acked.set(where, `${producer}:${call}:${i}`);
        });
      }
    }),
  );
  return acked;
}

async function verify(log: Streambed, topic: string, partitions: number, acked: Map<string, string>) {
  let seen = 0;
  for (let partition = 0; partition < partitions; partition++) {
    const lastByProducer = new Map<number, [number, number]>();
    let offset = 0;
    for (;;) {
      const result = await log.fetch({ topic, partition, offset, maxRecords: 2000, maxBytes: 8 << 20 });
      for (const record of result.records) {
        assert.equal(record.offset, offset, 'offsets are dense');
        const value = new TextDecoder().decode(record.value);
        assert.equal(acked.get(`${partition}/${offset}`), value, 'the record is the one acknowledged there');
        const [producer, call, index] = value.split(':').map(Number) as [number, number, number];
        const previous = lastByProducer.get(producer);
        if (previous !== undefined) {
          assert.ok(
            call > previous[0] || (call === previous[0] && index > previous[1]),
            `producer ${producer}'s records keep their send order in partition ${partition}`,
          );
        }
        lastByProducer.set(producer, [call, index]);
        offset++;
        seen++;
      }
      if (result.records.length === 0) {
        assert.equal(result.highWatermark, offset);
        break;
      }
    }
  }
  assert.equal(seen, acked.size, 'every acknowledged record is fetched exactly once');
  assert.equal(seen, PRODUCERS * CALLS * PER_CALL);
}

describe('racing producers on MinIO + DynamoDB Local', () => {
  let stack: TestStack;
  before(async () => {
    stack = await testStack();
  });
  after(() => stack.close());

  test('16 producers x 200 calls on one partition: dense, exactly once, each in send order', async () => {
    const log = stack.engine();
    await log.createTopic({ name: 'race-1', partitions: 1 });
    // Each producer has its own engine (as separate Lambda containers would).
    const engines = Array.from({ length: PRODUCERS }, () => stack.engine());
    const acked = await race((producer) => engines[producer] as Streambed, 'race-1', 1);
    await verify(log, 'race-1', 1, acked);
  });

  test('16 producers x 200 calls on four partitions: dense, exactly once, each in send order', async () => {
    const log = stack.engine();
    await log.createTopic({ name: 'race-4', partitions: 4 });
    const acked = await race(() => log, 'race-4', 4);
    await verify(log, 'race-4', 4, acked);
  });
});
