import type { DescribeGroupsRequest } from '../../groups/index.ts';
import { ApiKey } from '../../protocol/api.ts';
import type { KafkaApiHandler } from '../context.ts';
import { toKafkaError } from '../error-codes.ts';
import { coordinatorOf } from '../groups.ts';

/**
 * DescribeGroups (key 15), v0-5: each group's state, protocol and members. The response has no
 * top-level error code, so a failure is answered on every group asked for.
 *
 * @example describeGroups.handle({ groups: ['billing'], includeAuthorizedOperations: false }, 4, ctx) // { groups: [{ groupId: 'billing', groupState: 'Stable', members: [...] }] }
 */
export const describeGroups: KafkaApiHandler = {
  apiKey: ApiKey.DescribeGroups,
  minVersion: 0,
  maxVersion: 5,
  handle: async (request, version, ctx) => {
    const body = request as unknown as DescribeGroupsRequest;
    try {
      return await coordinatorOf(ctx).describeGroups(body, version);
    } catch (error) {
      const { errorCode } = toKafkaError(error);
      return {
        throttleTimeMs: 0,
        groups: body.groups.map((groupId) => ({
          errorCode,
          groupId,
          groupState: '',
          protocolType: '',
          protocolData: '',
          members: [],
          authorizedOperations: -2147483648,
        })),
      };
    }
  },
};
