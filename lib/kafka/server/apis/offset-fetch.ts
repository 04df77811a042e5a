import type { OffsetFetchRequest } from '../../groups/index.ts';
import { ApiKey } from '../../protocol/api.ts';
import type { KafkaApiHandler } from '../context.ts';
import { coordinatorOf } from '../groups.ts';

/**
 * OffsetFetch (key 9), v1-9 (v8+: several groups): the committed offsets whichever door committed
 * them, -1 where none.
 *
 * @example offsetFetch.handle({ groupId: 'billing', topics: [{ name: 'orders', partitionIndexes: [0] }], groups: [], requireStable: false }, 4, ctx)
 */
export const offsetFetch: KafkaApiHandler = {
  apiKey: ApiKey.OffsetFetch,
  minVersion: 1,
  maxVersion: 9,
  handle: async (request, version, ctx) =>
    coordinatorOf(ctx).offsetFetch(request as unknown as OffsetFetchRequest, version),
};
