import { KafkaProtocolError } from '../errors.ts';
import type { KafkaGroupCoordinator } from '../groups/coordinator.ts';
import { GroupErrorCode } from '../groups/errors.ts';
import { ApiKey } from '../protocol/api.ts';
import type { HandlerContext } from './context.ts';

/** The API keys of Kafka's classic group protocol, served only with a group coordinator. */
export const GROUP_API_KEYS: ReadonlySet<number> = new Set([
  ApiKey.OffsetCommit,
  ApiKey.OffsetFetch,
  ApiKey.FindCoordinator,
  ApiKey.JoinGroup,
  ApiKey.Heartbeat,
  ApiKey.LeaveGroup,
  ApiKey.SyncGroup,
  ApiKey.DescribeGroups,
  ApiKey.ListGroups,
]);

/** No coordinator configured: Kafka's retriable COORDINATOR_NOT_AVAILABLE. */
class NoCoordinatorError extends KafkaProtocolError {
  readonly code = 'KafkaNoCoordinator';
  readonly status = 503;
  readonly kafkaErrorCode: number = GroupErrorCode.COORDINATOR_NOT_AVAILABLE;
}

/**
 * The coordinator a group API handler calls; throws COORDINATOR_NOT_AVAILABLE when the server was
 * started without one (the server then does not list the group APIs, so clients never ask).
 *
 * @example const r = await coordinatorOf(ctx).heartbeat(request as unknown as HeartbeatRequest, version);
 */
export function coordinatorOf(ctx: HandlerContext): KafkaGroupCoordinator {
  if (ctx.groups === undefined) throw new NoCoordinatorError('this server has no group coordinator');
  return ctx.groups;
}
