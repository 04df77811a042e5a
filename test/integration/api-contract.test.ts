import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { openapi } from '../../functions/api/openapi.ts';
import { contractValidator } from '../../functions/api/schemas.ts';
import { call, localApi } from '../support/http.ts';

/**
 * The server enforces what docs/openapi.json states, at the edges where the two once disagreed
 * (scripts/api-contract.sh runs schemathesis over the whole document against `npm start`; these are the
 * rules it found, checked without Python): each limit the document gives is the one the server applies,
 * a rule JSON Schema cannot state is in the description and is what the server does, and a path answers
 * a method it does not serve with 405 and an `Allow` header.
 */

type PathItem = Record<string, { parameters?: { name: string; in: string; schema: object }[] }>;
const paths = openapi.paths as unknown as Record<string, PathItem>;
const HTTP_METHODS = ['GET', 'POST', 'PUT', 'DELETE'];
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** Any method, TRACE included (fetch refuses to send it), without a body. */
function raw(base: string, method: string, path: string) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (resolve, reject) => {
      const req = request(`${base}${path}`, { method }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    },
  );
}

/** Whether the document accepts a value of a named schema (a request body) or of an operation's query parameter. */
function documentAccepts(target: string, value: unknown): boolean {
  const ajv = contractValidator();
  const [method, template, parameter] = target.split(' ');
  if (parameter === undefined) {
    const validate = ajv.getSchema(`#/components/schemas/${target}`);
    assert.ok(validate, target);
    return validate(value) as boolean;
  }
  const operation = paths[template as string]?.[(method as string).toLowerCase()];
  const declared = operation?.parameters?.find((p) => p.name === parameter && p.in === 'query');
  assert.ok(declared, `${target} is declared`);
  // A query parameter is text on the wire; an integer's only spelling is canonical decimal.
  const typed = typeof value === 'string' && /^-?(0|[1-9][0-9]*)$/.test(value) ? Number(value) : value;
  return ajv.validate(declared.schema, typed) as boolean;
}

describe('the HTTP API enforces what its OpenAPI document says', () => {
  let api: Awaited<ReturnType<typeof localApi>>;
  before(async () => {
    api = await localApi();
    await call(api.url, 'POST', '/topics', { json: { name: 't', partitions: 2 } });
    await call(api.url, 'POST', '/topics/t/records', {
      json: { records: [{ value: 'first', partition: 0 }] },
    });
  });
  after(async () => await api.close());

  test('a method a path does not serve is 405 with Allow listing exactly the documented methods', async () => {
    const sample: Record<string, string> = { topic: 't', partition: '0', group: 'g', member: 'm' };
    for (const [template, item] of Object.entries(paths)) {
      const path = template.replace(/\{(\w+)\}/g, (_, name: string) => sample[name] ?? name);
      const served = HTTP_METHODS.filter((method) => method.toLowerCase() in item);
      assert.ok(served.length > 0, template);
      for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE']) {
        if (served.includes(method)) continue;
        const reply = await raw(api.url, method, path);
        assert.equal(reply.status, 405, `${method} ${path}`);
        assert.equal(reply.headers.allow, [...served].sort().join(', '), `${method} ${path}`);
        if (method === 'HEAD') continue;
        assert.equal(reply.headers['content-type'], 'application/json');
        assert.equal(JSON.parse(reply.body).error.code, 'MethodNotAllowed');
      }
    }
    const nowhere = await raw(api.url, 'GET', '/nowhere');
    assert.equal(nowhere.status, 404);
    assert.equal(nowhere.headers.allow, undefined);
  });

  // Each: what is sent, which schema or query parameter the document checks it with, and whether the
  // server refuses it (400 or 413, as the document declares for malformed requests).
  const boundaries: {
    name: string;
    method: string;
    path: string;
    json?: unknown;
    target: string;
    value: unknown;
    refused: boolean;
  }[] = [];
  const FETCH = '/topics/{topic}/partitions/{partition}/records';
  const OFFSETS = '/topics/{topic}/partitions/{partition}/offsets';
  /** A query parameter of `verb template` (sent to `path`, which may carry others) set to `value`. */
  const query = (
    name: string,
    verb: string,
    template: string,
    path: string,
    parameter: string,
    value: string,
    refused: boolean,
  ) =>
    boundaries.push({
      name,
      method: verb,
      path: `${path}${path.includes('?') ? '&' : '?'}${parameter}=${value}`,
      target: `${verb} ${template} ${parameter}`,
      value,
      refused,
    });
  const fetchPath = '/topics/t/partitions/0/records';
  query('maxRecords at its limit', 'GET', FETCH, `${fetchPath}?offset=0`, 'maxRecords', '10000', false);
  query('maxRecords above its limit', 'GET', FETCH, `${fetchPath}?offset=0`, 'maxRecords', '10001', true);
  query('maxBytes at its limit', 'GET', FETCH, `${fetchPath}?offset=0`, 'maxBytes', '67108864', false);
  query('maxBytes above its limit', 'GET', FETCH, `${fetchPath}?offset=0`, 'maxBytes', '67108865', true);
  query('offset 2^53 − 1', 'GET', FETCH, fetchPath, 'offset', String(MAX_SAFE), false);
  query('offset 2^53', 'GET', FETCH, fetchPath, 'offset', '9007199254740992', true);
  query('offset with a leading zero', 'GET', FETCH, fetchPath, 'offset', '01', true);
  query('at 2^53 − 1', 'GET', OFFSETS, '/topics/t/partitions/0/offsets', 'at', String(MAX_SAFE), false);
  query('at 2^53', 'GET', OFFSETS, '/topics/t/partitions/0/offsets', 'at', '9007199254740992', true);
  query(
    'before 2^53 − 1 (above the high watermark: 416)',
    'DELETE',
    FETCH,
    fetchPath,
    'before',
    String(MAX_SAFE),
    false,
  );
  query('before 2^53', 'DELETE', FETCH, fetchPath, 'before', '9007199254740992', true);
  query('before -2', 'DELETE', FETCH, fetchPath, 'before', '-2', true);
  const produce = (name: string, body: unknown, refused: boolean) =>
    boundaries.push({
      name,
      method: 'POST',
      path: '/topics/t/records',
      json: body,
      target: 'ProduceRequest',
      value: body,
      refused,
    });
  produce('a record with neither value nor valueBase64', { records: [{ key: 'k' }] }, true);
  produce('a record with value null (a tombstone)', { records: [{ key: 'k', value: null }] }, false);
  produce('valueBase64 of 3 characters', { records: [{ valueBase64: '5==' }] }, true);
  produce('valueBase64 padded', { records: [{ valueBase64: 'AAE=' }] }, false);
  produce('10001 records', { records: Array.from({ length: 10_001 }, () => ({ value: 1 })) }, true);
  const commit = (name: string, offsets: unknown[], refused: boolean) =>
    boundaries.push({
      name,
      method: 'PUT',
      path: '/groups/g/offsets',
      json: { topic: 't', offsets },
      target: 'CommitOffsetsRequest',
      value: { topic: 't', offsets },
      refused,
    });
  commit(
    '101 partitions in a commit',
    Array.from({ length: 101 }, (_, partition) => ({ partition, offset: 0 })),
    true,
  );
  commit('a commit', [{ partition: 1, offset: 0, metadata: 'x' }], false);

  for (const c of boundaries) {
    test(`${c.name}: the document ${c.refused ? 'refuses' : 'accepts'} it and so does the server`, async () => {
      assert.equal(documentAccepts(c.target, c.value), !c.refused, 'the document');
      const reply = await call(api.url, c.method, c.path, c.json === undefined ? {} : { json: c.json });
      if (c.refused)
        assert.ok([400, 413].includes(reply.status), `${reply.status} ${JSON.stringify(reply.body)}`);
      else
        assert.ok(
          reply.status < 400 || reply.status === 416,
          `${reply.status} ${JSON.stringify(reply.body)}`,
        );
    });
  }

  test('a partition listed twice in a commit: the document says it is refused, and it is (400)', async () => {
    const twice = [
      { partition: 0, offset: 1 },
      { partition: 0, offset: 2 },
    ];
    const schemas = openapi.components.schemas;
    for (const [schema, path, offsets] of [
      ['CommitOffsetsRequest', '/groups/g/offsets', twice],
      // With lease counters, a member's commit gets to the rule without looking its leases up.
      ['MemberCommitRequest', '/groups/g/members/m/offsets', twice.map((o) => ({ ...o, leaseCounter: 1 }))],
    ] as const) {
      // JSON Schema's uniqueItems compares whole items: the rule is in the description.
      assert.ok(documentAccepts(schema, { topic: 't', offsets }), schema);
      assert.match(schemas[schema].properties.offsets.description, /at most once.*400/);
      const reply = await call(api.url, 'PUT', path, { json: { topic: 't', offsets } });
      assert.deepEqual([reply.status, reply.body.error.code], [400, 'InvalidArgument']);
      assert.match(reply.body.error.message, /offsets\[1\]\.partition 0 appears twice/);
    }
  });

  test('a record partition the topic does not have: the document says 400, and it is', async () => {
    const body = { records: [{ value: 1, partition: 2 }] };
    assert.ok(documentAccepts('ProduceRequest', body));
    assert.match(
      openapi.components.schemas.ProduceRecord.properties.partition.description,
      /partition count \(400/,
    );
    const reply = await call(api.url, 'POST', '/topics/t/records', { json: body });
    assert.deepEqual([reply.status, reply.body.error.code], [400, 'InvalidArgument']);
  });
});
