/**
 * Segment format v1: the bytes Streambed stores in S3. Pure encode/decode functions, no I/O.
 * The layout is documented next to each codec: segment.ts (object header), batch.ts (batch
 * header), record.ts (records section), varint.ts (varints).
 */
export { batchExtent, decodeBatch, encodeBatch, offsetDelta } from './batch.ts';
export { recordSize } from './record.ts';
export { type DeclaredBatch, declaredBatches, decodeSegment, encodeSegment, readSegment } from './segment.ts';
export type { BatchInput, BatchLocation, Compression, DecodedBatch, LogRecord } from './types.ts';
