import { InvalidArgumentError } from '../lib/core/errors.ts';
import type { OffsetSpec } from '../lib/core/types.ts';
import { httpApi, intParam, json, MetricUnit, metrics, pathParam } from './api/handler.ts';
import { LIMITS } from './api/openapi.ts';
import { toHttpRecord } from './api/records.ts';

/** Fetch: records from an offset, and list offsets. */
export const handler = httpApi({
  'GET /topics/{topic}/partitions/{partition}/records': async ({ event, engine }) => {
    const query = event.queryStringParameters ?? {};
    const result = await engine.fetch({
      topic: pathParam(event, 'topic'),
      partition: intParam(event.pathParameters?.partition, 'partition'),
      offset: intParam(query.offset, 'offset'),
      ...(query.maxRecords === undefined
        ? {}
        : { maxRecords: intParam(query.maxRecords, 'maxRecords', { max: LIMITS.maxFetchRecords }) }),
      maxBytes:
        query.maxBytes === undefined
          ? 1024 * 1024
          : intParam(query.maxBytes, 'maxBytes', { max: LIMITS.maxFetchBytes }),
    });
    metrics.addMetric('FetchedRecords', MetricUnit.Count, result.records.length);
    return json(200, {
      records: result.records.map(toHttpRecord),
      nextOffset: result.nextOffset,
      highWatermark: result.highWatermark,
      logStartOffset: result.logStartOffset,
    });
  },
  'GET /topics/{topic}/partitions/{partition}/offsets': async ({ event, engine }) => {
    const at = event.queryStringParameters?.at;
    let spec: OffsetSpec;
    if (at === 'earliest' || at === 'latest') spec = at;
    else if (at !== undefined && /^(0|[1-9][0-9]*)$/.test(at)) spec = { timestamp: intParam(at, 'at') };
    else
      throw new InvalidArgumentError(
        `at must be earliest, latest or a timestamp in ms, got ${at ?? 'nothing'}`,
      );
    const offset = await engine.listOffsets(
      pathParam(event, 'topic'),
      intParam(event.pathParameters?.partition, 'partition'),
      spec,
    );
    return json(200, { offset });
  },
});
