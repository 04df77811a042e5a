import { OutOfOrderSequenceError, StreambedError } from '../../core/errors.ts';
import { KafkaProtocolError } from '../errors.ts';

/**
 * The Kafka error codes this server answers with, by Kafka's names
 * (`org.apache.kafka.common.protocol.Errors` in apache/kafka).
 *
 * @example partitionResponse.errorCode = KafkaError.UNKNOWN_TOPIC_OR_PARTITION; // 3
 */
export const KafkaError = {
  UNKNOWN_SERVER_ERROR: -1,
  NONE: 0,
  OFFSET_OUT_OF_RANGE: 1,
  CORRUPT_MESSAGE: 2,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  REQUEST_TIMED_OUT: 7,
  MESSAGE_TOO_LARGE: 10,
  INVALID_TOPIC_EXCEPTION: 17,
  RECORD_LIST_TOO_LARGE: 18,
  INVALID_REQUIRED_ACKS: 21,
  ILLEGAL_GENERATION: 22,
  UNKNOWN_MEMBER_ID: 25,
  REBALANCE_IN_PROGRESS: 27,
  INVALID_TIMESTAMP: 32,
  UNSUPPORTED_SASL_MECHANISM: 33,
  ILLEGAL_SASL_STATE: 34,
  UNSUPPORTED_VERSION: 35,
  TOPIC_ALREADY_EXISTS: 36,
  INVALID_PARTITIONS: 37,
  INVALID_REPLICATION_FACTOR: 38,
  INVALID_REPLICA_ASSIGNMENT: 39,
  INVALID_CONFIG: 40,
  INVALID_REQUEST: 42,
  SASL_AUTHENTICATION_FAILED: 58,
  UNSUPPORTED_FOR_MESSAGE_FORMAT: 43,
  OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
  DUPLICATE_SEQUENCE_NUMBER: 46,
  UNKNOWN_PRODUCER_ID: 59,
  GROUP_ID_NOT_FOUND: 69,
  FETCH_SESSION_ID_NOT_FOUND: 70,
  UNSUPPORTED_COMPRESSION_TYPE: 76,
  INVALID_RECORD: 87,
  THROTTLING_QUOTA_EXCEEDED: 89,
  PRODUCER_FENCED: 90,
  UNKNOWN_TOPIC_ID: 100,
} as const;

/**
 * Streambed's error `code`s (lib/core/errors.ts) to Kafka error codes: the one place the Kafka door
 * translates the engine's failures. Kafka's own retriable codes are chosen for Streambed's retryable
 * errors, so that Kafka clients retry them (REQUEST_TIMED_OUT is retriable in every client; Kafka's
 * THROTTLING_QUOTA_EXCEEDED is not retried by kafkajs).
 */
export const STREAMBED_TO_KAFKA: Readonly<Record<string, number>> = {
  InvalidArgument: KafkaError.INVALID_REQUEST,
  TopicAlreadyExists: KafkaError.TOPIC_ALREADY_EXISTS,
  UnknownTopic: KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
  UnknownPartition: KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
  OffsetOutOfRange: KafkaError.OFFSET_OUT_OF_RANGE,
  CorruptSegment: KafkaError.UNKNOWN_SERVER_ERROR,
  RecordTooLarge: KafkaError.MESSAGE_TOO_LARGE,
  RequestTooLarge: KafkaError.RECORD_LIST_TOO_LARGE,
  UnknownProducerId: KafkaError.UNKNOWN_PRODUCER_ID,
  OutOfOrderSequence: KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER,
  DuplicateSequence: KafkaError.DUPLICATE_SEQUENCE_NUMBER,
  ProducerFenced: KafkaError.PRODUCER_FENCED,
  StaleGeneration: KafkaError.ILLEGAL_GENERATION,
  Throttled: KafkaError.REQUEST_TIMED_OUT,
  PartitionBusy: KafkaError.REQUEST_TIMED_OUT,
  CommitTooLate: KafkaError.REQUEST_TIMED_OUT,
  UnknownGroup: KafkaError.GROUP_ID_NOT_FOUND,
  OffsetReset: KafkaError.REBALANCE_IN_PROGRESS,
  GroupActive: KafkaError.REBALANCE_IN_PROGRESS,
  LeaseLost: KafkaError.REBALANCE_IN_PROGRESS,
  UnknownMember: KafkaError.UNKNOWN_MEMBER_ID,
  InvalidProduceReturn: KafkaError.INVALID_REQUEST,
};

/** A Kafka error code and the message to send with it where the response has room for one. */
export interface KafkaFailure {
  readonly errorCode: number;
  readonly errorMessage: string;
}

/**
 * The Kafka error code for anything a handler caught: a Kafka protocol error carries its own, a
 * Streambed error goes through {@link STREAMBED_TO_KAFKA} (`overrides` first, for the few places
 * where Kafka uses another code for the same failure, e.g. INVALID_RECORD for a bad record in a
 * produce), anything else is UNKNOWN_SERVER_ERROR.
 *
 * One engine error splits by Kafka's rule: a batch out of sequence from a producer the partition has
 * no state for (its state expired) is UNKNOWN_PRODUCER_ID, as a Kafka broker answers when it lost a
 * producer's state; given the response's logStartOffset, the Java producer then bumps its epoch and
 * starts the partition's sequence again at 0 (KIP-360) instead of failing the batch.
 * A gap after known state stays OUT_OF_ORDER_SEQUENCE_NUMBER.
 *
 * @example toKafkaError(new UnknownTopicError('orders')) // { errorCode: 3, errorMessage: "topic 'orders' does not exist" }
 * @example toKafkaError(new InvalidArgumentError('records[0] has no key'), { InvalidArgument: KafkaError.INVALID_RECORD }).errorCode // 87
 */
export function toKafkaError(error: unknown, overrides: Readonly<Record<string, number>> = {}): KafkaFailure {
  const errorMessage = error instanceof Error ? error.message : String(error);
  if (error instanceof KafkaProtocolError) return { errorCode: error.kafkaErrorCode, errorMessage };
  if (error instanceof OutOfOrderSequenceError && error.noState) {
    return { errorCode: KafkaError.UNKNOWN_PRODUCER_ID, errorMessage };
  }
  if (error instanceof StreambedError) {
    const errorCode =
      overrides[error.code] ?? STREAMBED_TO_KAFKA[error.code] ?? KafkaError.UNKNOWN_SERVER_ERROR;
    return { errorCode, errorMessage };
  }
  return { errorCode: KafkaError.UNKNOWN_SERVER_ERROR, errorMessage };
}
