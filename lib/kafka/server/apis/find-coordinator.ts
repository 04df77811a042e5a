import type { FindCoordinatorRequest } from '../../groups/index.ts';
import { ApiKey } from '../../protocol/api.ts';
import type { KafkaApiHandler } from '../context.ts';
import { coordinatorOf } from '../groups.ts';

/**
 * FindCoordinator (key 10), v0-6: every group's coordinator is this broker (the address and node id
 * Metadata advertises), since the group state is shared in DynamoDB and any server coordinates any
 * group. Transaction coordinators (key type 1) are refused: Streambed has no transactions.
 *
 * @example findCoordinator.handle({ key: 'billing', keyType: 0, coordinatorKeys: [] }, 2, ctx) // { errorCode: 0, nodeId: 0, host: '127.0.0.1', port: 9092, ... }
 */
export const findCoordinator: KafkaApiHandler = {
  apiKey: ApiKey.FindCoordinator,
  minVersion: 0,
  maxVersion: 6,
  handle: async (request, version, ctx) =>
    coordinatorOf(ctx).findCoordinator(request as unknown as FindCoordinatorRequest, version, ctx.broker),
};
