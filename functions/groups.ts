import { InvalidArgumentError } from '../lib/core/errors.ts';
import type { CommitOffsetsRequest, ResetOffsetsRequest } from '../lib/core/types.ts';
import type { MemberCommit } from '../lib/engine/membership.ts';
import { httpApi, json, pathParam } from './api/handler.ts';
import { noContent } from './api/http.ts';
import { validate } from './api/schemas.ts';

type CommitBody = Omit<CommitOffsetsRequest, 'group'>;

/** Consumer-group offsets: commit, read with lag, reset, list groups; pull members. */
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
    // The fencing counter of plain commits is internal: the response is what the OpenAPI document says.
    const offsets = (await engine.describeGroupOffsets(group, topic)).map(
      ({ plainCommits: _, ...offset }) => offset,
    );
    return json(200, { group, topic, offsets });
  },
  'POST /groups/{group}/offsets/reset': async ({ event, body, engine }) => {
    const request = validate<Omit<ResetOffsetsRequest, 'group'>>('ResetOffsetsRequest', body);
    return json(200, await engine.resetOffsets({ ...request, group: pathParam(event, 'group') }));
  },
  'GET /groups': async ({ engine }) => json(200, { groups: await engine.listGroups() }),
  'POST /groups/{group}/members': async ({ event, body, engine }) => {
    const request = validate<{ topic: string; memberId?: string; sessionTimeoutMs?: number }>(
      'JoinRequest',
      body,
    );
    const { topic, ...options } = request;
    return json(200, await engine.joinGroup(pathParam(event, 'group'), topic, options));
  },
  'POST /groups/{group}/members/{member}/heartbeat': async ({ event, body, engine }) => {
    const request = validate<{ topic: string; sessionTimeoutMs?: number }>('HeartbeatRequest', body);
    return json(
      200,
      await engine.heartbeat(
        pathParam(event, 'group'),
        request.topic,
        pathParam(event, 'member'),
        request.sessionTimeoutMs,
      ),
    );
  },
  'DELETE /groups/{group}/members/{member}': async ({ event, engine }) => {
    const topic = event.queryStringParameters?.topic;
    if (topic === undefined) throw new InvalidArgumentError('query parameter topic is required');
    await engine.leaveGroup(pathParam(event, 'group'), topic, pathParam(event, 'member'));
    return noContent();
  },
  'PUT /groups/{group}/members/{member}/offsets': async ({ event, body, engine }) => {
    const request = validate<{ topic: string; offsets: MemberCommit[] }>('MemberCommitRequest', body);
    const group = pathParam(event, 'group');
    await engine.commitAsMember(group, request.topic, pathParam(event, 'member'), request.offsets);
    return json(200, {
      group,
      topic: request.topic,
      offsets: request.offsets.map(({ partition, offset }) => ({ partition, offset })),
    });
  },
});
