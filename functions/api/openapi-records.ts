import { BATCH_REFS_TYPE } from '../../lib/core/wire/batch-refs.ts';
import { FETCH_FRAME_TYPE } from '../../lib/core/wire/fetch-frame.ts';
import { PRODUCER_HEADERS, SEGMENT_TYPE } from '../../lib/core/wire/produce-headers.ts';
import {
  bodyErrors,
  commonErrors,
  errorResponse,
  integerParam,
  json,
  jsonBody,
  LIMITS,
  partitionParam,
  ref,
  topicParam,
} from './openapi-common.ts';

/** The records part of the OpenAPI document: produce, producer ids, fetch, DeleteRecords, list offsets. */

const SEGMENT_BODY =
  'A segment object (docs/design.md "Binary bodies"; lib/core/segment/segment.ts): "SBSG", version 1, then ' +
  'one dense batch per partition, each with its CRC32C, compressed none/gzip/zstd as the producer chose. It is ' +
  'checked (CRC32C, structure, the same rules as a JSON call) and stored byte for byte. Every record carries ' +
  'its own timestamp. An idempotent call adds the streambed-producer-* headers.';

const FETCH_FRAME_BODY =
  'A fetch frame (docs/design.md "Binary bodies"; lib/core/wire/fetch-frame.ts): "SBFB", version 1, a ' +
  "header with its CRC32C (watermarks, nextOffset, each batch's base offset and append time), then the " +
  'stored batches as they are (each with its CRC32C). Batches travel whole: the first may start below ' +
  "`offset`, and the reader skips those records; `maxBytes` counts stored (compressed) bytes, as Kafka's " +
  'fetch.max.bytes does; a first batch larger than `maxBytes` is sent as the records asked for, re-encoded.';

const header = (name: string, pattern: string, description: string) => ({
  name,
  in: 'header',
  required: false,
  schema: { type: 'string', pattern },
  description,
});

/** An idempotent segment body's producer identity (a JSON body carries it in the body). */
const PRODUCER_HEADER_PARAMS = [
  header(
    PRODUCER_HEADERS.id,
    '^(0|[1-9][0-9]{0,15})$',
    'Segment bodies only: the producer id from POST /producers.',
  ),
  header(PRODUCER_HEADERS.epoch, '^(0|[1-9][0-9]{0,4})$', 'Segment bodies only: its epoch.'),
  header(
    PRODUCER_HEADERS.sequences,
    '^[0-9]+:[0-9]+(,[0-9]+:[0-9]+)*$',
    'Segment bodies only: each batch\'s first sequence, "<partition>:<sequence>" pairs joined by commas. ' +
      'All three producer headers or none; with a JSON body none (400 InvalidArgument).',
  ),
];

export const recordPaths = {
  '/topics/{topic}/records': {
    parameters: [topicParam],
    post: {
      operationId: 'produce',
      summary: 'Append records',
      description:
        'One call is stored as one object and acknowledged only when every record is committed. ' +
        'Partition: the explicit one, else murmur2 of the key (as Kafka), else one partition for all keyless ' +
        'records of the call. With producerId/producerEpoch/sequence the call is idempotent (Kafka semantics): ' +
        'a retry returns the original offsets and appends nothing.',
      parameters: PRODUCER_HEADER_PARAMS,
      requestBody: {
        required: true,
        content: {
          'application/json': { schema: ref('ProduceRequest') },
          [SEGMENT_TYPE]: {
            schema: { type: 'string', format: 'binary', maxLength: LIMITS.maxBinaryRequestBytes },
            description: SEGMENT_BODY,
          },
        },
      },
      responses: {
        '200': {
          ...json(
            ref('ProduceResponse'),
            'Offsets of the records, in request order (a segment body: batch by batch, in the order of its batches).',
          ),
          links: {
            fetch: {
              operationId: 'fetch',
              parameters: {
                topic: '$request.path.topic',
                partition: '$response.body#/offsets/0/partition',
                offset: '$response.body#/offsets/0/offset',
              },
            },
            listOffsets: {
              operationId: 'listOffsets',
              parameters: {
                topic: '$request.path.topic',
                partition: '$response.body#/offsets/0/partition',
              },
            },
          },
        },
        '404': errorResponse('No such topic (UnknownTopic).'),
        '409': errorResponse('OutOfOrderSequence, DuplicateSequence or ProducerFenced.'),
        ...bodyErrors,
        ...commonErrors,
        '400': errorResponse(
          'A malformed request (the message names the field); a record partition the topic does not have; a ' +
            'keyless record on a compacted topic; sequences that do not match the partitions written; or ' +
            'UnknownProducerId. A segment body that is not a valid segment (magic, version, CRC32C, structure, ' +
            'a sparse batch, a JSON-flagged value that is not JSON): InvalidArgument "the body is not a valid ' +
            'segment: …"; producer headers given in part or malformed: InvalidArgument naming the header.',
        ),
        '415': errorResponse(`The body is neither application/json nor ${SEGMENT_TYPE}.`),
        '413': errorResponse(
          `The body is larger than ${LIMITS.maxRequestBytes} bytes (a segment body: ${LIMITS.maxBinaryRequestBytes}) or holds more than ` +
            `${LIMITS.maxRecordsPerRequest} records (RequestTooLarge), or a record is larger than the topic's ` +
            'maxRecordBytes (RecordTooLarge).',
        ),
      },
    },
  },
  '/producers': {
    post: {
      operationId: 'initProducer',
      summary: 'Issue a producer id (Kafka InitProducerId)',
      description:
        'Idempotent produce calls carry a producerId and producerEpoch issued here. Without a transactionalId ' +
        'each call issues a new id at epoch 0. A transactionalId is a stable name: calling again returns the ' +
        'same id at the next epoch, and every older epoch is refused (409 ProducerFenced) from then on. ' +
        'Produce refuses ids and epochs never issued (400 UnknownProducerId).',
      requestBody: jsonBody('InitProducerRequest'),
      responses: {
        '200': json(ref('InitProducerResponse'), 'The producer id and its epoch.'),
        ...bodyErrors,
        ...commonErrors,
      },
    },
  },
  '/topics/{topic}/partitions/{partition}/records': {
    parameters: [topicParam, partitionParam],
    get: {
      operationId: 'fetch',
      summary: 'Read records from an offset',
      parameters: [
        {
          name: 'offset',
          in: 'query',
          required: true,
          schema: integerParam(0, Number.MAX_SAFE_INTEGER),
          description:
            'The first offset to read. Below the log start: 416; at or past the high watermark: no records.',
        },
        {
          name: 'maxRecords',
          in: 'query',
          schema: integerParam(1, LIMITS.maxFetchRecords),
          description: 'At most this many records (default 500).',
        },
        {
          name: 'maxBytes',
          in: 'query',
          schema: integerParam(1, LIMITS.maxFetchBytes),
          description:
            'About this many bytes of records (default 1048576). At least one record is returned when there is ' +
            `one, even if it is larger. A JSON answer carries at most ${LIMITS.maxJsonFetchBytes} bytes of record ` +
            `payload whatever is asked; a ${FETCH_FRAME_TYPE} answer counts stored batch bytes, up to ` +
            `${LIMITS.maxFrameFetchBytes}; ${BATCH_REFS_TYPE} names batches of up to maxBytes stored bytes.`,
        },
      ],
      responses: {
        '200': {
          description:
            'Records from `offset`; empty at or past the high watermark. JSON unless `Accept` prefers ' +
            `${FETCH_FRAME_TYPE} (the stored batches, in a binary frame) or ${BATCH_REFS_TYPE} (the ` +
            'stored batches by reference: a presigned URL per batch, which the reader GETs from the bucket ' +
            'itself). Of the types `Accept` lists, the one with the highest q is answered; on a tie the ' +
            'references, then the frame, then JSON. References are answered only where the server can ' +
            'presign reads (always on AWS); otherwise that type is passed over.',
          content: {
            'application/json': { schema: ref('FetchResponse') },
            [FETCH_FRAME_TYPE]: {
              schema: { type: 'string', format: 'binary' },
              description: FETCH_FRAME_BODY,
            },
            [BATCH_REFS_TYPE]: { schema: ref('BatchRefs') },
          },
        },
        '404': errorResponse('No such topic or partition.'),
        '416': errorResponse('The offset is below the log start offset (OffsetOutOfRange).'),
        ...commonErrors,
      },
    },
    delete: {
      operationId: 'deleteRecords',
      summary: 'Delete the records below an offset (Kafka DeleteRecords)',
      description:
        'Moves the log start offset up to `before` (never down); reads below it answer 416. `-1` means the ' +
        'high watermark. An offset at or below the log start changes nothing and answers the log start. ' +
        'Storage is released by the next sweep.',
      parameters: [
        {
          name: 'before',
          in: 'query',
          required: true,
          schema: integerParam(-1, Number.MAX_SAFE_INTEGER),
          description: 'The new log start offset, or -1 for the high watermark.',
        },
      ],
      responses: {
        '200': json(ref('DeleteRecordsResponse'), 'The log start offset after the call.'),
        '404': errorResponse('No such topic or partition.'),
        '416': errorResponse('`before` is above the high watermark (OffsetOutOfRange).'),
        ...commonErrors,
      },
    },
  },
  '/topics/{topic}/partitions/{partition}/offsets': {
    parameters: [topicParam, partitionParam],
    get: {
      operationId: 'listOffsets',
      summary: 'Earliest, latest, or first offset at or after a timestamp',
      parameters: [
        {
          name: 'at',
          in: 'query',
          required: true,
          schema: { anyOf: [{ enum: ['earliest', 'latest'] }, integerParam(0, Number.MAX_SAFE_INTEGER)] },
          description: '`earliest`, `latest` (the high watermark) or a timestamp in ms since the epoch.',
        },
      ],
      responses: {
        '200': json(ref('OffsetResponse'), 'The offset (null when no record is at or after the timestamp).'),
        '404': errorResponse('No such topic or partition.'),
        ...commonErrors,
      },
    },
  },
} as const;
