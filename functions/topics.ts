import { httpApi, json, pathParam } from './api/handler.ts';
import { noContent } from './api/http.ts';
import { validate } from './api/schemas.ts';

type CreateTopicBody = { name: string; partitions: number; config?: Record<string, unknown> };

/** Topic administration: POST /topics, GET /topics, GET /topics/{topic}, DELETE /topics/{topic}. */
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
});
