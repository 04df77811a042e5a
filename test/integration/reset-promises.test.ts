import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { StaleGenerationError } from '../../lib/core/errors.ts';
import type { Streambed } from '../../lib/engine/streambed.ts';
import { bytes, type TestStack, testStack } from '../support/stack.ts';

/** More partitions than one transaction holds (100): a reset takes two. */
const PARTITIONS = 130;
/** Records produced to partition p: its high watermark. */
const highWatermark = (p: number) => (p % 4) + 1;

describe('resetting offsets: promises of design.md §5 not proven elsewhere', () => {
  let stack: TestStack;
  let log: Streambed;
  before(async () => {
    stack = await testStack();
    log = stack.engine();
    await log.createTopic({ name: 'wide', partitions: PARTITIONS });
    await log.produce({
      topic: 'wide',
      records: Array.from({ length: PARTITIONS }, (_, p) =>
        Array.from({ length: highWatermark(p) }, (_, i) => ({ value: bytes(`${p}-${i}`), partition: p })),
      ).flat(),
    });
  });
  after(() => stack.close());

  const committed = async (group: string) =>
    (await log.fetchOffsets(group, 'wide')).map(({ partition, offset }) => [partition, offset]);
  const every = (offset: (p: number) => number) =>
    Array.from({ length: PARTITIONS }, (_, p) => [p, offset(p)]);

  test(`a reset of a topic of ${PARTITIONS} partitions (more than one transaction holds) sets every partition`, async () => {
    const latest = await log.resetOffsets({ group: 'wide-reset', topic: 'wide', to: 'latest' });
    assert.deepEqual(
      latest.offsets,
      Array.from({ length: PARTITIONS }, (_, p) => ({
        partition: p,
        previousOffset: null,
        offset: highWatermark(p),
      })),
    );
    assert.deepEqual(await committed('wide-reset'), every(highWatermark));
    // And again over committed offsets, to an offset clamped per partition to its high watermark.
    const back = await log.resetOffsets({ group: 'wide-reset', topic: 'wide', to: { offset: 2 } });
    assert.deepEqual(
      back.offsets,
      Array.from({ length: PARTITIONS }, (_, p) => ({
        partition: p,
        previousOffset: highWatermark(p),
        offset: Math.min(2, highWatermark(p)),
      })),
    );
    assert.deepEqual(
      await committed('wide-reset'),
      every((p) => Math.min(2, highWatermark(p))),
    );
  });

  test('after a reset, a plain commit with an older generation is still refused (StaleGeneration) on every partition, and one with the current generation is accepted', async () => {
    const group = 'wide-fenced';
    // Generation 7 commits every partition (at most 100 per commit).
    for (let from = 0; from < PARTITIONS; from += 100) {
      await log.commitOffsets({
        group,
        topic: 'wide',
        generation: 7,
        offsets: Array.from({ length: Math.min(100, PARTITIONS - from) }, (_, i) => ({
          partition: from + i,
          offset: 1,
        })),
      });
    }
    // A reset is not fenced by generations: it is applied although it carries none.
    await log.resetOffsets({ group, topic: 'wide', to: 'earliest' });
    assert.deepEqual(
      await committed(group),
      every(() => 0),
    );
    // A member of an older generation is still fenced out, in either of the reset's transactions,
    // alone or in a multi-partition commit; nothing it sent is applied.
    for (const partitions of [[0], [120], [5, 110]]) {
      await assert.rejects(
        log.commitOffsets({
          group,
          topic: 'wide',
          generation: 6,
          offsets: partitions.map((partition) => ({ partition, offset: 1 })),
        }),
        StaleGenerationError,
        `generation 6 on ${partitions}`,
      );
    }
    // No generation counts as -1: older too.
    await assert.rejects(
      log.commitOffsets({ group, topic: 'wide', offsets: [{ partition: 64, offset: 1 }] }),
      StaleGenerationError,
    );
    assert.deepEqual(
      await committed(group),
      every(() => 0),
    );
    // The current generation goes on committing over the reset.
    await log.commitOffsets({
      group,
      topic: 'wide',
      generation: 7,
      offsets: [
        { partition: 0, offset: 1 },
        { partition: 120, offset: 1 },
      ],
    });
    assert.deepEqual(
      await committed(group),
      every((p) => (p === 0 || p === 120 ? 1 : 0)),
    );
  });
});
