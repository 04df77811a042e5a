import { InvalidArgumentError, RequestTooLargeError } from '../lib/core/errors.ts';
import { PRODUCER_HEADERS, parseProducerHeaders, SEGMENT_TYPE } from '../lib/core/wire/produce-headers.ts';
import { httpApi, json, MetricUnit, metrics, pathParam } from './api/handler.ts';
import { LIMITS } from './api/openapi.ts';
import { type HttpProduceBody, toProduceRecord, toProducer } from './api/records.ts';
import { validate } from './api/schemas.ts';

/** Produce: POST /topics/{topic}/records, and producer ids: POST /producers. */
export const handler = httpApi({
  'POST /producers': async ({ body, engine }) => {
    const request = validate<{ transactionalId?: string }>('InitProducerRequest', body);
    const issued = await engine.initProducer(
      request.transactionalId === undefined ? {} : { transactionalId: request.transactionalId },
    );
    return json(200, { producerId: issued.producerId, producerEpoch: issued.epoch });
  },
  'POST /topics/{topic}/records': async ({ event, body, binary, engine }) => {
    if (binary !== undefined) {
      const producer = parseProducerHeaders(event.headers);
      const result = await engine.produceSegment({
        topic: pathParam(event, 'topic'),
        segment: binary,
        ...(producer === undefined ? {} : { producer }),
      });
      // Offsets in the body's order: batch by batch, record i of a batch at its baseOffset + i.
      const offsets = result.batches.flatMap((batch) =>
        Array.from({ length: batch.recordCount }, (_, i) => ({
          partition: batch.partition,
          offset: batch.baseOffset + i,
        })),
      );
      metrics.addMetric('ProducedRecords', MetricUnit.Count, offsets.length);
      return json(200, { offsets });
    }
    if (Object.values(PRODUCER_HEADERS).some((name) => event.headers[name] !== undefined)) {
      throw new InvalidArgumentError(
        `${Object.values(PRODUCER_HEADERS).join(', ')} go with a ${SEGMENT_TYPE} body; a JSON body carries producerId, producerEpoch and sequence`,
      );
    }
    const records = (body as { records?: unknown } | null)?.records;
    if (Array.isArray(records) && records.length > LIMITS.maxRecordsPerRequest) {
      throw new RequestTooLargeError(
        `body.records may hold at most ${LIMITS.maxRecordsPerRequest} records, got ${records.length}`,
      );
    }
    const request = validate<HttpProduceBody>('ProduceRequest', body);
    const producer = toProducer(request);
    const result = await engine.produce({
      topic: pathParam(event, 'topic'),
      records: request.records.map(toProduceRecord),
      ...(producer === undefined ? {} : { producer }),
    });
    metrics.addMetric('ProducedRecords', MetricUnit.Count, result.offsets.length);
    return json(200, { offsets: result.offsets });
  },
});
