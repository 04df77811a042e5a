import { UnsupportedKafkaVersionError } from '../errors.ts';
import { decodeMessage, readMessage, writeMessage } from './codec.ts';
import { KafkaReader, KafkaWriter } from './primitives.ts';
import {
  inRange,
  type KafkaStruct,
  type MessageSchema,
  REQUEST_HEADER,
  REQUESTS,
  RESPONSE_HEADER,
  RESPONSES,
} from './schema.ts';

/*
 * A request on the wire (after the connection's int32 size prefix, see framing.ts) is a request
 * header, then the body; a response is a response header, then the body.
 *
 *   request header v1 (non-flexible API versions)    request header v2 (flexible API versions)
 *     int16  requestApiKey                             int16  requestApiKey
 *     int16  requestApiVersion                         int16  requestApiVersion
 *     int32  correlationId                             int32  correlationId
 *     string clientId  (nullable, int16 length)        string clientId  (still int16 length, never compact)
 *                                                      tagged fields (uvarint count, ...)
 *
 *   response header v0                               response header v1 (flexible API versions)
 *     int32  correlationId                             int32  correlationId
 *                                                      tagged fields
 *
 * ApiVersions responses always use response header v0, so that a client that asked with a version
 * the server does not know can still read the answer. (Request header v0, without clientId, is
 * only for ControlledShutdown v0, which is not supported here.)
 */

/** The API keys of the vendored APIs, by name. */
export const ApiKey = {
  Produce: 0,
  Fetch: 1,
  ListOffsets: 2,
  Metadata: 3,
  OffsetCommit: 8,
  OffsetFetch: 9,
  FindCoordinator: 10,
  JoinGroup: 11,
  Heartbeat: 12,
  LeaveGroup: 13,
  SyncGroup: 14,
  DescribeGroups: 15,
  ListGroups: 16,
  SaslHandshake: 17,
  ApiVersions: 18,
  CreateTopics: 19,
  DeleteTopics: 20,
  DeleteRecords: 21,
  InitProducerId: 22,
  DescribeConfigs: 32,
  SaslAuthenticate: 36,
  CreatePartitions: 37,
} as const;

/** What an ApiVersions response advertises for one API. */
export interface ApiVersionRange {
  readonly apiKey: number;
  /** e.g. `Metadata`. */
  readonly name: string;
  readonly minVersion: number;
  /** The highest stable version both the request and the response definitions have. */
  readonly maxVersion: number;
  /**
   * The first version that uses flexible encodings (and request header v2 / response header v1);
   * Infinity for an API with none (SaslHandshake).
   */
  readonly firstFlexibleVersion: number;
}

/**
 * Every API this codec can encode and decode, ordered by API key, with the version ranges it
 * covers (the vendored definitions' `validVersions`, less an upstream-unstable newest version).
 *
 * @example SUPPORTED_APIS.find((a) => a.apiKey === ApiKey.Metadata) // { name: 'Metadata', minVersion: 0, maxVersion: 12, ... }
 */
export const SUPPORTED_APIS: readonly ApiVersionRange[] = [...REQUESTS.values()]
  .map((request): ApiVersionRange => {
    const apiKey = request.apiKey as number;
    const response = RESPONSES.get(apiKey);
    if (response === undefined) throw new Error(`${request.name} has no vendored response`);
    const top = (m: MessageSchema) => m.validVersions.max - (m.latestVersionUnstable ? 1 : 0);
    return {
      apiKey,
      name: request.name.replace(/Request$/, ''),
      minVersion: Math.max(request.validVersions.min, response.validVersions.min),
      maxVersion: Math.min(top(request), top(response)),
      firstFlexibleVersion:
        request.flexibleVersions.max < request.flexibleVersions.min
          ? Number.POSITIVE_INFINITY
          : request.flexibleVersions.min,
    };
  })
  .sort((a, b) => a.apiKey - b.apiKey);

const SUPPORTED = new Map(SUPPORTED_APIS.map((a) => [a.apiKey, a]));

function schemaFor(
  kind: 'request' | 'response',
  apiKey: number,
  version: number,
  correlationId?: number,
): MessageSchema {
  const api = SUPPORTED.get(apiKey);
  const schema = (kind === 'request' ? REQUESTS : RESPONSES).get(apiKey);
  if (api === undefined || schema === undefined) {
    throw new UnsupportedKafkaVersionError(
      apiKey,
      version,
      `API key ${apiKey} is not supported`,
      correlationId,
    );
  }
  if (!Number.isInteger(version) || version < api.minVersion || version > api.maxVersion) {
    throw new UnsupportedKafkaVersionError(
      apiKey,
      version,
      `${api.name} supports versions ${api.minVersion}-${api.maxVersion}, not ${version}`,
      correlationId,
    );
  }
  return schema;
}

/**
 * Encodes a request body (no header) of API `apiKey` at `version`. Property names are the
 * definition's field names with the first letter lower-cased; absent properties take the field's
 * default; int64 fields take a bigint or a safe-integer number.
 *
 * @example encodeRequestBody(ApiKey.Metadata, 12, { topics: [{ topicId: ZERO_UUID, name: 'orders' }] })
 */
export function encodeRequestBody(apiKey: number, version: number, body: object): Uint8Array {
  const w = new KafkaWriter();
  writeMessage(w, schemaFor('request', apiKey, version), version, body);
  return w.finish();
}

/**
 * Decodes a request body (no header) of API `apiKey` at `version`; every field of the definition is
 * present in the result (defaults where the version lacks it), int64s as bigint.
 *
 * @example decodeRequestBody(ApiKey.ApiVersions, 3, bytes) // { clientSoftwareName: 'kcat', clientSoftwareVersion: '1.7.1' }
 */
export function decodeRequestBody(apiKey: number, version: number, bytes: Uint8Array): KafkaStruct {
  return decodeMessage(schemaFor('request', apiKey, version), version, bytes);
}

/**
 * Encodes a response body (no header) of API `apiKey` at `version`, by the same rules as
 * {@link encodeRequestBody}.
 *
 * @example encodeResponseBody(ApiKey.Heartbeat, 4, { throttleTimeMs: 0, errorCode: 0 })
 */
export function encodeResponseBody(apiKey: number, version: number, body: object): Uint8Array {
  const w = new KafkaWriter();
  writeMessage(w, schemaFor('response', apiKey, version), version, body);
  return w.finish();
}

/**
 * Decodes a response body (no header) of API `apiKey` at `version`.
 *
 * @example decodeResponseBody(ApiKey.Heartbeat, 4, Uint8Array.of(0, 0, 0, 0, 0, 0, 0)) // { throttleTimeMs: 0, errorCode: 0 }
 */
export function decodeResponseBody(apiKey: number, version: number, bytes: Uint8Array): KafkaStruct {
  return decodeMessage(schemaFor('response', apiKey, version), version, bytes);
}

/** A request header, whichever version it was sent in. */
export interface RequestHeader {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
}

/**
 * The request header version for an API version: 2 when that version is flexible, else 1.
 *
 * @example requestHeaderVersion(ApiKey.Metadata, 12) // 2
 */
export function requestHeaderVersion(apiKey: number, apiVersion: number): 1 | 2 {
  const schema = schemaFor('request', apiKey, apiVersion);
  return inRange(schema.flexibleVersions, apiVersion) ? 2 : 1;
}

/**
 * The response header version for an API version: 1 when that version is flexible, else 0; always
 * 0 for ApiVersions.
 *
 * @example responseHeaderVersion(ApiKey.ApiVersions, 3) // 0
 */
export function responseHeaderVersion(apiKey: number, apiVersion: number): 0 | 1 {
  if (apiKey === ApiKey.ApiVersions) return 0;
  const schema = schemaFor('response', apiKey, apiVersion);
  return inRange(schema.flexibleVersions, apiVersion) ? 1 : 0;
}

/**
 * Encodes a whole request, header and body (without the connection's size prefix).
 *
 * @example encodeRequest({ apiKey: ApiKey.ApiVersions, apiVersion: 3, correlationId: 1, clientId: 'cli' }, {})
 */
export function encodeRequest(header: RequestHeader, body: object): Uint8Array {
  const w = new KafkaWriter();
  const headerVersion = requestHeaderVersion(header.apiKey, header.apiVersion);
  writeMessage(w, REQUEST_HEADER, headerVersion, {
    requestApiKey: header.apiKey,
    requestApiVersion: header.apiVersion,
    correlationId: header.correlationId,
    clientId: header.clientId,
  });
  writeMessage(w, schemaFor('request', header.apiKey, header.apiVersion), header.apiVersion, body);
  return w.finish();
}

/** A request header and where the body starts. */
export interface DecodedRequestHeader {
  readonly header: RequestHeader;
  readonly headerVersion: 1 | 2;
  /** Offset of the body in the bytes given. */
  readonly bodyOffset: number;
}

/**
 * Decodes a request's header. An API key or version this codec does not support throws
 * {@link UnsupportedKafkaVersionError} carrying the header's apiKey, apiVersion and correlationId,
 * so that the server can still answer (for ApiVersions, with a v0 response listing what it supports).
 *
 * @example decodeRequestHeader(bytes).header // { apiKey: 3, apiVersion: 12, correlationId: 7, clientId: 'rdkafka' }
 */
export function decodeRequestHeader(bytes: Uint8Array): DecodedRequestHeader {
  const peek = new KafkaReader(bytes);
  const apiKey = peek.int16('request header requestApiKey');
  const apiVersion = peek.int16('request header requestApiVersion');
  const correlationId = peek.int32('request header correlationId');
  schemaFor('request', apiKey, apiVersion, correlationId);
  const headerVersion = requestHeaderVersion(apiKey, apiVersion);
  const r = new KafkaReader(bytes);
  const raw = readMessage(r, REQUEST_HEADER, headerVersion);
  return {
    header: { apiKey, apiVersion, correlationId, clientId: raw.clientId as string | null },
    headerVersion,
    bodyOffset: r.pos,
  };
}

/** A decoded request: its header and body. */
export interface DecodedRequest {
  readonly header: RequestHeader;
  readonly headerVersion: 1 | 2;
  readonly body: KafkaStruct;
}

/**
 * Decodes a whole request (without the connection's size prefix): header, then body.
 *
 * @example
 * const { header, body } = decodeRequest(frame);
 * if (header.apiKey === ApiKey.Metadata) body.topics; // [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'orders' }]
 */
export function decodeRequest(bytes: Uint8Array): DecodedRequest {
  const { header, headerVersion, bodyOffset } = decodeRequestHeader(bytes);
  const body = decodeMessage(
    schemaFor('request', header.apiKey, header.apiVersion),
    header.apiVersion,
    bytes.subarray(bodyOffset),
  );
  return { header, headerVersion, body };
}

/**
 * Encodes a whole response, header and body (without the connection's size prefix).
 *
 * @example encodeResponse(ApiKey.Heartbeat, 4, 7, { throttleTimeMs: 0, errorCode: 0 })
 */
export function encodeResponse(
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  body: object,
): Uint8Array {
  const w = new KafkaWriter();
  writeMessage(w, RESPONSE_HEADER, responseHeaderVersion(apiKey, apiVersion), { correlationId });
  writeMessage(w, schemaFor('response', apiKey, apiVersion), apiVersion, body);
  return w.finish();
}

/**
 * Decodes a whole response to a request of `apiKey` at `apiVersion` (a response does not say which
 * API it answers: the client matches it by correlation id).
 *
 * @example decodeResponse(ApiKey.Heartbeat, 4, bytes) // { correlationId: 7, body: { throttleTimeMs: 0, errorCode: 0 } }
 */
export function decodeResponse(
  apiKey: number,
  apiVersion: number,
  bytes: Uint8Array,
): { correlationId: number; body: KafkaStruct } {
  const r = new KafkaReader(bytes);
  const header = readMessage(r, RESPONSE_HEADER, responseHeaderVersion(apiKey, apiVersion));
  const body = decodeMessage(schemaFor('response', apiKey, apiVersion), apiVersion, bytes.subarray(r.pos));
  return { correlationId: header.correlationId as number, body };
}
