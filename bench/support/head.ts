import { setTimeout as sleep } from 'node:timers/promises';
import { itemSize } from './item-size.ts';
import type { BenchStack } from './stack.ts';

/** A partition head's size while a run writes it, and at the end. */
export interface HeadFigures {
  /** Bytes of the head item at the end of the run (DynamoDB's item-size rules). */
  readonly endBytes: number;
  /** The largest head seen while the run was writing (sampled every `everyMs`) or at the end. */
  readonly maxBytes: number;
  /** The longest tail seen (entries not yet paged out). */
  readonly maxTail: number;
  readonly samples: number;
}

/**
 * Runs `work` while sampling a partition head (a consistent GetItem through a client no instrument
 * counts, every `everyMs`), then reads the head once more when `work` is done. DynamoDB bills an
 * update by the larger of the item before and after it, so a head over 1 KB costs 2 WRU per commit:
 * the largest head seen explains WRU per commit, the end size is the head the issue asks about.
 *
 * @example
 * const [load, head] = await watchHead(stack, topicId, 0, () => runLoad(options, call));
 */
export async function watchHead<T>(
  stack: BenchStack,
  topicId: string,
  partition: number,
  work: () => Promise<T>,
  everyMs = 100,
): Promise<[T, HeadFigures]> {
  let maxBytes = 0;
  let maxTail = 0;
  let samples = 0;
  const sample = async (): Promise<number> => {
    const item = await stack.headItem(topicId, partition);
    if (item === undefined) return 0;
    const bytes = itemSize(item);
    samples++;
    maxBytes = Math.max(maxBytes, bytes);
    maxTail = Math.max(maxTail, item.tail?.L?.length ?? 0);
    return bytes;
  };
  let running = true;
  const sampler = (async () => {
    while (running) {
      await sample().catch(() => 0);
      await sleep(everyMs);
    }
  })();
  let result: T;
  try {
    result = await work();
  } finally {
    running = false;
    await sampler;
  }
  const endBytes = await sample();
  return [result, { endBytes, maxBytes, maxTail, samples }];
}
