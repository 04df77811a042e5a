import type { LeaveGroupRequest } from '../../groups/index.ts';
import { ApiKey } from '../../protocol/api.ts';
import type { KafkaApiHandler } from '../context.ts';
import { coordinatorOf } from '../groups.ts';

/**
 * LeaveGroup (key 13), v0-5 (v3+: a batch of members): the rest of the group rebalances.
 *
 * @example leaveGroup.handle({ groupId: 'billing', memberId, members: [] }, 1, ctx) // { throttleTimeMs: 0, errorCode: 0, members: [] }
 */
export const leaveGroup: KafkaApiHandler = {
  apiKey: ApiKey.LeaveGroup,
  minVersion: 0,
  maxVersion: 5,
  handle: async (request, version, ctx) =>
    coordinatorOf(ctx).leaveGroup(request as unknown as LeaveGroupRequest, version),
};
