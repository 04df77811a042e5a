import { UnsupportedKafkaVersionError } from '../errors.ts';
import {
  ApiKey,
  decodeRequestBody,
  decodeRequestHeader,
  encodeResponse,
  SUPPORTED_APIS,
} from '../protocol/api.ts';
import { inRange, RESPONSES } from '../protocol/schema.ts';
import type { HandlerContext, KafkaApiHandler, ServedVersions } from './context.ts';
import { KafkaError, toKafkaError } from './error-codes.ts';
import { fitToVersion } from './fit.ts';

/*
 * One request in, at most one response out. What a broker does with requests it cannot serve
 * (apache/kafka SocketServer / RequestContext): an ApiVersions request of a version it does not know
 * is answered with an ApiVersions v0 response carrying UNSUPPORTED_VERSION and the supported list, so
 * the client can pick a version; any other API key or version that is not enabled, or a body that
 * does not parse, makes the broker close the connection. Here the connection is closed only when the
 * response has no top-level error code to carry the failure: an unserved API or version whose
 * response has one (JoinGroup, Heartbeat, InitProducerId, ...) is answered with UNSUPPORTED_VERSION,
 * and a malformed body with INVALID_REQUEST. Clients never send unlisted APIs anyway: they read
 * ApiVersions first.
 */

/** What to do with a request: send these bytes, send nothing, or close the connection. */
export type Outcome =
  /** `close`: close the connection once these bytes are sent (a failed authentication). */
  | { readonly kind: 'respond'; readonly bytes: Uint8Array; readonly close?: string }
  | { readonly kind: 'silent' }
  | { readonly kind: 'close'; readonly reason: string };

/**
 * The version ranges served: each handler's, within what the codec supports.
 *
 * @example servedVersions(ALL_APIS).find((a) => a.apiKey === 18) // { apiKey: 18, minVersion: 0, maxVersion: 4 }
 */
export function servedVersions(handlers: readonly KafkaApiHandler[]): ServedVersions[] {
  const out: ServedVersions[] = [];
  for (const handler of handlers) {
    const codec = SUPPORTED_APIS.find((a) => a.apiKey === handler.apiKey);
    if (codec === undefined) continue;
    const minVersion = Math.max(codec.minVersion, handler.minVersion);
    const maxVersion = Math.min(codec.maxVersion, handler.maxVersion);
    if (minVersion <= maxVersion) out.push({ apiKey: handler.apiKey, minVersion, maxVersion });
  }
  return out.sort((a, b) => a.apiKey - b.apiKey);
}

/** A response of only a top-level error, when the API's response at that version has room for one. */
export function errorOnlyResponse(
  apiKey: number,
  version: number,
  correlationId: number,
  errorCode: number,
  errorMessage: string,
): Uint8Array | undefined {
  const schema = RESPONSES.get(apiKey);
  const codec = SUPPORTED_APIS.find((a) => a.apiKey === apiKey);
  if (schema === undefined || codec === undefined) return undefined;
  if (version < codec.minVersion || version > codec.maxVersion) return undefined;
  const has = (name: string) =>
    schema.struct.fields.some((f) => f.name === name && inRange(f.versions, version) && f.tag === undefined);
  if (!has('errorCode')) return undefined;
  return encodeResponse(apiKey, version, correlationId, {
    errorCode,
    ...(has('errorMessage') ? { errorMessage } : {}),
  });
}

/** Request context less the header, which {@link dispatch} fills in. */
export type ConnectionContext = Omit<HandlerContext, 'header'>;

/**
 * Answers one request (a frame without its size prefix). Never throws.
 *
 * @example
 * const outcome = await dispatch(frame, handlers, ctx);
 * if (outcome.kind === 'respond') socket.write(sizePrefixed(outcome.bytes));
 */
export async function dispatch(
  message: Uint8Array,
  handlers: ReadonlyMap<number, KafkaApiHandler>,
  ctx: ConnectionContext,
): Promise<Outcome> {
  const sasl = ctx.sasl;
  if (sasl?.rawTokenNext === true) {
    // After SaslHandshake v0 the token is a bare frame, answered by a bare frame (empty: success).
    const result = await sasl.authenticate(message, ctx.clock.now(), ctx.signal);
    return result.ok
      ? { kind: 'respond', bytes: new Uint8Array() }
      : { kind: 'close', reason: result.message };
  }
  let decoded: ReturnType<typeof decodeRequestHeader>;
  try {
    decoded = decodeRequestHeader(message);
  } catch (error) {
    if (error instanceof UnsupportedKafkaVersionError && error.correlationId !== undefined) {
      if (error.apiKey === ApiKey.ApiVersions) return apiVersionsV0(error.correlationId, ctx);
      return { kind: 'close', reason: error.message };
    }
    return { kind: 'close', reason: error instanceof Error ? error.message : String(error) };
  }
  const { header, bodyOffset } = decoded;
  const { apiKey, apiVersion, correlationId } = header;
  // Authentication required: before it, only ApiVersions and the SASL steps; Kafka closes the
  // connection on anything else (SaslServerAuthenticator), and on any request but SaslHandshake once
  // the session expired (SocketServer, KIP-368).
  const refused = sasl?.gate(apiKey, ctx.clock.now());
  if (refused !== undefined) return { kind: 'close', reason: refused };
  const handler = handlers.get(apiKey);
  const served = ctx.apis.find((a) => a.apiKey === apiKey);
  if (
    handler === undefined ||
    served === undefined ||
    apiVersion < served.minVersion ||
    apiVersion > served.maxVersion
  ) {
    if (apiKey === ApiKey.ApiVersions) return apiVersionsV0(correlationId, ctx);
    const message =
      served === undefined
        ? `API key ${apiKey} is not served by Streambed`
        : `API key ${apiKey} is served at versions ${served.minVersion}-${served.maxVersion}, not ${apiVersion}`;
    return fail(apiKey, apiVersion, correlationId, KafkaError.UNSUPPORTED_VERSION, message);
  }
  let body: ReturnType<typeof decodeRequestBody>;
  try {
    body = decodeRequestBody(apiKey, apiVersion, message.subarray(bodyOffset));
  } catch (error) {
    const { errorCode, errorMessage } = toKafkaError(error);
    return fail(apiKey, apiVersion, correlationId, errorCode, errorMessage);
  }
  try {
    const response = await handler.handle(body, apiVersion, { ...ctx, header });
    if (response === null) return { kind: 'silent' };
    const schema = RESPONSES.get(apiKey);
    const fitted = schema === undefined ? response : fitToVersion(schema.struct, apiVersion, response);
    const bytes = encodeResponse(apiKey, apiVersion, correlationId, fitted);
    return sasl?.state === 'failed'
      ? { kind: 'respond', bytes, close: sasl.closeReason ?? 'authentication failed' }
      : { kind: 'respond', bytes };
  } catch (error) {
    const { errorCode, errorMessage } = toKafkaError(error);
    return fail(apiKey, apiVersion, correlationId, errorCode, errorMessage);
  }
}

function fail(
  apiKey: number,
  version: number,
  correlationId: number,
  code: number,
  message: string,
): Outcome {
  const bytes = errorOnlyResponse(apiKey, version, correlationId, code, message);
  return bytes === undefined
    ? { kind: 'close', reason: `API key ${apiKey} v${version}: error ${code}: ${message}` }
    : { kind: 'respond', bytes };
}

function apiVersionsV0(correlationId: number, ctx: ConnectionContext): Outcome {
  return {
    kind: 'respond',
    bytes: encodeResponse(ApiKey.ApiVersions, 0, correlationId, {
      errorCode: KafkaError.UNSUPPORTED_VERSION,
      apiKeys: ctx.apis,
    }),
  };
}
