/**
 * Child process of the `sdk` suite: the produce floor's own calls (one PutObject of the segment, one
 * conditional PutItem of its index entry) behind the cheapest HTTP front door `npm start` could have.
 * Each request is read as functions/local/server.ts reads it, turned into the same API Gateway event
 * (functions/local/events.ts: a binary body base64-encoded) and decoded as the API's handler decodes
 * it, then the floor's two calls run on this process's own SDK clients. No routing, no middleware, no
 * check of the bytes, no engine: what no HTTP produce on this machine can do without. Its throughput
 * over the floor's is the ceiling of the produce ratio here.
 *
 * Input: env STREAMBED_GATEWAY_FLOOR = JSON { endpoints, bucket, table }.
 * Requests: POST /?key=<object key>&pk=<item pk>&sk=<n>&batch=<BatchLocation JSON>, the segment as body.
 * IPC out: { type: 'ready', url }. IPC in: { type: 'close' }.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { toApiGatewayEvent } from '../../functions/local/events.ts';
import { localClients } from '../../lib/adapters/clients.ts';
import type { ServiceEndpoints } from '../../lib/harness/services.ts';
import { type BatchLocation, entryAttribute } from './entry.ts';

const input = JSON.parse(process.env.STREAMBED_GATEWAY_FLOOR ?? '{}') as {
  endpoints: ServiceEndpoints;
  bucket: string;
  table: string;
};
const { s3, dynamodb } = localClients(input.endpoints);

async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const url = new URL(req.url ?? '/', 'http://localhost');
  const event = toApiGatewayEvent({
    method: req.method ?? 'POST',
    url,
    headers: req.headers,
    body: Buffer.concat(chunks),
    routeKey: 'POST /',
    pathParameters: {},
    sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
  });
  const body = event.body ?? '';
  const bytes = event.isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'latin1');
  const param = (name: string) => url.searchParams.get(name) ?? '';
  await s3.send(
    new PutObjectCommand({
      Bucket: input.bucket,
      Key: param('key'),
      Body: bytes,
      ContentLength: bytes.byteLength,
    }),
  );
  await dynamodb.send(
    new PutItemCommand({
      TableName: input.table,
      Item: {
        pk: { S: param('pk') },
        sk: { N: param('sk') },
        e: entryAttribute(JSON.parse(param('batch')) as BatchLocation),
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    }),
  );
  res.writeHead(200, { 'content-type': 'application/json' }).end('{"baseOffset":0}');
}

const server = createServer((req, res) => {
  serve(req, res).catch((error: unknown) => {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  process.send?.({ type: 'ready', url: `http://127.0.0.1:${port}` });
});
// The bench went away without closing it: go too.
process.on('disconnect', () => process.exit(0));
process.on('message', (message: { type: string }) => {
  if (message.type !== 'close') return;
  server.close(() => {
    s3.destroy();
    dynamodb.destroy();
    process.exit(0);
  });
  server.closeAllConnections();
});
