import { KafkaProtocolError } from '../errors.ts';

/**
 * The Kafka error codes the group coordinator answers with, by Kafka's names: the one table for this
 * room (values from `org.apache.kafka.common.protocol.Errors` in apache/kafka).
 *
 * @example joinResponse.errorCode = GroupErrorCode.MEMBER_ID_REQUIRED; // 79
 */
export const GroupErrorCode = {
  UNKNOWN_SERVER_ERROR: -1,
  NONE: 0,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  OFFSET_METADATA_TOO_LARGE: 12,
  COORDINATOR_NOT_AVAILABLE: 15,
  ILLEGAL_GENERATION: 22,
  INCONSISTENT_GROUP_PROTOCOL: 23,
  INVALID_GROUP_ID: 24,
  UNKNOWN_MEMBER_ID: 25,
  INVALID_SESSION_TIMEOUT: 26,
  REBALANCE_IN_PROGRESS: 27,
  INVALID_COMMIT_OFFSET_SIZE: 28,
  INVALID_REQUEST: 42,
  GROUP_ID_NOT_FOUND: 69,
  MEMBER_ID_REQUIRED: 79,
  GROUP_MAX_SIZE_REACHED: 81,
  FENCED_INSTANCE_ID: 82,
} as const;

export type GroupErrorCodeValue = (typeof GroupErrorCode)[keyof typeof GroupErrorCode];

/**
 * A group whose stored state would outgrow its DynamoDB item (see `MAX_GROUP_STATE_BYTES` in
 * state.ts): a join is refused with Kafka's GROUP_MAX_SIZE_REACHED, a leader's assignments with
 * UNKNOWN_SERVER_ERROR (what Kafka answers when its group metadata record is too large to store).
 * Thrown, so the server answers with the code and, where the response has room, this message.
 *
 * @example throw new GroupTooLargeError("group 'billing': 300 members exceed the limit of 256", GroupErrorCode.GROUP_MAX_SIZE_REACHED)
 */
export class GroupTooLargeError extends KafkaProtocolError {
  readonly code = 'KafkaGroupTooLarge';
  readonly status = 413;
  readonly kafkaErrorCode: number;
  constructor(message: string, kafkaErrorCode: number) {
    super(message);
    this.kafkaErrorCode = kafkaErrorCode;
  }
}

/**
 * Too many servers wrote the group at once for this request to get its write in; Kafka's retriable
 * COORDINATOR_NOT_AVAILABLE, so the client finds the coordinator again and retries.
 *
 * @example throw new GroupBusyError("group 'billing': 64 conflicting writes in a row; try again")
 */
export class GroupBusyError extends KafkaProtocolError {
  readonly code = 'KafkaGroupBusy';
  readonly status = 503;
  override readonly retryable = true;
  readonly kafkaErrorCode: number = GroupErrorCode.COORDINATOR_NOT_AVAILABLE;
}
