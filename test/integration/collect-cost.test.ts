import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { awsPorts } from '../../lib/adapters/aws.ts';
import type { IndexEntry } from '../../lib/core/index-entry.ts';
import type { PartitionHead, PartitionRef } from '../../lib/core/ports.ts';
import type { EngineDeps } from '../../lib/engine/context.ts';
import { Streambed } from '../../lib/engine/streambed.ts';
import { bytes, type TestStack, testStack } from '../support/stack.ts';

const T0 = 1_950_000_000_000;
const MIN = 60_000;

/** An engine on `clock` whose index counts the paged entries every reader is handed. */
function countingEngine(stack: TestStack, clock: { now: number }, counted: { entries: number }) {
  const deps: EngineDeps = awsPorts({ ...stack.config, engine: { now: () => clock.now, topicCacheMs: 0 } });
  const index = deps.index;
  const entriesFrom = (
    ref: PartitionRef,
    offset: number,
    head: PartitionHead,
  ): AsyncIterable<IndexEntry> => ({
    async *[Symbol.asyncIterator]() {
      for await (const entry of index.entriesFrom(ref, offset, head)) {
        counted.entries++;
        yield entry;
      }
    },
  });
  return new Streambed({ ...deps, index: Object.assign(Object.create(index), { entriesFrom }) });
}

describe('orphan collection cost', () => {
  let stack: TestStack;
  before(async () => {
    stack = await testStack({ pageSize: 4 });
  });
  after(() => stack.close());

  test('collection reads each paged entry about once over the partition life, however many passes', async () => {
    const clock = { now: T0 };
    const counted = { entries: 0 };
    const log = countingEngine(stack, clock, counted);
    await log.createTopic({
      name: 'forever',
      partitions: 2,
      config: { retentionMs: -1, targetObjectBytes: -1 },
    });
    // Two hours of traffic, a sweep every 5 minutes as on AWS, then an hour of idle passes.
    const passesWithTraffic = 24;
    const callsPerPass = 20;
    let passes = 0;
    for (let pass = 0; pass < passesWithTraffic + 12; pass++) {
      const start = T0 + pass * 5 * MIN;
      for (let i = 0; pass < passesWithTraffic && i < callsPerPass; i++) {
        clock.now = start + i * 1000;
        await log.produce({
          topic: 'forever',
          records: [
            { value: bytes('a'), partition: 0 },
            { value: bytes('b'), partition: 1 },
          ],
        });
      }
      clock.now = start + 5 * MIN - 1;
      const report = await log.sweep({ graceMs: 2 * MIN });
      assert.deepEqual(report.failed, []);
      passes++;
    }
    const entries = 2 * passesWithTraffic * callsPerPass;
    // Retention counts each entry once when it first meets it, collection verifies each once with
    // its window; each pass may also read one page per partition past where it stops (4 entries).
    const perPass = 2 * 2 * 4;
    assert.ok(
      counted.entries <= 2 * entries + passes * perPass,
      `${counted.entries} entries read for ${entries} entries in ${passes} passes`,
    );
    const gc = await awsPorts(stack.config).index.readGcState((await log.describeTopic('forever')).id);
    assert.ok((gc?.through ?? 0) >= T0 + 2 * 60 * MIN, 'every window with traffic was verified');
  });
});
