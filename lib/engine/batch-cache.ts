import type { DecodedBatch } from '../core/segment/index.ts';

/**
 * Recently decoded batches, by object key and byte range. Segment objects are written once and never
 * changed, so a cached batch can never be stale. A reader that walks a large batch in steps smaller
 * than the batch (a consumer with batchSize 100 over 1,000-record batches) then reads it once.
 * Bounded by the stored size of the batches it holds.
 *
 * @example
 * const cache = new BatchCache(32 * 1024 * 1024);
 * const batch = await cache.getOrLoad(key, bytes, () => readAndDecode());
 */
export class BatchCache {
  private readonly maxBytes: number;
  private readonly entries = new Map<string, { batch: DecodedBatch; bytes: number }>();
  private held = 0;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  async getOrLoad(key: string, bytes: number, load: () => Promise<DecodedBatch>): Promise<DecodedBatch> {
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      // Refresh its place: the Map's insertion order is the eviction order.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.batch;
    }
    const batch = await load();
    if (bytes <= this.maxBytes / 4) {
      this.entries.set(key, { batch, bytes });
      this.held += bytes;
      for (const [oldest, entry] of this.entries) {
        if (this.held <= this.maxBytes) break;
        this.entries.delete(oldest);
        this.held -= entry.bytes;
      }
    }
    return batch;
  }
}
