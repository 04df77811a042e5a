import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { encodeIndexEntry } from '../../lib/core/index-codec.ts';
import { newObjectId } from '../../lib/core/object-keys.ts';

/** Where a batch sits in its object: what an index entry points at. */
export interface BatchLocation {
  readonly byteOffset: number;
  readonly byteLength: number;
  readonly recordCount: number;
  readonly maxTimestamp: number;
}

/**
 * An index entry of format 2 as a DynamoDB attribute (the ~20-byte Binary that Streambed appends to
 * a head's tail), for a fresh object id: the item the floors and the reference protocols write, so
 * they store what Streambed stores per batch.
 *
 * @example entryAttribute({ byteOffset: 8, byteLength: 10_600, recordCount: 10, maxTimestamp: Date.now() })
 */
export function entryAttribute(batch: BatchLocation): AttributeValue {
  const now = Date.now();
  return {
    B: encodeIndexEntry({
      objectId: newObjectId(now),
      byteOffset: batch.byteOffset,
      byteLength: batch.byteLength,
      recordCount: batch.recordCount,
      maxTimestamp: Math.max(batch.maxTimestamp, 0),
      appendTime: now,
    }),
  };
}
