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
  LIMITS,
  nonNegativeInteger,
  ref,
  topicParam,
} from './openapi-common.ts';
import { groupPaths, groupSchemas } from './openapi-groups.ts';
import { recordSchemas } from './openapi-record-schemas.ts';
import { recordPaths } from './openapi-records.ts';

export { LIMITS };

/** Links (for generated clients and stateful testing) take a created topic's name from the response. */
const TOPIC_NAME = '$response.body#/name';

export const openapi = {
  openapi: '3.1.0',
  info: {
    title: 'Streambed',
    version: '1.0.0',
    description:
      "Kafka's semantics on S3 and DynamoDB. On AWS every route requires IAM (SigV4) authorization. " +
      `Limits: request body ≤ ${LIMITS.maxRequestBytes} bytes, ≤ ${LIMITS.maxRecordsPerRequest} records per ` +
      `produce call, each record ≤ its topic's maxRecordBytes (≤ 3 MiB), fetch maxBytes ≤ ${LIMITS.maxFetchBytes}. ` +
      'Rules that JSON Schema cannot state, or that depend on stored state, are in the descriptions with ' +
      'their status and error code. Errors from Streambed are `{"error":{"code","message"}}`. A path answers ' +
      'a method it does not serve with 405 MethodNotAllowed and an `Allow` header listing the methods it ' +
      'serves (`npm start`; on AWS, API Gateway answers a route it does not have with its own 404 ' +
      '`{"message":"Not Found"}`).',
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
          '201': {
            ...json(ref('Topic'), 'The topic was created.'),
            links: {
              describe: { operationId: 'describeTopic', parameters: { topic: TOPIC_NAME } },
              delete: { operationId: 'deleteTopic', parameters: { topic: TOPIC_NAME } },
              produce: { operationId: 'produce', parameters: { topic: TOPIC_NAME } },
              fetch: { operationId: 'fetch', parameters: { topic: TOPIC_NAME, partition: 0 } },
              listOffsets: { operationId: 'listOffsets', parameters: { topic: TOPIC_NAME, partition: 0 } },
              deleteRecords: {
                operationId: 'deleteRecords',
                parameters: { topic: TOPIC_NAME, partition: 0 },
              },
              join: { operationId: 'joinGroup', requestBody: { topic: TOPIC_NAME } },
              commit: { operationId: 'commitOffsets', requestBody: { topic: TOPIC_NAME } },
              reset: { operationId: 'resetOffsets', requestBody: { topic: TOPIC_NAME } },
            },
          },
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
    ...recordPaths,
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
      ...recordSchemas,
      ...groupSchemas,
      Error: {
        type: 'object',
        required: ['error'],
        properties: {
          error: {
            type: 'object',
            required: ['code', 'message'],
            properties: {
              code: { type: 'string' },
              message: { type: 'string' },
              appendedPartitions: {
                type: 'array',
                items: { type: 'integer', minimum: 0 },
                description:
                  'Produce only: the partitions of the request that were appended although the request failed (each partition appends on its own; their records are in the log). Absent when it is not known — the failure may have appended any of it.',
              },
            },
          },
        },
      },
    },
  },
} as const;
