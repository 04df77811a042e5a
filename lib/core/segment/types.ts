/** How a batch's records section is compressed. */
export type Compression = 'none' | 'gzip' | 'zstd';

/** One record as stored. */
export interface LogRecord {
  /** Nullable bytes, as Kafka's record key. */
  readonly key: Uint8Array | null;
  /** Value bytes; for JSON values, the UTF-8 JSON text. */
  readonly value: Uint8Array;
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
}

/** Where a batch landed inside an encoded segment object. */
export interface BatchLocation {
  readonly partition: number;
  readonly byteOffset: number;
  readonly byteLength: number;
  readonly recordCount: number;
  readonly minTimestamp: number;
  readonly maxTimestamp: number;
}

export interface DecodedBatch {
  readonly partition: number;
  readonly compression: Compression;
  readonly records: LogRecord[];
  readonly minTimestamp: number;
  readonly maxTimestamp: number;
}
