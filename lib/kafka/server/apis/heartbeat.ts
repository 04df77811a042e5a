import type { HeartbeatRequest } from '../../groups/index.ts';
import { ApiKey } from '../../protocol/api.ts';
import type { KafkaApiHandler } from '../context.ts';
import { coordinatorOf } from '../groups.ts';

/**
 * Heartbeat (key 12), v0-4: keeps the member's session; REBALANCE_IN_PROGRESS tells it to rejoin.
 *
 * @example heartbeat.handle({ groupId: 'billing', generationId: 3, memberId, groupInstanceId: null }, 3, ctx) // { throttleTimeMs: 0, errorCode: 0 }
 */
export const heartbeat: KafkaApiHandler = {
  apiKey: ApiKey.Heartbeat,
  minVersion: 0,
  maxVersion: 4,
  handle: async (request, version, ctx) =>
    coordinatorOf(ctx).heartbeat(request as unknown as HeartbeatRequest, version),
};
