/** How a batch's records section is compressed. */
export type Compression = 'none' | 'gzip' | 'zstd';

/** One record as stored. */
export interface LogRecord {
  /** Nullable bytes, as Kafka's record key. */
  readonly key: Uint8Array | null;
  /** Value bytes; for JSON values, the UTF-8 JSON text. Null is a tombstone (key compaction deletes the key). */
  readonly value: Uint8Array | null;
  /** True if the value was given as JSON, false if binary. */
  readonly valueIsJson: boolean;
  /** Ordered; duplicate names are allowed (as Kafka). */
  readonly headers: ReadonlyArray<readonly [string, Uint8Array]>;
  /** Milliseconds since the epoch: a safe integer >= 0. */
  readonly timestamp: number;
}

/** The records of one partition to write as one batch. */
export interface BatchInput {
  readonly partition: number;
  readonly records: readonly LogRecord[];
  readonly compression: Compression;
  /**
   * A sparse batch (what key compaction leaves): record i sits at offset delta `offsetDeltas[i]`
   * from the batch's base offset, strictly increasing and below `span`, the offsets the batch
   * covers. Absent: record i sits at delta i and the span is the record count.
   */
  readonly sparse?: { readonly offsetDeltas: readonly number[]; readonly span: number };
}

/** Where a batch landed inside an encoded segment object. */
export interface BatchLocation {
  readonly partition: number;
  readonly byteOffset: number;
  readonly byteLength: number;
  readonly recordCount: number;
  /** The offsets the batch covers: the record count unless the batch is sparse. */
  readonly span: number;
  readonly minTimestamp: number;
  readonly maxTimestamp: number;
}

export interface DecodedBatch {
  readonly partition: number;
  readonly compression: Compression;
  readonly records: LogRecord[];
  /** The offsets the batch covers (its index entry's record count). */
  readonly span: number;
  /** Record i's offset minus the base offset; absent when dense (record i at i). */
  readonly offsetDeltas?: readonly number[];
  readonly minTimestamp: number;
  readonly maxTimestamp: number;
}
