import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import middy, { type MiddlewareObj } from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { Context } from 'aws-lambda';
import { InvalidArgumentError, RequestTooLargeError } from '../../lib/core/errors.ts';
import { SEGMENT_TYPE } from '../../lib/core/wire/produce-headers.ts';
import type { Streambed } from '../../lib/engine/streambed.ts';
import { type ApiEvent, type ApiResult, errorResult, HttpError, json, unsupportedMediaType } from './http.ts';
import { LIMITS } from './openapi.ts';
import { engineFromEnv } from './runtime.ts';

export const logger = new Logger({ serviceName: 'streambed' });
export const metrics = new Metrics({ namespace: 'Streambed', serviceName: 'streambed' });
export { MetricUnit };

/** What a route gets: the parsed body (for POST/PUT), the event, and the engine. */
export interface RouteInput {
  readonly event: ApiEvent;
  readonly body: unknown;
  /** A binary body (only produce takes one: a segment object), when the request sent one. */
  readonly binary?: Uint8Array;
  readonly engine: Streambed;
}

/** Routes that take a binary body besides JSON, and its content type. */
const BINARY_ROUTES: Readonly<Record<string, string>> = { 'POST /topics/{topic}/records': SEGMENT_TYPE };

export type Route = (input: RouteInput) => Promise<ApiResult>;

type ApiRequest = {
  event: ApiEvent & { parsedBody?: unknown; binaryBody?: Uint8Array };
  response?: ApiResult | null;
  error?: unknown;
};

/** Checks the content type and size, and parses the JSON body of POST and PUT requests. */
const jsonBody = (): MiddlewareObj<ApiEvent, ApiResult> => ({
  before: (request) => {
    const event = request.event as ApiRequest['event'];
    const method = event.requestContext.http.method;
    if (method !== 'POST' && method !== 'PUT') return;
    const contentType = event.headers['content-type'];
    const binaryType = BINARY_ROUTES[event.routeKey];
    if (binaryType !== undefined && contentType?.split(';')[0]?.trim().toLowerCase() === binaryType) {
      event.binaryBody = binaryBody(event);
      return;
    }
    if (contentType === undefined || !/^application\/json\s*(;|$)/i.test(contentType)) {
      throw unsupportedMediaType(contentType, binaryType);
    }
    const raw =
      event.body === undefined
        ? ''
        : event.isBase64Encoded
          ? Buffer.from(event.body, 'base64').toString('utf8')
          : event.body;
    if (Buffer.byteLength(raw) > LIMITS.maxRequestBytes) {
      throw new RequestTooLargeError(`the request body is larger than ${LIMITS.maxRequestBytes} bytes`);
    }
    if (raw.trim() === '') throw new InvalidArgumentError('body is required');
    try {
      event.parsedBody = JSON.parse(raw);
    } catch (error) {
      throw new InvalidArgumentError(`body is not valid JSON: ${(error as Error).message}`);
    }
  },
});

/** The bytes of a binary body (API Gateway base64-encodes them), within the binary size limit. */
function binaryBody(event: ApiEvent): Uint8Array {
  const body = event.body ?? '';
  const bytes = event.isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'latin1');
  if (bytes.length > LIMITS.maxBinaryRequestBytes) {
    throw new RequestTooLargeError(
      `a binary body may be at most ${LIMITS.maxBinaryRequestBytes} bytes (API Gateway passes it to Lambda base64-encoded), got ${bytes.length}`,
    );
  }
  if (bytes.length === 0) throw new InvalidArgumentError('body is required');
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

/**
 * Publishes the request's metrics when it stored any. Powertools' `logMetrics` warns on every publish
 * with none: a Lambda instance serves one request at a time and each stores at least one, but
 * `npm start` serves requests side by side on this one module's `metrics`, where one request's publish
 * takes the others' metrics with it and theirs would each print a warning.
 */
const publishMetrics = (): MiddlewareObj<ApiEvent, ApiResult> => {
  const publish = () => {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  };
  return { after: publish, onError: publish };
};

/** Turns any error into the `{"error":{"code","message"}}` contract. */
const errorContract = (): MiddlewareObj<ApiEvent, ApiResult> => ({
  onError: (request) => {
    const { result, internal } = errorResult(request.error);
    if (internal) logger.error('request failed', { error: request.error as Error });
    else logger.info('request rejected', { status: result.statusCode, body: result.body });
    metrics.addMetric(`Http${result.statusCode ?? 500}`, MetricUnit.Count, 1);
    request.response = result;
  },
});

/**
 * A middy HTTP API handler for one group of routes, keyed by API Gateway's `routeKey`
 * ("POST /topics/{topic}/records").
 *
 * @example
 * export const handler = httpApi({ 'GET /topics': async ({ engine }) => json(200, await engine.listTopics()) });
 */
export function httpApi(routes: Readonly<Record<string, Route>>) {
  return middy<ApiEvent, ApiResult, Error, Context>()
    .use(injectLambdaContext(logger))
    .use(publishMetrics())
    .use(httpHeaderNormalizer())
    .use(errorContract())
    .use(jsonBody())
    .handler(async (event) => {
      metrics.addMetric('ApiRequests', MetricUnit.Count, 1);
      const route = routes[event.routeKey];
      if (route === undefined) throw new HttpError(404, 'NotFound', `no route ${event.routeKey}`);
      const { parsedBody, binaryBody } = event as ApiRequest['event'];
      return await route({
        event,
        body: parsedBody,
        ...(binaryBody === undefined ? {} : { binary: binaryBody }),
        engine: engineFromEnv(),
      });
    });
}

export { json };

/** A path or query parameter that must be a non-negative integer; the message names it. */
export function intParam(value: string | undefined, name: string, options: { max?: number } = {}): number {
  if (value === undefined || !/^(0|[1-9][0-9]*)$/.test(value)) {
    throw new InvalidArgumentError(
      `${name} must be a non-negative integer, got ${value === undefined ? 'nothing' : `'${value}'`}`,
    );
  }
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || (options.max !== undefined && parsed > options.max)) {
    throw new InvalidArgumentError(
      `${name} must be at most ${options.max ?? Number.MAX_SAFE_INTEGER}, got ${value}`,
    );
  }
  return parsed;
}

export function pathParam(event: ApiEvent, name: string): string {
  const value = event.pathParameters?.[name];
  if (value === undefined) throw new InvalidArgumentError(`path parameter ${name} is missing`);
  return decodeURIComponent(value);
}
