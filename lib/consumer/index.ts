/**
 * What a consumer function's code uses: the event and response types, the `produce` return's record
 * shape, and the DynamoDB offset-commit helper. Import from here, not from the engine.
 */
export type { ProduceReturnRecord } from '../core/produce-return.ts';
export type { StreambedEvent, StreambedRecord, StreambedResponse } from '../core/subscription.ts';
export {
  type BatchCommit,
  type OffsetCommitOptions,
  type OffsetCommitResult,
  offsetCommitDocumentItem,
  offsetCommitItem,
  offsetCommitRefusal,
  transactWithOffsetCommit,
} from './dynamodb-commit.ts';
