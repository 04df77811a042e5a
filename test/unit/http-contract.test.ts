import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { errorResult } from '../../functions/api/http.ts';
import { openapi } from '../../functions/api/openapi.ts';
import { useEngine } from '../../functions/api/runtime.ts';
import { localContext, toApiGatewayEvent } from '../../functions/local/events.ts';
import { ROUTES } from '../../functions/routes.ts';
import { handler as topicsHandler } from '../../functions/topics.ts';
import { CorruptSegmentError, ThrottledError } from '../../lib/core/errors.ts';
import type { Streambed } from '../../lib/engine/streambed.ts';
import { OPENAPI_PATH, renderOpenapi } from '../../scripts/openapi.ts';

describe('the OpenAPI document', () => {
  test('docs/openapi.json is up to date with functions/api/openapi.ts (run npm run openapi)', () => {
    assert.equal(readFileSync(OPENAPI_PATH, 'utf8'), renderOpenapi());
  });

  test('declares exactly the routes the handlers serve', () => {
    const declared = Object.entries(openapi.paths).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((key) => ['get', 'post', 'put', 'delete'].includes(key))
        .map((method) => `${method.toUpperCase()} ${path}`),
    );
    assert.deepEqual(declared.sort(), ROUTES.map((r) => `${r.method} ${r.path}`).sort());
  });
});

/** GET /topics through its handler, as `npm start` invokes it. */
const listTopics = async () =>
  await topicsHandler(
    toApiGatewayEvent({
      method: 'GET',
      url: new URL('http://localhost/topics'),
      headers: {},
      body: Buffer.alloc(0),
      routeKey: 'GET /topics',
      pathParameters: {},
      sourceIp: '127.0.0.1',
    }),
    localContext('streambed-topics'),
  );

describe('errors the engine cannot cause on purpose', () => {
  const failing = (error: Error) =>
    ({ listTopics: async () => Promise.reject(error) }) as unknown as Streambed;
  const invoke = listTopics;
  after(() => useEngine(undefined));

  test('AWS throttling is 503 Throttled with Retry-After', async () => {
    useEngine(failing(Object.assign(new Error('slow down'), { name: 'ThrottlingException' })));
    const result = await invoke();
    assert.equal(result.statusCode, 503);
    assert.equal(result.headers?.['retry-after'], '1');
    assert.equal(JSON.parse(result.body ?? '').error.code, 'Throttled');
  });

  test('a retryable engine error is 503 with Retry-After', () => {
    const { result } = errorResult(new ThrottledError('busy'));
    assert.deepEqual([result.statusCode, result.headers?.['retry-after']], [503, '1']);
  });

  test('an unexpected error is 500 InternalError and reveals nothing', async () => {
    useEngine(failing(new Error('socket hang up talking to table streambed-meta')));
    const result = await invoke();
    assert.equal(result.statusCode, 500);
    assert.deepEqual(JSON.parse(result.body ?? ''), {
      error: { code: 'InternalError', message: 'internal error' },
    });
  });

  test('corruption is 500 CorruptSegment without the object key', () => {
    const { result } = errorResult(new CorruptSegmentError('object topics/t/abc/x.sbs failed CRC at 1234'));
    assert.equal(result.statusCode, 500);
    const body = JSON.parse(result.body ?? '');
    assert.equal(body.error.code, 'CorruptSegment');
    assert.ok(!body.error.message.includes('topics/'));
  });
});

describe('metrics of requests served side by side (npm start: one process, one Metrics)', () => {
  after(() => useEngine(undefined));

  test('requests that overlap print no empty-metrics warning, and each is answered', async () => {
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    useEngine({ listTopics: async () => gate.then(() => []) } as unknown as Streambed);
    const written: string[] = [];
    const original = { out: process.stdout.write, err: process.stderr.write };
    const capture = (stream: NodeJS.WriteStream, write: typeof process.stdout.write) =>
      ((chunk: unknown, ...rest: unknown[]) => {
        written.push(String(chunk));
        return (write as (...args: unknown[]) => boolean).call(stream, chunk, ...rest);
      }) as typeof process.stdout.write;
    process.stdout.write = capture(process.stdout, original.out);
    process.stderr.write = capture(process.stderr, original.err);
    try {
      const calls = Array.from({ length: 4 }, () => listTopics());
      await new Promise((resolve) => setImmediate(resolve));
      release();
      const results = await Promise.all(calls);
      assert.deepEqual(
        results.map((r) => r.statusCode),
        [200, 200, 200, 200],
      );
    } finally {
      process.stdout.write = original.out;
      process.stderr.write = original.err;
    }
    assert.deepEqual(
      written.filter((line) => line.includes('No application metrics to publish')),
      [],
    );
  });
});
