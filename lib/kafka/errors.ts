import { StreambedError } from '../core/errors.ts';

/**
 * Kafka's numeric error codes that the protocol layer itself raises (the full table is
 * `org.apache.kafka.common.protocol.Errors`; the server maps the engine's errors onto the rest).
 */
export const KafkaErrorCode = {
  NONE: 0,
  CORRUPT_MESSAGE: 2,
  UNSUPPORTED_VERSION: 35,
  INVALID_REQUEST: 42,
  UNSUPPORTED_FOR_MESSAGE_FORMAT: 43,
  UNSUPPORTED_COMPRESSION_TYPE: 76,
} as const;

/**
 * A failure of the Kafka wire protocol itself: each carries the Kafka error code a server answers
 * with (`kafkaErrorCode`) besides Streambed's own `code` and HTTP-ish `status`.
 *
 * @example
 * catch (e) { if (e instanceof KafkaProtocolError) respondWithError(e.kafkaErrorCode); else throw e; }
 */
export abstract class KafkaProtocolError extends StreambedError {
  abstract readonly kafkaErrorCode: number;
}

/**
 * Bytes that are not a well-formed message of the version they claim: truncated, a length or count
 * past the end, a negative length where none may be, bytes left over. Kafka's INVALID_REQUEST.
 *
 * @example new MalformedKafkaMessageError('MetadataRequest v12: topics: truncated compact array length')
 */
export class MalformedKafkaMessageError extends KafkaProtocolError {
  readonly code = 'KafkaMalformedMessage';
  readonly status = 400;
  readonly kafkaErrorCode: number = KafkaErrorCode.INVALID_REQUEST;
}

/**
 * An API key, or a version of one, that this codec has no definition for. Carries what the
 * request header said so the server can still answer (ApiVersions answers v0 with this code).
 *
 * @example new UnsupportedKafkaVersionError(18, 9, 'ApiVersions supports versions 0-4, not 9')
 */
export class UnsupportedKafkaVersionError extends KafkaProtocolError {
  readonly code = 'KafkaUnsupportedVersion';
  readonly status = 400;
  readonly kafkaErrorCode: number = KafkaErrorCode.UNSUPPORTED_VERSION;
  readonly apiKey: number;
  readonly apiVersion: number;
  /** The request's correlation id when the header got that far, so the server can answer it. */
  readonly correlationId: number | undefined;
  constructor(apiKey: number, apiVersion: number, message: string, correlationId?: number) {
    super(message);
    this.apiKey = apiKey;
    this.apiVersion = apiVersion;
    this.correlationId = correlationId;
  }
}

/**
 * A record batch whose CRC32C does not match, whose lengths disagree, or whose records do not
 * parse. Kafka's CORRUPT_MESSAGE.
 *
 * @example new CorruptRecordBatchError('record batch at byte 0: CRC32C 0x1234abcd, computed 0x89abcdef')
 */
export class CorruptRecordBatchError extends KafkaProtocolError {
  readonly code = 'KafkaCorruptRecordBatch';
  readonly status = 400;
  readonly kafkaErrorCode: number = KafkaErrorCode.CORRUPT_MESSAGE;
}

/**
 * A record batch in a format other than v2 (magic 0 and 1 message sets). Kafka's
 * UNSUPPORTED_FOR_MESSAGE_FORMAT.
 *
 * @example new UnsupportedRecordFormatError('record batch at byte 0 has magic 1; only magic 2 is supported')
 */
export class UnsupportedRecordFormatError extends KafkaProtocolError {
  readonly code = 'KafkaUnsupportedRecordFormat';
  readonly status = 400;
  readonly kafkaErrorCode: number = KafkaErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT;
}

/**
 * A batch compressed with a codec this build cannot read or write (snappy, lz4, or an unknown
 * code). Kafka's UNSUPPORTED_COMPRESSION_TYPE.
 *
 * @example new UnsupportedCompressionTypeError('snappy')
 */
export class UnsupportedCompressionTypeError extends KafkaProtocolError {
  readonly code = 'KafkaUnsupportedCompressionType';
  readonly status = 415;
  readonly kafkaErrorCode: number = KafkaErrorCode.UNSUPPORTED_COMPRESSION_TYPE;
  readonly compression: string;
  constructor(compression: string) {
    super(
      `record batch compression '${compression}' is not supported here (read: none, gzip, snappy, lz4, zstd where their codecs load; written: none, gzip, zstd)`,
    );
    this.compression = compression;
  }
}
