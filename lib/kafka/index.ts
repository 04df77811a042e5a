/**
 * The Kafka wire protocol, as a pure codec: requests and responses interpreted from apache/kafka's
 * own message definitions (lib/kafka/messages/), record batch v2, and connection framing. The
 * Kafka-protocol server builds on this and calls `lib/engine` like every other front door.
 *
 * @example
 * const { header, body } = decodeRequest(message);
 * const reply = encodeResponse(header.apiKey, header.apiVersion, header.correlationId, { errorCode: 0 });
 */
export * from './errors.ts';
export * from './protocol/api.ts';
export { deepEqual } from './protocol/codec.ts';
export * from './protocol/framing.ts';
export { KafkaReader, KafkaWriter, ZERO_UUID } from './protocol/primitives.ts';
export * from './protocol/record-batch.ts';
export {
  defaultValue,
  type FieldSchema,
  type FieldType,
  inRange,
  type KafkaStruct,
  type KafkaValue,
  MESSAGES,
  type MessageSchema,
  REQUESTS,
  RESPONSES,
  type StructSchema,
  type VersionRange,
} from './protocol/schema.ts';
