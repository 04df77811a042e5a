import { InvalidArgumentError } from '../lib/core/errors.ts';
import type { CommitOffsetsRequest } from '../lib/core/types.ts';
import { httpApi, json, pathParam } from './api/handler.ts';
import { validate } from './api/schemas.ts';

type CommitBody = Omit<CommitOffsetsRequest, 'group'>;

/** Consumer-group offsets: commit, read with lag, list groups. */
export const handler = httpApi({
  'PUT /groups/{group}/offsets': async ({ event, body, engine }) => {
    const group = pathParam(event, 'group');
    const request = validate<CommitBody>('CommitOffsetsRequest', body);
    await engine.commitOffsets({ ...request, group });
    return json(200, {
      group,
      topic: request.topic,
      offsets: request.offsets.map(({ partition, offset }) => ({ partition, offset })),
    });
  },
  'GET /groups/{group}/offsets': async ({ event, engine }) => {
    const group = pathParam(event, 'group');
    const topic = event.queryStringParameters?.topic;
    if (topic === undefined) throw new InvalidArgumentError('query parameter topic is required');
    const offsets = await engine.describeGroupOffsets(group, topic);
    return json(200, { group, topic, offsets });
  },
  'GET /groups': async ({ engine }) => json(200, { groups: await engine.listGroups() }),
});
