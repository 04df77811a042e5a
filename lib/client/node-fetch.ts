import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** What HttpTransport needs of `fetch`: a request, and the answer's status, headers and bytes. */
export interface FetchInit {
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly signal: AbortSignal;
  readonly body?: string | Uint8Array;
}

/** The part of a `Response` HttpTransport reads. */
export interface FetchAnswer {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  arrayBuffer(): Promise<ArrayBuffer>;
}

export type FetchLike = (url: URL, init: FetchInit) => Promise<FetchAnswer>;

/**
 * `fetch` for HttpTransport on node:http(s) with keep-alive agents of its own: the body is written
 * as it is (undici's fetch clones a Uint8Array body into a web stream) and the answer is read into one
 * buffer sized by its Content-Length (no web-stream chunk queue, no concatenation). It follows no
 * redirects and asks for no content encoding: the API sends neither.
 *
 * @example
 * const fetch = nodeFetch();
 * const answer = await fetch(new URL('http://localhost:4566/topics'), { method: 'GET', headers: {}, signal: AbortSignal.timeout(5000) });
 * fetch.close();
 */
export function nodeFetch(): FetchLike & { close(): void } {
  const http = new HttpAgent({ keepAlive: true });
  const https = new HttpsAgent({ keepAlive: true });
  const call = (url: URL, init: FetchInit): Promise<FetchAnswer> =>
    new Promise((resolve, reject) => {
      const secure = url.protocol === 'https:';
      const body = typeof init.body === 'string' ? Buffer.from(init.body, 'utf8') : init.body;
      const request = (secure ? httpsRequest : httpRequest)(
        url,
        {
          method: init.method,
          headers: {
            ...init.headers,
            ...(body === undefined ? {} : { 'content-length': String(body.byteLength) }),
          },
          agent: secure ? https : http,
          signal: init.signal,
        },
        (response) => {
          readAll(response).then(
            (bytes) =>
              resolve({
                status: response.statusCode ?? 0,
                headers: { get: (name) => header(response, name) },
                arrayBuffer: async () => bytes.buffer as ArrayBuffer,
              }),
            reject,
          );
        },
      );
      request.on('error', reject);
      request.end(body);
    });
  return Object.assign(call, {
    close: () => {
      http.destroy();
      https.destroy();
    },
  });
}

function header(response: IncomingMessage, name: string): string | null {
  const value = response.headers[name.toLowerCase()];
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(', ') : value;
}

const PREALLOCATE_MAX = 64 * 1024 * 1024;

/** The whole body, in one ArrayBuffer of its own (sized by Content-Length when the server sent one). */
async function readAll(response: IncomingMessage): Promise<Uint8Array> {
  const declared = Number(response.headers['content-length']);
  // Sized up front only within reason: a Content-Length is the server's word, not a fact.
  if (Number.isSafeInteger(declared) && declared >= 0 && declared <= PREALLOCATE_MAX) {
    const out = new Uint8Array(declared);
    let at = 0;
    for await (const chunk of response as AsyncIterable<Buffer>) {
      if (at + chunk.byteLength > declared) throw new Error('the answer is longer than its Content-Length');
      out.set(chunk, at);
      at += chunk.byteLength;
    }
    if (at !== declared) throw new Error(`the answer ended after ${at} of its ${declared} bytes`);
    return out;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of response as AsyncIterable<Buffer>) chunks.push(chunk);
  const joined = Buffer.concat(chunks);
  return new Uint8Array(joined.buffer, joined.byteOffset, joined.byteLength).slice();
}
