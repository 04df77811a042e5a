import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  HttpTransport,
  InvalidArgumentError,
  jsonCodec,
  RemoteError,
  retryAfterMs,
  ThrottledError,
  UnknownTopicError,
} from '../../lib/client/index.ts';
import { regionFromHost } from '../../lib/client/sigv4.ts';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

describe('HttpTransport against a stub server', () => {
  let server: Server;
  let endpoint: string;
  const seen: Seen[] = [];
  let reply: (req: Seen) => {
    status: number;
    headers?: Record<string, string>;
    body?: unknown;
    hang?: boolean;
  } = () => ({
    status: 200,
    body: {},
  });
  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const s = {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString(),
        };
        seen.push(s);
        const r = reply(s);
        if (r.hang === true) return;
        res.writeHead(r.status, { 'content-type': 'application/json', ...r.headers });
        res.end(r.body === undefined ? '' : JSON.stringify(r.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/stage`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  test('routes, the stage path, and the JSON produce body: JSON values, base64 bytes, tombstones, headers, producer fields', async () => {
    reply = () => ({ status: 200, body: { offsets: [{ partition: 1, offset: 7 }] } });
    const transport = new HttpTransport({ endpoint, auth: 'none', codec: jsonCodec });
    const encoder = new TextEncoder();
    const result = await transport.produce({
      topic: 'a.b',
      records: [
        {
          key: encoder.encode('k'),
          value: encoder.encode('{"x":1}'),
          valueIsJson: true,
          partition: 1,
          timestamp: 5,
        },
        { value: new Uint8Array([0, 255]), headers: [['h', encoder.encode('v')]], partition: 1 },
        { key: encoder.encode('gone'), value: null, partition: 1 },
      ],
      producer: { producerId: '42', epoch: 0, sequences: { 1: 9 } },
    });
    assert.deepEqual(result, { offsets: [{ partition: 1, offset: 7 }] });
    const last = seen.at(-1) as Seen;
    assert.equal(last.url, '/stage/topics/a.b/records');
    assert.equal(last.headers['content-type'], 'application/json');
    assert.equal(last.headers.authorization, undefined, 'unsigned');
    assert.deepEqual(JSON.parse(last.body), {
      records: [
        { key: 'k', value: { x: 1 }, partition: 1, timestamp: 5 },
        { key: null, valueBase64: 'AP8=', headers: { h: 'v' }, partition: 1 },
        { key: 'gone', value: null, partition: 1 },
      ],
      producerId: '42',
      producerEpoch: 0,
      sequence: { 1: 9 },
    });
    assert.throws(
      () => jsonCodec.encodeProduce({ topic: 't', records: [{ key: new Uint8Array([0xff]), value: null }] }),
      InvalidArgumentError,
    );
  });

  test('options out of range are refused when the transport is made', () => {
    assert.throws(() => new HttpTransport({ endpoint: 'not a url', auth: 'none' }), InvalidArgumentError);
    assert.throws(() => new HttpTransport({ endpoint: 'ftp://x', auth: 'none' }), InvalidArgumentError);
    for (const directReadsPauseMs of [-1, 1.5, Number.NaN]) {
      assert.throws(
        () => new HttpTransport({ endpoint: 'http://127.0.0.1:1', auth: 'none', directReadsPauseMs }),
        /directReadsPauseMs must be a non-negative integer/,
      );
    }
  });

  test('fetch decodes records back to bytes, with the query the API takes', async () => {
    reply = () => ({
      status: 200,
      body: {
        records: [
          { offset: 3, timestamp: 9, key: 'k', headers: { h: 'v' }, value: { x: 1 } },
          { offset: 4, timestamp: 9, key: null, headers: {}, valueBase64: 'AP8=' },
          { offset: 5, timestamp: 9, key: 'k', headers: {}, value: null },
        ],
        nextOffset: 6,
        highWatermark: 6,
        logStartOffset: 0,
      },
    });
    const transport = new HttpTransport({ endpoint, auth: 'none' });
    const result = await transport.fetch({ topic: 't', partition: 2, offset: 3, maxRecords: 10 });
    assert.equal((seen.at(-1) as Seen).url, '/stage/topics/t/partitions/2/records?offset=3&maxRecords=10');
    const [a, b, c] = result.records;
    assert.equal(new TextDecoder().decode(a?.value ?? undefined), '{"x":1}');
    assert.equal(a?.valueIsJson, true);
    assert.deepEqual([...(b?.value ?? [])], [0, 255]);
    assert.equal(b?.valueIsJson, false);
    assert.deepEqual([c?.value, c?.valueIsJson], [null, false]);
    assert.equal(result.nextOffset, 6);
  });

  test('errors: typed from the body, Retry-After kept, gateway bodies and timeouts retryable', async () => {
    const transport = new HttpTransport({ endpoint, auth: 'none', timeoutMs: 200 });
    reply = () => ({
      status: 404,
      body: { error: { code: 'UnknownTopic', message: "topic 'x' does not exist" } },
    });
    await assert.rejects(transport.describeTopic('x'), UnknownTopicError);
    reply = () => ({
      status: 503,
      headers: { 'retry-after': '3' },
      body: { error: { code: 'Throttled', message: 'busy' } },
    });
    await assert.rejects(
      transport.listTopics(),
      (e: unknown) => e instanceof ThrottledError && retryAfterMs(e) === 3_000,
    );
    reply = () => ({ status: 429, body: { message: 'Too Many Requests' } });
    await assert.rejects(transport.listGroups(), (e: unknown) => e instanceof RemoteError && e.retryable);
    reply = () => ({ status: 200, hang: true });
    await assert.rejects(
      transport.listGroups(),
      (e: unknown) => e instanceof RemoteError && e.code === 'Timeout' && e.retryable,
    );
    const refused = new HttpTransport({ endpoint: 'http://127.0.0.1:1', auth: 'none' });
    await assert.rejects(
      refused.listGroups(),
      (e: unknown) => e instanceof RemoteError && e.code === 'NetworkError' && e.retryable,
    );
  });

  test('auth sigv4 signs each request with the given credentials (host, date, body hash, session token)', async () => {
    reply = () => ({ status: 200, body: { topics: [] } });
    const transport = new HttpTransport({
      endpoint,
      auth: 'sigv4',
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token' },
    });
    await transport.createTopic({ name: 't', partitions: 1 });
    const headers = (seen.at(-1) as Seen).headers;
    assert.match(
      String(headers.authorization),
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
    );
    assert.match(String(headers['x-amz-date']), /^\d{8}T\d{6}Z$/);
    assert.equal(headers['x-amz-security-token'], 'token');
    assert.match(String(headers['x-amz-content-sha256']), /^[0-9a-f]{64}$/);
    assert.equal(regionFromHost('abc123.execute-api.ap-south-2.amazonaws.com'), 'ap-south-2');
  });
});
