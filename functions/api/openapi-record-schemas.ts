import { MAX_TIMESTAMP } from '../../lib/core/validation.ts';
import { LIMITS, nonNegativeInteger, ref } from './openapi-common.ts';

/** The schemas of the records part of the OpenAPI document (openapi-records.ts): bodies and answers. */
export const recordSchemas = {
  Headers: { type: 'object', additionalProperties: { type: 'string' } },
  ProduceRecord: {
    type: 'object',
    additionalProperties: false,
    description:
      'Give exactly one of `value` (any JSON value) and `valueBase64` (binary). `value: null` is a tombstone ' +
      '(a null value, as Kafka): on a compacted topic it deletes the key. Rules that depend on the topic: ' +
      'on a compacted topic every record needs a key (400 InvalidArgument); a record larger than the ' +
      "topic's maxRecordBytes (key, value and headers) is refused (413 RecordTooLarge).",
    oneOf: [{ required: ['value'] }, { required: ['valueBase64'] }],
    'x-rule': 'must give exactly one of value and valueBase64',
    properties: {
      key: { type: ['string', 'null'] },
      value: {},
      valueBase64: {
        type: 'string',
        // OpenAPI's `byte`: padded base64 (RFC 4648 §4). The handlers check it without a backtracking
        // regular expression (functions/api/schemas.ts), which overflows the stack on MiBs.
        format: 'byte',
        'x-rule': 'must be padded base64 (RFC 4648)',
      },
      headers: ref('Headers'),
      partition: {
        type: 'integer',
        minimum: 0,
        maximum: 999,
        description:
          "Must be below the topic's partition count (400 InvalidArgument otherwise). Default: murmur2 of " +
          'the key, else one partition for all keyless records of the call.',
      },
      timestamp: {
        ...nonNegativeInteger,
        maximum: MAX_TIMESTAMP,
        description: `ms since the epoch, at most ${MAX_TIMESTAMP} (2^51 - 1, the year 73,000). Default: the time of the call.`,
      },
    },
  },
  ProduceRequest: {
    type: 'object',
    additionalProperties: false,
    required: ['records'],
    description:
      `At most ${LIMITS.maxRecordsPerRequest} records (more: 413 RequestTooLarge) in a body of at most ` +
      `${LIMITS.maxRequestBytes} bytes (413 RequestTooLarge). An idempotent call gives producerId, producerEpoch ` +
      'and sequence together: producerId and producerEpoch as issued by POST /producers (others: 400 ' +
      'UnknownProducerId; an older epoch: 409 ProducerFenced), and a sequence for exactly the partitions the ' +
      'call writes to (a number only when it writes to one partition; otherwise 400 InvalidArgument).',
    properties: {
      records: {
        type: 'array',
        minItems: 1,
        maxItems: LIMITS.maxRecordsPerRequest,
        items: ref('ProduceRecord'),
      },
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
        description:
          'Characters are code points. The text must be well-formed: a lone (unpaired) UTF-16 surrogate is ' +
          'refused (400 InvalidArgument).',
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
  BatchRefs: {
    type: 'object',
    description:
      'The batches a fetch sends, by reference. GET each `url` with the header `Range: <range>` (it is ' +
      'signed) before `expiresAt`: the answer is `length` bytes, one stored batch with its own CRC32C ' +
      '(layout in lib/core/segment/batch.ts), whose records sit at `baseOffset` + their offset delta. The ' +
      'first batch may start below the offset asked for; a batch larger than `maxBytes` is named whole. ' +
      'An object that is gone (403 or 404 from the bucket) means the log moved: fetch again.',
    required: ['highWatermark', 'logStartOffset', 'nextOffset', 'expiresAt', 'batches'],
    properties: {
      highWatermark: nonNegativeInteger,
      logStartOffset: nonNegativeInteger,
      nextOffset: {
        ...nonNegativeInteger,
        description: 'Where to fetch next once every batch is read (past holes).',
      },
      expiresAt: { ...nonNegativeInteger, description: 'When the URLs stop working, in ms since the epoch.' },
      batches: {
        type: 'array',
        items: {
          type: 'object',
          required: ['baseOffset', 'appendTime', 'length', 'url', 'range'],
          properties: {
            baseOffset: nonNegativeInteger,
            appendTime: { ...nonNegativeInteger, description: 'LogAppendTime, ms since the epoch.' },
            length: { type: 'integer', minimum: 16, description: 'The batch in bytes.' },
            url: { type: 'string', format: 'uri', description: 'A presigned GET of the object holding it.' },
            range: { type: 'string', pattern: '^bytes=[0-9]+-[0-9]+$' },
          },
        },
      },
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
} as const;
