import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { nodeFetch } from '../../lib/client/node-fetch.ts';

describe('nodeFetch (the HTTP transport default: node:http with keep-alive)', () => {
  let server: Server;
  let base: string;
  const sockets = new Set<Socket>();
  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        if (req.url === '/echo') {
          res.writeHead(201, { 'content-type': 'application/octet-stream', 'x-method': req.method ?? '' });
          res.end(body);
        } else if (req.url === '/chunked') {
          // No Content-Length: the answer arrives in chunks and is read whole.
          res.writeHead(200, { 'set-cookie': ['a=1', 'b=2'] });
          res.write('hello, ');
          setTimeout(() => res.end('world'), 5);
        } else if (req.url === '/short') {
          res.writeHead(200, { 'content-length': '100' });
          res.write('only ten b');
          setTimeout(() => res.socket?.destroy(), 5);
        } else {
          res.writeHead(404).end();
        }
      });
    });
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const init = (method: string, body?: string | Uint8Array) => ({
    method,
    headers: { 'x-test': '1' },
    signal: AbortSignal.timeout(5_000),
    ...(body === undefined ? {} : { body }),
  });

  test('a body goes out as given and the answer comes back whole, with status and headers', async () => {
    const fetch = nodeFetch();
    const payload = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
    const answer = await fetch(new URL(`${base}/echo`), init('POST', payload));
    assert.equal(answer.status, 201);
    assert.equal(answer.headers.get('X-Method'), 'POST');
    assert.deepEqual(new Uint8Array(await answer.arrayBuffer()), payload);
    const text = await fetch(new URL(`${base}/echo`), init('PUT', 'héllo'));
    assert.equal(Buffer.from(await text.arrayBuffer()).toString('utf8'), 'héllo');
    fetch.close();
  });

  test('an answer without Content-Length is read to its end; repeated headers are joined', async () => {
    const fetch = nodeFetch();
    const answer = await fetch(new URL(`${base}/chunked`), init('GET'));
    assert.equal(Buffer.from(await answer.arrayBuffer()).toString(), 'hello, world');
    assert.equal(answer.headers.get('set-cookie'), 'a=1, b=2');
    assert.equal(answer.headers.get('x-absent'), null);
    fetch.close();
  });

  test('an answer cut short of its Content-Length fails instead of returning the part', async () => {
    const fetch = nodeFetch();
    await assert.rejects(fetch(new URL(`${base}/short`), init('GET')));
    fetch.close();
  });

  test('calls share one keep-alive connection, and close() ends it', async () => {
    const fetch = nodeFetch();
    for (let i = 0; i < 5; i++) await (await fetch(new URL(`${base}/echo`), init('POST', 'x'))).arrayBuffer();
    assert.equal(sockets.size, 1);
    fetch.close();
    for (let i = 0; i < 100 && sockets.size > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(sockets.size, 0);
  });

  test('an aborted signal fails the call', async () => {
    const fetch = nodeFetch();
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(
      fetch(new URL(`${base}/echo`), { method: 'GET', headers: {}, signal: controller.signal }),
      (error: Error) => error.name === 'AbortError',
    );
    fetch.close();
  });
});
