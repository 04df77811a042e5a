/**
 * The index maps offsets to bytes in segment objects. An entry covers
 * `[baseOffset, baseOffset + recordCount)` of one partition and points at one batch.
 */
export interface IndexEntry {
  readonly baseOffset: number;
  readonly recordCount: number;
  /** Segment object id, relative to the topic's object prefix. */
  readonly objectId: string;
  readonly byteOffset: number;
  readonly byteLength: number;
  /** The largest record timestamp in the batch (for timestamp lookup, as Kafka's time index). */
  readonly maxTimestamp: number;
  /** When the batch was appended, by the appender's clock (Kafka's LogAppendTime), in ms. */
  readonly appendTime: number;
}

/** An entry before offsets are assigned (what a producer commits). */
export type PendingEntry = Omit<IndexEntry, 'baseOffset'>;

/**
 * Assigns base offsets to the tail entries of a partition head: the first starts at `tailBase`,
 * each following one where the previous ends.
 *
 * @example
 * withOffsets(10, [{ recordCount: 3, ... }, { recordCount: 2, ... }]) // bases 10 and 13
 */
export function withOffsets(tailBase: number, entries: readonly PendingEntry[]): IndexEntry[] {
  let base = tailBase;
  return entries.map((entry) => {
    const placed = { ...entry, baseOffset: base };
    base += entry.recordCount;
    return placed;
  });
}

/** The end offset (exclusive) of an entry. */
export function entryEnd(entry: IndexEntry): number {
  return entry.baseOffset + entry.recordCount;
}
