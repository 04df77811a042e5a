/** Building blocks of the OpenAPI document (functions/api/openapi.ts and its parts). */

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

export const nonNegativeInteger = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;

export const LIMITS = {
  /** Largest request body accepted, in bytes (Lambda's synchronous payload limit is 6 MB). */
  maxRequestBytes: 5 * 1024 * 1024,
  /**
   * Largest binary body (a segment object): API Gateway hands it to Lambda base64-encoded, 4/3 its
   * size, inside the 6 MB payload.
   */
  maxBinaryRequestBytes: 4 * 1024 * 1024,
  maxRecordsPerRequest: 10_000,
  maxPartitionsPerCommit: 100,
  /**
   * Largest `maxBytes` for a fetch over HTTP (the engine's): batch references carry no record bytes,
   * so only they go this far; frames and JSON answers stop at their own limits below.
   */
  maxFetchBytes: 64 * 1024 * 1024,
  /**
   * A frame carries at most this many bytes of stored batches whatever `maxBytes` asks: 4 MiB is
   * 5.6 MB once API Gateway's base64 has it, under Lambda's 6 MB response.
   */
  maxFrameFetchBytes: 4 * 1024 * 1024,
  /**
   * A JSON answer carries at most this much record payload whatever `maxBytes` asks (fewer bytes than
   * asked is always a valid answer): base64 values and JSON take more room than a frame's bytes.
   */
  maxJsonFetchBytes: 3 * 1024 * 1024,
  maxFetchRecords: 10_000,
} as const;

export const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: ref('Error') } },
});

export const throttled = {
  description:
    'AWS throttled the request or the partition is catching up; retry after `Retry-After` seconds.',
  headers: { 'Retry-After': { schema: { type: 'string' } } },
  content: { 'application/json': { schema: ref('Error') } },
};

export const commonErrors = {
  '400': errorResponse('The request is malformed; the message names the field.'),
  '500': errorResponse('An internal error (no internals are disclosed).'),
  '503': throttled,
};

/** Errors of every route that takes a JSON body. */
export const bodyErrors = {
  '413': errorResponse('The request body is too large (RequestTooLarge), or a record is (RecordTooLarge).'),
  '415': errorResponse('The body is not application/json.'),
};

export const jsonBody = (schema: string) => ({
  required: true,
  content: { 'application/json': { schema: ref(schema) } },
});

export const json = (schema: unknown, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

export const topicParam = {
  name: 'topic',
  in: 'path',
  required: true,
  schema: ref('TopicName'),
};
export const partitionParam = {
  name: 'partition',
  in: 'path',
  required: true,
  schema: { type: 'integer', minimum: 0, maximum: 999 },
  description:
    'Partition number, in decimal without leading zeros. One the topic does not have answers 404 UnknownPartition.',
};

/**
 * A query or path parameter that is a decimal integer in [minimum, maximum]: the handlers accept exactly
 * the canonical decimal form (no sign, no leading zeros, no fraction), as a generated client writes it.
 */
export const integerParam = (minimum: number, maximum: number) =>
  ({ type: 'integer', minimum, maximum }) as const;
