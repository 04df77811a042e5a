/**
 * The Streambed client SDK: a producer, a consumer and an admin client with Kafka's semantics, over
 * the HTTP API (SigV4-signed, or unsigned for `npm start`) or directly on S3 and DynamoDB.
 *
 * @example
 * import { StreambedClient, valueJson } from 'streambed/client';
 * const client = new StreambedClient({ endpoint: 'http://127.0.0.1:8080', auth: 'none' });
 * const producer = client.producer();
 * await producer.send({ topic: 'orders', key: 'customer-42', json: { total: 12 } });
 * await producer.flush();
 * const consumer = client.consumer({ group: 'billing', topic: 'orders', autoOffsetReset: 'earliest' });
 * for await (const record of consumer) console.log(valueJson(record));
 */
export {
  CommitTooLateError,
  CorruptSegmentError,
  DuplicateSequenceError,
  GroupActiveError,
  InvalidArgumentError,
  LeaseLostError,
  OffsetOutOfRangeError,
  OffsetResetError,
  OutOfOrderSequenceError,
  PartitionBusyError,
  ProducerFencedError,
  RecordTooLargeError,
  RequestTooLargeError,
  StaleGenerationError,
  StreambedError,
  ThrottledError,
  TopicAlreadyExistsError,
  UnknownGroupError,
  UnknownMemberError,
  UnknownPartitionError,
  UnknownProducerIdError,
  UnknownTopicError,
} from '../core/errors.ts';
export { Admin, type GroupDescription, type ResetOffsetsOptions } from './admin.ts';
export { binaryCodec } from './binary-codec.ts';
export { type ClientOptions, StreambedClient } from './client.ts';
export { Consumer, type ConsumerOptions, type SeekTarget } from './consumer.ts';
export { FETCH_MAX_RECORDS } from './consumer-fetch.ts';
export { DirectTransport, type DirectTransportOptions } from './direct-transport.ts';
export {
  errorFromResponse,
  isRetryable,
  RemoteError,
  retryAfterMs,
  UnknownOutcomeError,
} from './errors.ts';
export { HttpTransport, type HttpTransportOptions } from './http-transport.ts';
export { type BodyCodec, type EncodedProduce, jsonCodec } from './json-codec.ts';
export { createKafkaAuthToken, type KafkaAuthTokenOptions } from './kafka-token.ts';
export { Producer, type ProducerOptions, type SendReceipt } from './producer.ts';
export {
  type ConsumerRecord,
  keyText,
  type ProducerRecord,
  type RecordMetadata,
  valueJson,
  valueText,
} from './records.ts';
export { backoffMs, type RetryOptions, withRetry } from './retry.ts';
export { type RequestSigner, type SignableRequest, type SigV4Options, sigv4Signer } from './sigv4.ts';
export type * from './transport.ts';
