import type { SyncGroupRequest } from '../../groups/index.ts';
import { ApiKey } from '../../protocol/api.ts';
import type { KafkaApiHandler } from '../context.ts';
import { coordinatorOf } from '../groups.ts';

/**
 * SyncGroup (key 14), v0-5: the leader hands in the assignments, every member gets its own; a
 * follower's call waits for the leader's (the connection closing stops the wait).
 *
 * @example syncGroup.handle({ groupId: 'billing', generationId: 1, memberId, assignments: [] , ... }, 3, ctx) // { errorCode: 0, assignment: Uint8Array }
 */
export const syncGroup: KafkaApiHandler = {
  apiKey: ApiKey.SyncGroup,
  minVersion: 0,
  maxVersion: 5,
  handle: async (request, version, ctx) =>
    coordinatorOf(ctx).syncGroup(request as unknown as SyncGroupRequest, version, ctx.signal),
};
