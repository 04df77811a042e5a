/**
 * Child process of the `sdk` suite: the HTTP API through the same handlers and local server as
 * `npm start` (like bench/support/http-server.ts), but with request-unit accounting on its SDK clients
 * (`ReturnConsumedCapacity` on every DynamoDB request, so the cost counts what DynamoDB Local answers)
 * and a log of every HTTP request it served: route, body bytes (API Gateway meters 512 KB steps) and
 * the time from the request's arrival to the last byte of its answer (a Lambda invocation's duration).
 *
 * Input: env STREAMBED_SDK_SERVER = JSON { endpoints, bucket, tables }.
 * IPC out: { type: 'ready', url }, { id, snapshot, served }, { id } after a reset.
 * IPC in: { type: 'snapshot' | 'reset', id }, { type: 'close' }.
 */
import type { TableNames } from '../../lib/adapters/dynamodb/tables.ts';
import type { ServiceEndpoints } from '../../lib/harness/services.ts';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';

/** Requests of one route group served since the last reset. */
export interface ServedRoute {
  readonly requests: number;
  readonly bodyBytes: number;
  /** Σ ceil(body / 512 KB), at least 1 per request: API Gateway HTTP API's metering. */
  readonly apiGatewayUnits: number;
  /** Σ of each request's duration rounded up to 1 ms, as Lambda bills it. */
  readonly billedMs: number;
  readonly durationsMs: number[];
  readonly statuses: Record<string, number>;
}

const input = JSON.parse(process.env.STREAMBED_SDK_SERVER ?? '{}') as {
  endpoints: ServiceEndpoints;
  bucket: string;
  tables: TableNames;
};
const { localClients } = await import('../../lib/adapters/clients.ts');
const { createStreambed } = await import('../../lib/adapters/aws.ts');
const { Instruments } = await import('../support/instrument.ts');
const { useEngine } = await import('../../functions/api/runtime.ts');
const { startLocalApi } = await import('../../functions/local/server.ts');
const { API_GATEWAY_METER_BYTES } = await import('../prices.ts');

const { s3, dynamodb } = localClients(input.endpoints);
const instruments = new Instruments().attach(s3, dynamodb, { capacity: true });
useEngine(createStreambed({ s3, dynamodb, bucket: input.bucket, tables: input.tables }));
const api = await startLocalApi({});

let served = new Map<string, ServedRoute>();

/** The function a request goes to (functions/routes.ts), coarsely: produce, fetch, or the rest. */
function routeOf(method: string, path: string): string {
  if (/^\/topics\/[^/]+\/records$/.test(path) && method === 'POST') return 'produce';
  if (/^\/topics\/[^/]+\/partitions\/[^/]+\/records$/.test(path) && method === 'GET') return 'fetch';
  return `${method} ${path.replace(/\/[^/]+/g, (segment, offset: number) => (offset === 0 ? segment : '/…'))}`;
}

api.server.on('request', (req, res) => {
  const t0 = performance.now();
  const method = req.method ?? 'GET';
  const route = routeOf(method, new URL(req.url ?? '/', 'http://localhost').pathname);
  // From the header, not the stream: the handler reads the body itself (fetch sends a length).
  const bytes = Number(req.headers['content-length'] ?? 0);
  res.on('finish', () => {
    const ms = performance.now() - t0;
    const before = served.get(route) ?? {
      requests: 0,
      bodyBytes: 0,
      apiGatewayUnits: 0,
      billedMs: 0,
      durationsMs: [],
      statuses: {},
    };
    const status = String(res.statusCode);
    before.durationsMs.push(ms);
    served.set(route, {
      requests: before.requests + 1,
      bodyBytes: before.bodyBytes + bytes,
      apiGatewayUnits: before.apiGatewayUnits + Math.max(1, Math.ceil(bytes / API_GATEWAY_METER_BYTES)),
      billedMs: before.billedMs + Math.ceil(ms),
      durationsMs: before.durationsMs,
      statuses: { ...before.statuses, [status]: (before.statuses[status] ?? 0) + 1 },
    });
  });
});

type Message = { type: 'snapshot' | 'reset' | 'close'; id?: number };
process.on('message', (message: Message) => {
  if (message.type === 'snapshot') {
    process.send?.({
      id: message.id,
      snapshot: instruments.snapshot(),
      served: Object.fromEntries(served),
    });
  } else if (message.type === 'reset') {
    instruments.reset();
    served = new Map();
    process.send?.({ id: message.id });
  } else if (message.type === 'close') {
    void api.close().finally(() => {
      s3.destroy();
      dynamodb.destroy();
      process.exit(0);
    });
  }
});
process.send?.({ type: 'ready', url: api.url });
