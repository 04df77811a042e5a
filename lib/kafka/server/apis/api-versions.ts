import { ApiKey } from '../../protocol/api.ts';
import type { KafkaApiHandler } from '../context.ts';

/**
 * ApiVersions (key 18), v0-4: the APIs this server serves and their version ranges. A request of a
 * version above 4 never reaches here: dispatch.ts answers it with a v0 response and
 * UNSUPPORTED_VERSION, as Kafka does, so the client retries at a version both know.
 *
 * @example apiVersions.handle({}, 3, ctx) // { errorCode: 0, apiKeys: [{ apiKey: 0, minVersion: 3, maxVersion: 11 }, ...] }
 */
export const apiVersions: KafkaApiHandler = {
  apiKey: ApiKey.ApiVersions,
  minVersion: 0,
  maxVersion: 4,
  handle: async (_request, _version, ctx) => ({
    errorCode: 0,
    apiKeys: ctx.apis,
    throttleTimeMs: 0,
  }),
};
