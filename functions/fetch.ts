import { InvalidArgumentError } from '../lib/core/errors.ts';
import type { OffsetSpec } from '../lib/core/types.ts';
import { BATCH_REFS_TYPE } from '../lib/core/wire/batch-refs.ts';
import { encodeFetchFrame, FETCH_FRAME_TYPE } from '../lib/core/wire/fetch-frame.ts';
import { httpApi, intParam, json, MetricUnit, metrics, pathParam } from './api/handler.ts';
import { binary } from './api/http.ts';
import { LIMITS } from './api/openapi.ts';
import { toHttpRecord } from './api/records.ts';

/** Fetch: records from an offset, and list offsets. */
export const handler = httpApi({
  'GET /topics/{topic}/partitions/{partition}/records': async ({ event, engine }) => {
    const query = event.queryStringParameters ?? {};
    const request = {
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
    };
    const answer = fetchAnswerType(event.headers.accept, engine.canReferenceBatches());
    if (answer === BATCH_REFS_TYPE) {
      const refs = await engine.fetchBatchRefs(request);
      metrics.addMetric('ReferencedBatches', MetricUnit.Count, refs.batches.length);
      return json(200, refs, { 'content-type': BATCH_REFS_TYPE, vary: 'accept' });
    }
    if (answer === FETCH_FRAME_TYPE) {
      // A frame travels in the Lambda answer: at most 4 MiB of batches (5.6 MB in base64).
      const frame = await engine.fetchBatches({
        ...request,
        maxBytes: Math.min(request.maxBytes, LIMITS.maxFrameFetchBytes),
      });
      metrics.addMetric('FetchedBatches', MetricUnit.Count, frame.batches.length);
      return { ...binary(200, FETCH_FRAME_TYPE, encodeFetchFrame(frame)), headers: FRAME_HEADERS };
    }
    // base64 values and JSON take more room than a frame's bytes: a JSON answer stays under 6 MB.
    const result = await engine.fetch({
      ...request,
      maxBytes: Math.min(request.maxBytes, LIMITS.maxJsonFetchBytes),
    });
    metrics.addMetric('FetchedRecords', MetricUnit.Count, result.records.length);
    return json(
      200,
      {
        records: result.records.map(toHttpRecord),
        nextOffset: result.nextOffset,
        highWatermark: result.highWatermark,
        logStartOffset: result.logStartOffset,
      },
      { vary: 'accept' },
    );
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

/** The answer depends on Accept: a cache in front of the API must not hand a frame to a JSON client. */
const FRAME_HEADERS = { 'content-type': FETCH_FRAME_TYPE, vary: 'accept' };

/**
 * The answer a fetch's Accept header asks for: the one with the highest q among JSON, the binary
 * frame and — where the server can presign reads — batch references; on a tie the more compact one
 * (references, then frame, then JSON). No Accept, or none of them listed with a q above 0: JSON.
 * RFC 9110 §12.5.1, without wildcard ranking.
 *
 * @example
 * fetchAnswerType('application/vnd.streambed.batches, application/json;q=0.5', true) // the frame type
 */
export function fetchAnswerType(
  accept: string | undefined,
  canReference: boolean,
): typeof BATCH_REFS_TYPE | typeof FETCH_FRAME_TYPE | 'application/json' {
  if (accept === undefined) return 'application/json';
  let refs = 0;
  let frame = 0;
  let jsonQ = 0;
  for (const range of accept.split(',')) {
    const [type, ...params] = range.split(';').map((part) => part.trim().toLowerCase());
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (!Number.isFinite(q)) continue;
    if (type === BATCH_REFS_TYPE) refs = Math.max(refs, q);
    else if (type === FETCH_FRAME_TYPE) frame = Math.max(frame, q);
    else if (type === 'application/json') jsonQ = Math.max(jsonQ, q);
  }
  if (canReference && refs > 0 && refs >= frame && refs >= jsonQ) return BATCH_REFS_TYPE;
  if (frame > 0 && frame >= jsonQ) return FETCH_FRAME_TYPE;
  return 'application/json';
}
