import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DecodedBatch } from '../../lib/core/segment/index.ts';
import { BatchCache } from '../../lib/engine/batch-cache.ts';

const batch = (partition: number): DecodedBatch => ({
  partition,
  compression: 'none',
  records: [],
  span: 0,
  minTimestamp: 0,
  maxTimestamp: 0,
});

test('a cached batch is loaded once, the least recently used is evicted past the byte bound, and huge ones are not kept', async () => {
  const cache = new BatchCache(100);
  let loads = 0;
  const load = (partition: number) => async () => {
    loads++;
    return batch(partition);
  };
  await cache.getOrLoad('a', 20, load(1));
  await cache.getOrLoad('a', 20, load(1));
  assert.equal(loads, 1);
  for (const key of ['b', 'c', 'd', 'e']) await cache.getOrLoad(key, 20, load(2));
  await cache.getOrLoad('a', 20, load(1)); // refreshes 'a'
  await cache.getOrLoad('f', 20, load(3)); // evicts 'b', the least recently used
  loads = 0;
  await cache.getOrLoad('a', 20, load(1));
  await cache.getOrLoad('b', 20, load(2));
  assert.equal(loads, 1);
  await cache.getOrLoad('huge', 60, load(4));
  await cache.getOrLoad('huge', 60, load(4));
  assert.equal(loads, 3);
});
