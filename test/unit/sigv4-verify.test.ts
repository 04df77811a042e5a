import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import fc from 'fast-check';
import {
  type SigV4Identity,
  type SigV4Request,
  type SigV4Result,
  verifySigV4,
} from '../../functions/local/sigv4-verify.ts';
import { sigv4Signer } from '../../lib/client/sigv4.ts';

const identity: SigV4Identity = {
  accessKeyId: 'AKIALOCALTEST0000001',
  secretAccessKey: 'local/secret/key/for/tests/only/0000000000',
};
const region = 'us-east-1';
const now = new Date('2025-06-01T12:00:00Z');
const endpoint = 'http://127.0.0.1:8080';

/** Every byte value, twice: a body no text decoding survives. */
const binary = new Uint8Array(512).map((_, i) => i % 256);

interface SignInput {
  readonly method?: string;
  readonly target?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Uint8Array;
  readonly credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  readonly region?: string;
  readonly at?: Date;
}

/**
 * A request signed by the SDK's own signer (lib/client/sigv4.ts), as the local server would receive
 * it: the target as sent, the headers the transport sends plus the Host fetch adds, the body bytes.
 */
async function signed(input: SignInput = {}): Promise<SigV4Request & { headers: Record<string, string> }> {
  const url = new URL(input.target ?? '/topics', endpoint);
  const method = input.method ?? 'GET';
  const signer = sigv4Signer({
    region: input.region ?? region,
    credentials: input.credentials ?? identity,
    now: () => input.at ?? now,
  });
  const headers = await signer.sign({
    method,
    url,
    headers: { accept: 'application/json', ...input.headers },
    ...(input.body === undefined ? {} : { body: input.body }),
  });
  const body =
    input.body === undefined
      ? new Uint8Array()
      : typeof input.body === 'string'
        ? new TextEncoder().encode(input.body)
        : input.body;
  return { method, url: `${url.pathname}${url.search}`, headers, body };
}

const verify = (request: SigV4Request, options: { sessionToken?: string; at?: Date } = {}) =>
  verifySigV4(request, {
    identity:
      options.sessionToken === undefined ? identity : { ...identity, sessionToken: options.sessionToken },
    region,
    now: options.at ?? now,
  });

function assertRefused(result: SigV4Result, errorType: string, message?: RegExp): void {
  assert.equal(result.ok, false, 'the request is refused');
  if (result.ok) return;
  assert.equal(result.status, 403);
  assert.equal(result.errorType, errorType);
  if (message !== undefined) assert.match(result.message, message);
}

const MISMATCH = /^The request signature we calculated does not match the signature you provided\./;

describe('verifySigV4: requests the SDK signs are accepted', () => {
  test('a GET with a query, signed by the SDK signer, is accepted as the configured access key', async () => {
    const request = await signed({ target: '/topics/orders/partitions/0/records?offset=0&maxRecords=10' });
    assert.deepEqual(await verify(request), { ok: true, accessKeyId: identity.accessKeyId });
  });

  test('a POST with a JSON body is accepted', async () => {
    const request = await signed({
      method: 'POST',
      target: '/topics',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'orders', partitions: 3 }),
    });
    assert.equal((await verify(request)).ok, true);
  });

  test('a binary body (every byte value) is verified over its exact bytes and accepted', async () => {
    const request = await signed({
      method: 'POST',
      target: '/topics/orders/records',
      headers: { 'content-type': 'application/vnd.streambed.segment' },
      body: binary,
    });
    assert.equal((await verify(request)).ok, true);
  });

  test('a path with percent-encoded characters is verified as sent (double-encoded in the canonical URI)', async () => {
    const request = await signed({ target: `/topics/${encodeURIComponent('a b/ü')}` });
    assert.match(request.url, /%20/);
    assert.equal((await verify(request)).ok, true);
  });

  test('a query with spaces and reserved characters, sent in another order, is still accepted', async () => {
    const request = await signed({ target: '/groups/g/offsets?topic=a+b&z=%2F%3D' });
    assert.equal((await verify({ ...request, url: '/groups/g/offsets?z=%2F%3D&topic=a+b' })).ok, true);
  });

  test('headers added after signing (user-agent, content-length, accept-encoding) do not matter', async () => {
    const request = await signed({ method: 'POST', target: '/producers', body: '{}' });
    const headers = {
      ...request.headers,
      'user-agent': 'undici',
      'content-length': '2',
      'accept-encoding': '*',
    };
    assert.equal((await verify({ ...request, headers })).ok, true);
  });

  test('header names in any case and an absolute request target are accepted', async () => {
    const request = await signed({ target: '/topics?x=1' });
    const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toUpperCase(), v]));
    assert.equal((await verify({ ...request, headers, url: `${endpoint}/topics?x=1` })).ok, true);
  });

  test('a request signed with the expected session token is accepted', async () => {
    const request = await signed({ credentials: { ...identity, sessionToken: 'token-1' } });
    assert.equal(request.headers['x-amz-security-token'], 'token-1');
    assert.equal((await verify(request, { sessionToken: 'token-1' })).ok, true);
  });

  test('a request dated 4 min 59 s away from the server clock, either way, is accepted', async () => {
    for (const offset of [-299_000, 299_000]) {
      const request = await signed({ at: new Date(now.getTime() + offset) });
      assert.equal((await verify(request)).ok, true, `offset ${offset} ms`);
    }
  });
});

describe('verifySigV4: any change after signing is refused with InvalidSignatureException', () => {
  const post = () =>
    signed({
      method: 'POST',
      target: '/topics/orders/records?acks=all',
      headers: { 'content-type': 'application/vnd.streambed.segment' },
      body: binary,
    });

  test('one flipped body byte', async () => {
    const request = await post();
    const body = Uint8Array.from(request.body);
    body[300] = (body[300] ?? 0) ^ 1;
    assertRefused(await verify({ ...request, body }), 'InvalidSignatureException', MISMATCH);
  });

  test('a body byte added or removed', async () => {
    const request = await post();
    assertRefused(
      await verify({ ...request, body: Uint8Array.from([...request.body, 0]) }),
      'InvalidSignatureException',
      MISMATCH,
    );
    assertRefused(
      await verify({ ...request, body: request.body.slice(1) }),
      'InvalidSignatureException',
      MISMATCH,
    );
  });

  test('a changed body under an unchanged, signed X-Amz-Content-Sha256 header', async () => {
    const request = await post();
    assert.ok(request.headers['x-amz-content-sha256'], 'the SDK signs the body hash header');
    assertRefused(
      await verify({ ...request, body: new Uint8Array(request.body.length) }),
      'InvalidSignatureException',
      MISMATCH,
    );
  });

  test('a signed header changed (content-type)', async () => {
    const request = await post();
    const headers = { ...request.headers, 'content-type': 'application/json' };
    assertRefused(await verify({ ...request, headers }), 'InvalidSignatureException', MISMATCH);
  });

  test('a signed header removed (accept)', async () => {
    const { accept: _, ...headers } = (await post()).headers;
    assertRefused(await verify({ ...(await post()), headers }), 'InvalidSignatureException', MISMATCH);
  });

  test('another path', async () => {
    const request = await post();
    assertRefused(
      await verify({ ...request, url: '/topics/other/records?acks=all' }),
      'InvalidSignatureException',
      MISMATCH,
    );
  });

  test('another query value, and an added query parameter', async () => {
    const request = await post();
    for (const url of ['/topics/orders/records?acks=1', '/topics/orders/records?acks=all&x=1']) {
      assertRefused(await verify({ ...request, url }), 'InvalidSignatureException', MISMATCH);
    }
  });

  test('another method', async () => {
    const request = await post();
    assertRefused(await verify({ ...request, method: 'PUT' }), 'InvalidSignatureException', MISMATCH);
  });

  test('another host', async () => {
    const request = await post();
    const headers = { ...request.headers, host: '127.0.0.1:9999' };
    assertRefused(await verify({ ...request, headers }), 'InvalidSignatureException', MISMATCH);
  });

  test('signed with the right access key id but a wrong secret', async () => {
    const request = await signed({ credentials: { ...identity, secretAccessKey: 'not-the-secret' } });
    assertRefused(await verify(request), 'InvalidSignatureException', MISMATCH);
  });

  test('a signature of the wrong length is refused, not thrown', async () => {
    const request = await signed();
    const authorization = String(request.headers.authorization).replace(/Signature=\w+$/, 'Signature=abc');
    assertRefused(
      await verify({ ...request, headers: { ...request.headers, authorization } }),
      'InvalidSignatureException',
      MISMATCH,
    );
  });

  test('the refusal states the canonical request and string to sign the server computed', async () => {
    const request = await signed({ target: '/topics?offset=0' });
    const result = await verify({ ...request, url: '/topics?offset=1' });
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.match(
      result.message,
      /The Canonical String for this request should have been\n'GET\n\/topics\noffset=1\n/,
    );
    assert.match(result.message, /host:127\.0\.0\.1:8080\n/);
    assert.match(
      result.message,
      /The String-to-Sign should have been\n'AWS4-HMAC-SHA256\n20250601T120000Z\n20250601\/us-east-1\/execute-api\/aws4_request\n[0-9a-f]{64}'/,
    );
  });
});

describe('verifySigV4: API Gateway refusals before the signature', () => {
  test('no Authorization header: 403 MissingAuthenticationTokenException {"message":"Forbidden"}', async () => {
    const result = await verify({
      method: 'GET',
      url: '/topics',
      headers: { host: 'x' },
      body: new Uint8Array(),
    });
    assert.deepEqual(result, {
      ok: false,
      status: 403,
      errorType: 'MissingAuthenticationTokenException',
      message: 'Forbidden',
    });
  });

  test('a request dated more than 5 minutes ago: Signature expired, with the times API Gateway names', async () => {
    const request = await signed({ at: new Date(now.getTime() - 301_000) });
    assertRefused(
      await verify(request),
      'InvalidSignatureException',
      /^Signature expired: 20250601T115459Z is now earlier than 20250601T115500Z \(20250601T120000Z - 5 min\.\)$/,
    );
  });

  test('a request dated more than 5 minutes ahead: Signature not yet current', async () => {
    const request = await signed({ at: new Date(now.getTime() + 301_000) });
    assertRefused(
      await verify(request),
      'InvalidSignatureException',
      /^Signature not yet current: 20250601T120501Z is still later than 20250601T120500Z \(20250601T120000Z \+ 5 min\.\)$/,
    );
  });

  test('an unknown access key id: UnrecognizedClientException, the security token is invalid', async () => {
    const request = await signed({ credentials: { ...identity, accessKeyId: 'AKIAOTHER' } });
    assertRefused(
      await verify(request),
      'UnrecognizedClientException',
      /^The security token included in the request is invalid\.$/,
    );
  });

  test('a session token that differs from the expected one is refused', async () => {
    const request = await signed({ credentials: { ...identity, sessionToken: 'token-2' } });
    assertRefused(await verify(request, { sessionToken: 'token-1' }), 'UnrecognizedClientException');
  });

  test('no session token when one is expected is refused', async () => {
    assertRefused(await verify(await signed(), { sessionToken: 'token-1' }), 'UnrecognizedClientException');
  });

  test('a session token when none is expected is refused', async () => {
    const request = await signed({ credentials: { ...identity, sessionToken: 'token-1' } });
    assertRefused(await verify(request), 'UnrecognizedClientException');
  });

  test('a credential scoped to another region names the region', async () => {
    const request = await signed({ region: 'eu-west-1' });
    assertRefused(
      await verify(request),
      'InvalidSignatureException',
      /^Credential should be scoped to a valid region, not 'eu-west-1'\. $/,
    );
  });

  test('a credential scoped to another service names execute-api', async () => {
    const signer = new SignatureV4({ service: 's3', region, credentials: identity, sha256: Sha256 });
    const signedRequest = await signer.sign(
      {
        method: 'GET',
        protocol: 'http:',
        hostname: '127.0.0.1',
        path: '/topics',
        headers: { host: '127.0.0.1:8080' },
      },
      { signingDate: now },
    );
    const request = { method: 'GET', url: '/topics', headers: signedRequest.headers, body: new Uint8Array() };
    assertRefused(
      await verify(request),
      'InvalidSignatureException',
      /^Credential should be scoped to correct service: 'execute-api'\. $/,
    );
  });

  test('a scope date that is not X-Amz-Date’s day is refused', async () => {
    const request = await signed();
    const authorization = String(request.headers.authorization).replace('/20250601/', '/20250531/');
    assertRefused(
      await verify({ ...request, headers: { ...request.headers, authorization } }),
      'InvalidSignatureException',
      /^Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20250531' != '20250601'/,
    );
  });

  test('a non-SigV4 Authorization header: IncompleteSignatureException listing what is missing', async () => {
    const request = await signed();
    const headers = { ...request.headers, authorization: 'Bearer abc.def' };
    assertRefused(
      await verify({ ...request, headers }),
      'IncompleteSignatureException',
      /^Authorization header requires 'Credential' parameter\. Authorization header requires 'Signature' parameter\. Authorization header requires 'SignedHeaders' parameter\. Authorization=Bearer abc\.def$/,
    );
  });

  test('a SigV4 header with a part that is not key=value is refused', async () => {
    const request = await signed();
    const authorization = String(request.headers.authorization).replace('SignedHeaders=', 'SignedHeaders ');
    assertRefused(
      await verify({ ...request, headers: { ...request.headers, authorization } }),
      'IncompleteSignatureException',
      /not a valid key=value pair \(missing equal-sign\) in Authorization header/,
    );
  });

  test('no X-Amz-Date is refused as incomplete', async () => {
    const { 'x-amz-date': _, ...headers } = (await signed()).headers;
    assertRefused(
      await verify({ ...(await signed()), headers }),
      'IncompleteSignatureException',
      /requires existence of either a 'X-Amz-Date' or a 'Date' header/,
    );
  });

  test('an X-Amz-Date that is not ISO 8601 basic format is refused', async () => {
    const request = await signed();
    const headers = { ...request.headers, 'x-amz-date': '2025-06-01T12:00:00Z' };
    assertRefused(await verify({ ...request, headers }), 'IncompleteSignatureException', /basic format/);
  });

  test('a credential without 5 slash-delimited parts is refused', async () => {
    const request = await signed();
    const authorization = String(request.headers.authorization).replace(
      '/execute-api/aws4_request',
      '/aws4_request',
    );
    assertRefused(
      await verify({ ...request, headers: { ...request.headers, authorization } }),
      'IncompleteSignatureException',
      /exactly 5 slash-delimited elements/,
    );
  });

  test('a signature that does not sign the Host header is refused', async () => {
    const request = await signed();
    const authorization = String(request.headers.authorization).replace('host;', '');
    assertRefused(
      await verify({ ...request, headers: { ...request.headers, authorization } }),
      'IncompleteSignatureException',
      /'Host' or ':authority' must be a 'SignedHeader'/,
    );
  });

  test('a security token without a signature is incomplete, not missing', async () => {
    const request = {
      method: 'GET',
      url: '/topics',
      headers: { 'x-amz-security-token': 't' },
      body: new Uint8Array(),
    };
    assertRefused(await verify(request), 'IncompleteSignatureException', /requires 'Credential' parameter/);
  });

  test('a presigned (query-string) request is refused as unsupported locally', async () => {
    const signer = new SignatureV4({ service: 'execute-api', region, credentials: identity, sha256: Sha256 });
    const presigned = await signer.presign(
      {
        method: 'GET',
        protocol: 'http:',
        hostname: '127.0.0.1',
        path: '/topics',
        headers: { host: '127.0.0.1:8080' },
      },
      { signingDate: now },
    );
    const url = `/topics?${new URLSearchParams(presigned.query as Record<string, string>)}`;
    const request = { method: 'GET', url, headers: presigned.headers, body: new Uint8Array() };
    assertRefused(await verify(request), 'IncompleteSignatureException', /presigned/);
  });

  test('any Authorization header at all is refused with one of the four refusals, never thrown', async () => {
    const base = await signed();
    const types = new Set([
      'MissingAuthenticationTokenException',
      'IncompleteSignatureException',
      'InvalidSignatureException',
      'UnrecognizedClientException',
    ]);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.string().map((s) => `AWS4-HMAC-SHA256 ${s}`),
          fc
            .tuple(fc.string(), fc.string(), fc.string())
            .map(([c, h, s]) => `AWS4-HMAC-SHA256 Credential=${c}, SignedHeaders=${h}, Signature=${s}`),
        ),
        async (authorization) => {
          const result = await verify({ ...base, headers: { ...base.headers, authorization } });
          return !result.ok && types.has(result.errorType);
        },
      ),
      { numRuns: 300 },
    );
  });
});
