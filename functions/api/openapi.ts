/**
 * Streambed's HTTP API as an OpenAPI 3.1 document. It is the single source of the request schemas
 * the handlers validate with (ajv, JSON Schema 2020-12), and `docs/openapi.json` is written from it
 * (`npm run openapi`; a test fails when the file is stale). Tests check every handler response
 * against the response schemas here.
 */

import {
  bodyErrors,
  commonErrors,
  errorResponse,
  json,
  jsonBody,
  LIMITS,
  nonNegativeInteger,
  partitionParam,
  ref,
  topicParam,
} from './openapi-common.ts';
import { groupPaths, groupSchemas } from './openapi-groups.ts';

export { LIMITS };

export const openapi = {
  openapi: '3.1.0',
  info: {
    title: 'Streambed',
    version: '1.0.0',
    description:
      "Kafka's semantics on S3 and DynamoDB. On AWS every route requires IAM (SigV4) authorization. " +
      `Limits: request body ≤ ${LIMITS.maxRequestBytes} bytes, ≤ ${LIMITS.maxRecordsPerRequest} records per ` +
      `produce call, each record ≤ its topic's maxRecordBytes (≤ 3 MiB), fetch maxBytes ≤ ${LIMITS.maxFetchBytes}.`,
  },
  paths: {
    '/topics': {
      post: {
        operationId: 'createTopic',
        summary: 'Create a topic',
        requestBody: {
          required: true,
          content: { 'application/json': { schema: ref('CreateTopicRequest') } },
        },
        responses: {
          '201': json(ref('Topic'), 'The topic was created.'),
          '409': errorResponse('A topic of that name exists (TopicAlreadyExists).'),
          ...bodyErrors,
          ...commonErrors,
        },
      },
      get: {
        operationId: 'listTopics',
        summary: 'List topics',
        responses: { '200': json(ref('TopicList'), 'All topics.'), ...commonErrors },
      },
    },
    '/topics/{topic}': {
      parameters: [topicParam],
      get: {
        operationId: 'describeTopic',
        summary: "Describe a topic and its partitions' offsets",
        responses: {
          '200': json(ref('TopicDescription'), 'The topic.'),
          '404': errorResponse('No such topic (UnknownTopic).'),
          ...commonErrors,
        },
      },
      delete: {
        operationId: 'deleteTopic',
        summary: 'Delete a topic and its data',
        responses: {
          '204': { description: 'Deleted.' },
          '404': errorResponse('No such topic (UnknownTopic).'),
          ...commonErrors,
        },
      },
    },
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
        requestBody: jsonBody('ProduceRequest'),
        responses: {
          '200': json(ref('ProduceResponse'), 'Offsets of the records, in request order.'),
          '404': errorResponse('No such topic (UnknownTopic).'),
          '409': errorResponse('OutOfOrderSequence, DuplicateSequence or ProducerFenced.'),
          ...bodyErrors,
          ...commonErrors,
          '400': errorResponse('A malformed request (the message names the field), or UnknownProducerId.'),
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
            schema: { type: 'string', pattern: '^(0|[1-9][0-9]*)$' },
          },
          { name: 'maxRecords', in: 'query', schema: { type: 'string', pattern: '^[1-9][0-9]*$' } },
          { name: 'maxBytes', in: 'query', schema: { type: 'string', pattern: '^[1-9][0-9]*$' } },
        ],
        responses: {
          '200': json(ref('FetchResponse'), 'Records from `offset`; empty at or past the high watermark.'),
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
            schema: { type: 'string', pattern: '^(-1|0|[1-9][0-9]*)$' },
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
            schema: { type: 'string', pattern: '^(earliest|latest|0|[1-9][0-9]*)$' },
            description: '`earliest`, `latest` (the high watermark) or a timestamp in ms since the epoch.',
          },
        ],
        responses: {
          '200': json(
            ref('OffsetResponse'),
            'The offset (null when no record is at or after the timestamp).',
          ),
          '404': errorResponse('No such topic or partition.'),
          ...commonErrors,
        },
      },
    },
    ...groupPaths,
  },
  components: {
    schemas: {
      TopicName: {
        type: 'string',
        pattern: '^[a-zA-Z0-9._-]{1,249}$',
        not: { enum: ['.', '..'] },
        'x-rule': "must be 1-249 characters of [a-zA-Z0-9._-], and not '.' or '..'",
      },
      Retention: {
        anyOf: [{ const: -1 }, { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER }],
        'x-rule': 'must be -1 or a positive integer',
      },
      TopicConfig: {
        type: 'object',
        additionalProperties: false,
        properties: {
          retentionMs: {
            ...ref('Retention'),
            description: 'ms to keep records; -1 forever. Default 7 days.',
          },
          retentionBytes: {
            ...ref('Retention'),
            description: 'Bytes per partition; -1 unbounded (default).',
          },
          maxRecordBytes: {
            type: 'integer',
            minimum: 1,
            maximum: 3 * 1024 * 1024,
            description: 'Default 1 MiB.',
          },
          compression: { enum: ['none', 'gzip', 'zstd'], description: 'Default none.' },
          targetObjectBytes: {
            anyOf: [{ const: -1 }, { type: 'integer', minimum: 64 * 1024, maximum: 64 * 1024 * 1024 }],
            description:
              'Runs of batches smaller than a quarter of this are compacted into single-partition objects of ' +
              'about this size; -1 turns compaction off. Default 8 MiB.',
          },
          cleanupPolicy: {
            enum: ['delete', 'compact', 'compact,delete', 'delete,compact'],
            description:
              'Kafka\'s cleanup.policy. "delete" (default) retires records by retentionMs/retentionBytes; ' +
              '"compact" keeps the latest record of every key (records need a key; a null value is a ' +
              'tombstone); "compact,delete" does both. Offsets never change: a compacted log has holes.',
          },
          deleteRetentionMs: {
            ...nonNegativeInteger,
            description: 'How long a tombstone stays after it was appended (ms). Default 86400000 (1 day).',
          },
          minCompactionLagMs: {
            ...nonNegativeInteger,
            description: 'Records appended less than this long ago are never compacted away (ms). Default 0.',
          },
          minCleanableDirtyRatio: {
            type: 'number',
            minimum: 0,
            maximum: 1,
            description:
              "Compaction runs once the uncompacted share of a partition's bytes reaches this. Default 0.5.",
          },
        },
      },
      CreateTopicRequest: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'partitions'],
        properties: {
          name: ref('TopicName'),
          partitions: { type: 'integer', minimum: 1, maximum: 1000 },
          config: ref('TopicConfig'),
        },
      },
      Topic: {
        type: 'object',
        required: ['name', 'id', 'partitions', 'config', 'createdAt'],
        properties: {
          name: ref('TopicName'),
          id: { type: 'string' },
          partitions: { type: 'integer' },
          config: ref('TopicConfig'),
          createdAt: nonNegativeInteger,
        },
      },
      TopicList: {
        type: 'object',
        required: ['topics'],
        properties: { topics: { type: 'array', items: ref('Topic') } },
      },
      TopicDescription: {
        allOf: [
          ref('Topic'),
          {
            type: 'object',
            required: ['partitionStates'],
            properties: {
              partitionStates: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['partition', 'logStartOffset', 'highWatermark'],
                  properties: {
                    partition: nonNegativeInteger,
                    logStartOffset: nonNegativeInteger,
                    highWatermark: nonNegativeInteger,
                  },
                },
              },
            },
          },
        ],
      },
      Headers: { type: 'object', additionalProperties: { type: 'string' } },
      ProduceRecord: {
        type: 'object',
        additionalProperties: false,
        description:
          'Give exactly one of `value` (any JSON value but null) and `valueBase64` (binary). `value: null` ' +
          'is a tombstone (a null value, as Kafka): on a compacted topic it deletes the key.',
        properties: {
          key: { type: ['string', 'null'] },
          value: {},
          valueBase64: {
            type: 'string',
            // Padding (length a multiple of 4) is checked by the handler: a linear pattern stays fast on MiBs.
            pattern: '^[A-Za-z0-9+/]*={0,2}$',
            'x-rule': 'must be padded base64 (RFC 4648)',
          },
          headers: ref('Headers'),
          partition: { type: 'integer', minimum: 0, maximum: 999 },
          timestamp: nonNegativeInteger,
        },
      },
      ProduceRequest: {
        type: 'object',
        additionalProperties: false,
        required: ['records'],
        properties: {
          records: { type: 'array', minItems: 1, items: ref('ProduceRecord') },
          producerId: {
            type: 'string',
            pattern: '^[a-zA-Z0-9._:-]{1,64}$',
            'x-rule': 'must be 1-64 characters of [a-zA-Z0-9._:-]',
          },
          producerEpoch: { type: 'integer', minimum: 0, maximum: 32767 },
          sequence: {
            'x-rule': 'must be a sequence number or an object of partition to sequence number',
            description:
              "The call's first sequence number per partition (Kafka semantics). A number when the call writes " +
              'to one partition, else an object mapping each partition written to its sequence.',
            anyOf: [
              { type: 'integer', minimum: 0, maximum: 2147483647 },
              {
                type: 'object',
                propertyNames: { pattern: '^(0|[1-9][0-9]{0,3})$' },
                additionalProperties: { type: 'integer', minimum: 0, maximum: 2147483647 },
              },
            ],
          },
        },
        dependentRequired: {
          producerId: ['producerEpoch', 'sequence'],
          producerEpoch: ['producerId', 'sequence'],
          sequence: ['producerId', 'producerEpoch'],
        },
      },
      RecordOffset: {
        type: 'object',
        required: ['partition', 'offset'],
        properties: { partition: nonNegativeInteger, offset: nonNegativeInteger },
      },
      InitProducerRequest: {
        type: 'object',
        additionalProperties: false,
        properties: {
          transactionalId: {
            type: 'string',
            minLength: 1,
            maxLength: 255,
            // Control characters are Unicode's Cc: C0, DEL and C1. Lone surrogates are refused by the engine.
            pattern: '^[^\\u0000-\\u001f\\u007f-\\u009f]+$',
            'x-rule': 'must be 1-255 characters without control characters',
          },
        },
      },
      InitProducerResponse: {
        type: 'object',
        required: ['producerId', 'producerEpoch'],
        properties: {
          producerId: { type: 'string', pattern: '^[1-9][0-9]{0,15}$' },
          producerEpoch: { type: 'integer', minimum: 0, maximum: 32767 },
        },
      },
      ProduceResponse: {
        type: 'object',
        required: ['offsets'],
        properties: { offsets: { type: 'array', items: ref('RecordOffset') } },
      },
      FetchedRecord: {
        type: 'object',
        required: ['offset', 'timestamp', 'key', 'headers'],
        properties: {
          offset: nonNegativeInteger,
          timestamp: nonNegativeInteger,
          key: { type: ['string', 'null'] },
          value: {},
          valueBase64: { type: 'string' },
          headers: ref('Headers'),
        },
      },
      FetchResponse: {
        type: 'object',
        required: ['records', 'nextOffset', 'highWatermark'],
        properties: {
          records: { type: 'array', items: ref('FetchedRecord') },
          nextOffset: {
            ...nonNegativeInteger,
            description:
              'The offset to fetch next. A compacted topic has holes (offsets whose records compaction removed): ' +
              'it steps over them, so it may be more than the last record offset + 1. Below the high watermark ' +
              'a fetch is never empty.',
          },
          highWatermark: nonNegativeInteger,
          logStartOffset: nonNegativeInteger,
        },
      },
      OffsetResponse: {
        type: 'object',
        required: ['offset'],
        properties: { offset: { anyOf: [nonNegativeInteger, { type: 'null' }] } },
      },
      DeleteRecordsResponse: {
        type: 'object',
        required: ['logStartOffset'],
        properties: { logStartOffset: nonNegativeInteger },
      },
      ...groupSchemas,
      Error: {
        type: 'object',
        required: ['error'],
        properties: {
          error: {
            type: 'object',
            required: ['code', 'message'],
            properties: { code: { type: 'string' }, message: { type: 'string' } },
          },
        },
      },
    },
  },
} as const;
