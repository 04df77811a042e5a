import type { JoinGroupRequest } from '../../groups/index.ts';
import { ApiKey } from '../../protocol/api.ts';
import type { KafkaApiHandler } from '../context.ts';
import { coordinatorOf } from '../groups.ts';

/**
 * JoinGroup (key 11), v0-9. Answers once the member's join is decided, which may take up to the
 * rebalance timeout: the connection waits for it (later requests on it are answered after, in
 * order, as a broker does), other connections do not. The connection closing stops the wait.
 *
 * @example joinGroup.handle({ groupId: 'billing', memberId: '', sessionTimeoutMs: 30000, ... }, 5, ctx) // { errorCode: 0, generationId: 1, leader, members, ... }
 */
export const joinGroup: KafkaApiHandler = {
  apiKey: ApiKey.JoinGroup,
  minVersion: 0,
  maxVersion: 9,
  handle: async (request, version, ctx) =>
    coordinatorOf(ctx).joinGroup(
      request as unknown as JoinGroupRequest,
      version,
      { clientId: ctx.header.clientId ?? '', clientHost: ctx.clientHost ?? '' },
      ctx.signal,
    ),
};
