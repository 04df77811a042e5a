/**
 * Kafka's classic consumer-group protocol as a coordinator whose state lives in a
 * {@link KafkaGroupStore} (DynamoDB: lib/adapters/dynamodb/kafka-groups.ts), so several stateless
 * Kafka servers agree. The server decodes a request, calls the coordinator method of its API with the
 * decoded body and version, and encodes what it returns.
 *
 * @example
 * const groups = new KafkaGroupCoordinator({ store: new DynamoKafkaGroupStore({ client, table }), engine: log, clock });
 * const body = await groups.heartbeat(request as unknown as HeartbeatRequest, version);
 */
export type { KafkaGroupStore } from '../../core/ports.ts';
export * from './coordinator.ts';
export { GroupBusyError, GroupErrorCode, GroupTooLargeError } from './errors.ts';
export type { ClientInfo } from './join.ts';
export type * from './messages.ts';
export type { GroupEngine } from './offsets.ts';
export { DEFAULT_GROUP_CONFIG, type GroupConfig, MAX_GROUP_STATE_BYTES } from './state.ts';
