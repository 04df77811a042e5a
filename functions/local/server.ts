import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { handler as fetchHandler } from '../fetch.ts';
import { handler as groupsHandler } from '../groups.ts';
import { handler as produceHandler } from '../produce.ts';
import { type HandlerGroup, ROUTES, routeKey } from '../routes.ts';
import { handler as topicsHandler } from '../topics.ts';
import { localContext, toApiGatewayEvent } from './events.ts';
import { type SigV4Identity, verifySigV4 } from './sigv4-verify.ts';

type Handler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

const HANDLERS: Record<HandlerGroup, Handler> = {
  topics: topicsHandler,
  produce: produceHandler,
  fetch: fetchHandler,
  groups: groupsHandler,
};

/**
 * Who may call the local API. `none` accepts any request (the default). `sigv4` accepts only
 * requests signed, as API Gateway's IAM authorization requires on AWS, with this one identity's
 * credentials for `region` and service `execute-api` (see sigv4-verify.ts); anything else gets API
 * Gateway's 403 before the body reaches a handler.
 */
export type LocalAuth =
  | { readonly mode: 'none' }
  | { readonly mode: 'sigv4'; readonly identity: SigV4Identity; readonly region: string };

/** API Gateway refuses bodies over 10 MB before they reach Lambda. */
const GATEWAY_MAX_BODY = 10 * 1024 * 1024;

const compiled = ROUTES.map((route) => ({
  route,
  key: routeKey(route),
  names: [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string),
  pattern: new RegExp(`^${route.path.replace(/\{\w+\}/g, '([^/]+)')}$`),
}));

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body);
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > GATEWAY_MAX_BODY) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function serve(req: IncomingMessage, res: ServerResponse, auth: LocalAuth): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const method = req.method ?? 'GET';
  const matches = compiled.filter((c) => c.pattern.test(url.pathname));
  const match = matches.find((c) => c.route.method === method);
  if (match === undefined) {
    // A path served with other methods: 405 with Allow listing them (RFC 9110). OPTIONS and HEAD are
    // not served either, so they get the same answer.
    const code = matches.length > 0 ? 405 : 404;
    send(
      res,
      code,
      JSON.stringify({
        error: {
          code: code === 404 ? 'NotFound' : 'MethodNotAllowed',
          message: `no route ${method} ${url.pathname}`,
        },
      }),
      code === 405 ? { allow: [...new Set(matches.map((c) => c.route.method))].sort().join(', ') } : {},
    );
    return;
  }
  const body = await readBody(req);
  if (body === undefined) {
    send(
      res,
      413,
      JSON.stringify({
        error: { code: 'RequestTooLarge', message: 'the request body is larger than 10 MB' },
      }),
    );
    return;
  }
  if (auth.mode === 'sigv4') {
    // Routes first, then IAM, as API Gateway does; the signature covers the body, so it is read first.
    const verdict = await verifySigV4(
      { method, url: req.url ?? '/', headers: req.headers, body },
      { identity: auth.identity, region: auth.region },
    );
    if (!verdict.ok) {
      send(res, verdict.status, JSON.stringify({ message: verdict.message }), {
        'x-amzn-ErrorType': verdict.errorType,
        'x-amzn-RequestId': randomUUID(),
      });
      return;
    }
  }
  const values = match.pattern.exec(url.pathname)?.slice(1) ?? [];
  const pathParameters = Object.fromEntries(match.names.map((name, i) => [name, values[i] ?? '']));
  const event = toApiGatewayEvent({
    method,
    url,
    headers: req.headers,
    body,
    routeKey: match.key,
    pathParameters,
    sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
  });
  const result = await HANDLERS[match.route.group](event, localContext(`streambed-${match.route.group}`));
  const headers = Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k, String(v)]));
  const payload = result.isBase64Encoded ? Buffer.from(result.body ?? '', 'base64') : (result.body ?? '');
  res.writeHead(result.statusCode ?? 200, headers);
  res.end(payload);
}

/**
 * Serves the API's handlers over local HTTP, building the same events API Gateway would.
 *
 * @example
 * const { url, close } = await startLocalApi({ port: 8080 });
 * // Only requests SigV4-signed with these credentials, for us-east-1 and execute-api:
 * await startLocalApi({ auth: { mode: 'sigv4', identity: { accessKeyId, secretAccessKey }, region: 'us-east-1' } });
 */
export async function startLocalApi(
  options: { port?: number; host?: string /** @default { mode: 'none' } */; auth?: LocalAuth } = {},
): Promise<{
  url: string;
  server: Server;
  close(): Promise<void>;
}> {
  const auth = options.auth ?? { mode: 'none' };
  const server = createServer((req, res) => {
    serve(req, res, auth).catch((error: unknown) => {
      console.error('local API error', error);
      if (!res.headersSent)
        send(res, 500, JSON.stringify({ error: { code: 'InternalError', message: 'internal error' } }));
      else res.end();
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
