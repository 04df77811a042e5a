import type { ListGroupsRequest } from '../../groups/index.ts';
import { ApiKey } from '../../protocol/api.ts';
import type { KafkaApiHandler } from '../context.ts';
import { coordinatorOf } from '../groups.ts';

/**
 * ListGroups (key 16), v0-5: Kafka groups with their state, and groups that only committed offsets
 * over another door (protocol type '', Empty).
 *
 * @example listGroups.handle({ statesFilter: [], typesFilter: [] }, 4, ctx) // { errorCode: 0, groups: [{ groupId: 'billing', protocolType: 'consumer', groupState: 'Stable' }] }
 */
export const listGroups: KafkaApiHandler = {
  apiKey: ApiKey.ListGroups,
  minVersion: 0,
  maxVersion: 5,
  handle: async (request, version, ctx) =>
    coordinatorOf(ctx).listGroups(request as unknown as ListGroupsRequest, version),
};
