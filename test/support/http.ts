import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { openapi } from '../../functions/api/openapi.ts';
import { contractValidator } from '../../functions/api/schemas.ts';
import { serveLocalApi } from '../../functions/local/stack.ts';
import { endpointsFromEnv } from '../../lib/harness/services.ts';

export interface HttpReply {
  readonly status: number;
  readonly headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked against the OpenAPI schemas
  readonly body: any;
}

/** The local API on the harness's services, with its own bucket and tables. */
export async function localApi() {
  const endpoints = endpointsFromEnv();
  if (endpoints === undefined) throw new Error('run through npm run test:integration');
  const id = randomBytes(4).toString('hex');
  const tables = { log: `sb-${id}-log`, meta: `sb-${id}-meta` };
  const api = await serveLocalApi({ endpoints, bucket: `sb-http-${id}`, tables });
  return { ...api, tables, endpoints };
}

type Operation = {
  responses: Record<string, { content?: { 'application/json'?: { schema: { $ref?: string } } } }>;
};

/** Finds the OpenAPI operation for a concrete path ("/topics/x/records" → "/topics/{topic}/records"). */
function operationFor(method: string, path: string): Operation {
  const pathOnly = path.split('?')[0] ?? path;
  for (const [template, item] of Object.entries(openapi.paths)) {
    const pattern = new RegExp(`^${template.replace(/\{\w+\}/g, '[^/]+')}$`);
    if (!pattern.test(pathOnly)) continue;
    const operation = (item as Record<string, unknown>)[method.toLowerCase()];
    if (operation !== undefined) return operation as Operation;
  }
  throw new Error(`no OpenAPI operation for ${method} ${path}`);
}

/**
 * Sends a request and checks the reply against the OpenAPI document: the status must be declared
 * for the operation and the body must match its schema.
 */
export async function call(
  base: string,
  method: string,
  path: string,
  options: { json?: unknown; raw?: string | Buffer; contentType?: string | null } = {},
): Promise<HttpReply> {
  const headers: Record<string, string> = {};
  let body: string | Buffer | undefined;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] = 'application/json';
  }
  if (options.raw !== undefined) body = options.raw;
  if (options.contentType !== undefined && options.contentType !== null)
    headers['content-type'] = options.contentType;
  if (options.contentType === null) delete headers['content-type'];
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  const parsed = text === '' ? undefined : JSON.parse(text);
  const reply = { status: response.status, headers: response.headers, body: parsed };
  checkContract(method, path, reply);
  return reply;
}

export function checkContract(method: string, path: string, reply: HttpReply): void {
  const operation = operationFor(method, path);
  const declared = operation.responses[String(reply.status)];
  assert.ok(
    declared,
    `${method} ${path} answered ${reply.status}, which the OpenAPI document does not declare`,
  );
  const ref = declared.content?.['application/json']?.schema.$ref;
  if (ref === undefined) {
    assert.equal(reply.body, undefined, `${method} ${path} ${reply.status} declares no body`);
    return;
  }
  const validate = contractValidator().getSchema(ref);
  assert.ok(validate, `schema ${ref} exists`);
  assert.ok(
    validate(reply.body),
    `${method} ${path} ${reply.status} body does not match ${ref}: ${JSON.stringify(validate.errors)} in ${JSON.stringify(reply.body).slice(0, 500)}`,
  );
  if (reply.status >= 400) assert.equal(reply.headers.get('content-type'), 'application/json');
}
