import { InvalidArgumentError } from '../lib/core/errors.ts';
import { httpApi, intParam, json, pathParam } from './api/handler.ts';
import { noContent } from './api/http.ts';
import { validate } from './api/schemas.ts';

type CreateTopicBody = { name: string; partitions: number; config?: Record<string, unknown> };

/**
 * Topic administration: POST /topics, GET /topics, GET /topics/{topic}, DELETE /topics/{topic}, and
 * DeleteRecords (DELETE /topics/{topic}/partitions/{partition}/records?before=).
 */
export const handler = httpApi({
  'POST /topics': async ({ body, engine }) => {
    const request = validate<CreateTopicBody>('CreateTopicRequest', body);
    return json(201, await engine.createTopic(request));
  },
  'GET /topics': async ({ engine }) => json(200, { topics: await engine.listTopics() }),
  'GET /topics/{topic}': async ({ event, engine }) =>
    json(200, await engine.describeTopic(pathParam(event, 'topic'))),
  'DELETE /topics/{topic}': async ({ event, engine }) => {
    await engine.deleteTopic(pathParam(event, 'topic'));
    return noContent();
  },
  'DELETE /topics/{topic}/partitions/{partition}/records': async ({ event, engine }) => {
    const before = event.queryStringParameters?.before;
    if (before === undefined) {
      throw new InvalidArgumentError('before is required: the offset below which records are deleted, or -1');
    }
    const result = await engine.deleteRecords(
      pathParam(event, 'topic'),
      intParam(event.pathParameters?.partition, 'partition'),
      before === '-1' ? -1 : intParam(before, 'before'),
    );
    return json(200, result);
  },
});
