import { createHash, timingSafeEqual } from 'node:crypto';
import { Sha256 } from '@aws-crypto/sha256-js';
import { ALGORITHM_IDENTIFIER, getCanonicalHeaders, SignatureV4 } from '@smithy/signature-v4';
import type { HeaderBag, HttpRequest, QueryParameterBag } from '@smithy/types';

/**
 * How API Gateway's IAM authorization checks a request, reproduced for `npm start -- --auth sigv4`:
 *
 *   Authorization: AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/execute-api/aws4_request,
 *                  SignedHeaders=host;x-amz-date, Signature=<64 hex>
 *
 *   1. no Authorization header, no X-Amz-Security-Token, no X-Amz-* query signature
 *                                          → MissingAuthenticationTokenException  {"message":"Forbidden"}
 *   2. a header that does not parse, no X-Amz-Date, host not signed
 *                                          → IncompleteSignatureException
 *   3. scope date ≠ X-Amz-Date's, region ≠ ours, service ≠ execute-api, terminator ≠ aws4_request,
 *      X-Amz-Date more than 5 minutes from now           → InvalidSignatureException
 *   4. unknown access key id, session token absent/different/unexpected
 *                                          → UnrecognizedClientException
 *   5. the signature recomputed with @smithy/signature-v4 over the method, the path as sent, the
 *      query, the signed headers and the SHA-256 of the exact body bytes differs
 *                                          → InvalidSignatureException (with the canonical request
 *                                            and string to sign, as API Gateway says them)
 *
 * All are 403 with `{"message": ...}` and `x-amzn-ErrorType`. Presigned (query-string) signatures
 * are refused with IncompleteSignatureException: only header signing (what the SDK does) is verified.
 */

/** The one identity `npm start -- --auth sigv4` accepts. */
export interface SigV4Identity {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** When set, requests must carry it in X-Amz-Security-Token; when not, they must carry none. */
  readonly sessionToken?: string;
}

/** What a verification needs to know about one request, as it arrived. */
export interface SigV4Request {
  readonly method: string;
  /** The request target as sent (`/topics/a%20b?offset=0`), not normalized; an absolute URL also works. */
  readonly url: string;
  /** Header names in any case; repeated headers as arrays (Node's IncomingHttpHeaders fits). */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** The exact body bytes (empty when there is none). */
  readonly body: Uint8Array;
}

export interface SigV4VerifyOptions {
  readonly identity: SigV4Identity;
  readonly region: string;
  /** @default 'execute-api' */
  readonly service?: string;
  /** @default the current time */
  readonly now?: Date;
}

/** A refusal, as API Gateway answers it: status, `x-amzn-ErrorType`, and the body's message. */
export interface SigV4Failure {
  readonly ok: false;
  readonly status: 403;
  readonly errorType:
    | 'MissingAuthenticationTokenException'
    | 'IncompleteSignatureException'
    | 'InvalidSignatureException'
    | 'UnrecognizedClientException';
  readonly message: string;
}

export type SigV4Result = { readonly ok: true; readonly accessKeyId: string } | SigV4Failure;

/** How far X-Amz-Date may be from the server's clock, either way (AWS: 5 minutes). */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const INVALID_TOKEN = 'The security token included in the request is invalid.';
const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

const fail = (errorType: SigV4Failure['errorType'], message: string): SigV4Failure => ({
  ok: false,
  status: 403,
  errorType,
  message,
});

/** `20250101T120000Z`, the form of X-Amz-Date. */
function basicIso(date: Date): string {
  return date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

function parseBasicIso(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  // Rejects 20250230T...: a date that does not round-trip is not a date.
  return basicIso(date) === value ? date : undefined;
}

/** Equal strings in time independent of where they differ (the length may show). */
function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Lower-cased names; repeated values joined with commas, as SigV4 canonicalizes them. */
function lowerHeaders(headers: SigV4Request['headers']): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const text = typeof value === 'string' ? value : value.join(',');
    const key = name.toLowerCase();
    const previous = out.get(key);
    out.set(key, previous === undefined ? text : `${previous},${text}`);
  }
  return out;
}

function splitTarget(url: string): { path: string; rawQuery: string } {
  const target = url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '').replace(/#.*$/, '');
  const at = target.indexOf('?');
  const path = at < 0 ? target : target.slice(0, at);
  return { path: path === '' ? '/' : path, rawQuery: at < 0 ? '' : target.slice(at + 1) };
}

/** Decoded names and values (`+` is a space, as URLSearchParams writes it); repeats as arrays. */
function parseQuery(rawQuery: string): QueryParameterBag {
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of new URLSearchParams(rawQuery)) {
    const previous = query[name];
    query[name] =
      previous === undefined ? value : Array.isArray(previous) ? [...previous, value] : [previous, value];
  }
  return query;
}

interface ParsedAuthorization {
  readonly credential: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

/** The three parts of `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`, or what is wrong. */
function parseAuthorization(header: string, hasDate: boolean): ParsedAuthorization | SigV4Failure {
  const space = header.indexOf(' ');
  const algorithm = space < 0 ? header : header.slice(0, space);
  const fields = new Map<string, string>();
  if (algorithm === ALGORITHM_IDENTIFIER) {
    for (const part of header
      .slice(space + 1)
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== '')) {
      const eq = part.indexOf('=');
      if (eq < 0) {
        return fail(
          'IncompleteSignatureException',
          `'${part}' not a valid key=value pair (missing equal-sign) in Authorization header: '${header}'.`,
        );
      }
      fields.set(part.slice(0, eq), part.slice(eq + 1));
    }
  }
  const missing = ['Credential', 'Signature', 'SignedHeaders']
    .filter((name) => !fields.get(name))
    .map((name) => `Authorization header requires '${name}' parameter.`);
  if (!hasDate)
    missing.push("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  if (missing.length > 0) {
    return fail('IncompleteSignatureException', `${missing.join(' ')} Authorization=${header}`);
  }
  return {
    credential: fields.get('Credential') ?? '',
    signedHeaders: (fields.get('SignedHeaders') ?? '').split(';'),
    signature: fields.get('Signature') ?? '',
  };
}

/** smithy's signer, with the two steps it keeps protected opened for the mismatch message. */
class Recomputer extends SignatureV4 {
  async explain(
    request: HttpRequest,
    payloadHash: string,
    longDate: string,
    scope: string,
  ): Promise<{ canonicalRequest: string; stringToSign: string }> {
    const canonicalRequest = this.createCanonicalRequest(
      request,
      getCanonicalHeaders(request, undefined, new Set(Object.keys(request.headers))),
      payloadHash,
    );
    const stringToSign = await this.createStringToSign(
      longDate,
      scope,
      canonicalRequest,
      ALGORITHM_IDENTIFIER,
    );
    return { canonicalRequest, stringToSign };
  }
}

/**
 * Checks a request's SigV4 `Authorization` header the way API Gateway's IAM authorization does,
 * for one identity: recomputes the signature with `@smithy/signature-v4` over the method, the path
 * as sent, the query, the headers named in SignedHeaders and the SHA-256 of the exact body bytes,
 * and compares in constant time. Returns the accepted access key id, or the 403 API Gateway answers.
 *
 * @example
 * const result = await verifySigV4(
 *   { method: 'GET', url: '/topics', headers: req.headers, body: new Uint8Array() },
 *   { identity: { accessKeyId, secretAccessKey }, region: 'us-east-1' },
 * );
 * if (!result.ok) send(403, { message: result.message }, { 'x-amzn-ErrorType': result.errorType });
 */
export async function verifySigV4(request: SigV4Request, options: SigV4VerifyOptions): Promise<SigV4Result> {
  const service = options.service ?? 'execute-api';
  const now = options.now ?? new Date();
  const headers = lowerHeaders(request.headers);
  const { path, rawQuery } = splitTarget(request.url);
  const query = parseQuery(rawQuery);
  const authorization = headers.get('authorization');
  const token = headers.get('x-amz-security-token');
  const presigned = Object.keys(query).some((name) =>
    ['x-amz-signature', 'x-amz-credential', 'x-amz-algorithm'].includes(name.toLowerCase()),
  );

  if (authorization === undefined || authorization.trim() === '') {
    if (presigned) {
      return fail(
        'IncompleteSignatureException',
        'npm start verifies SigV4 in the Authorization header only: presigned (query-string) signatures are not supported locally.',
      );
    }
    if (token === undefined) return fail('MissingAuthenticationTokenException', 'Forbidden');
  }
  const amzDate = headers.get('x-amz-date');
  const parsed = parseAuthorization(authorization ?? '', amzDate !== undefined || headers.has('date'));
  if ('ok' in parsed) return parsed;
  if (amzDate === undefined) {
    // A request dated only by `Date` (never what the SDK sends): smithy's signer always signs X-Amz-Date.
    return fail('IncompleteSignatureException', 'npm start verifies requests dated by X-Amz-Date only.');
  }
  const signedAt = parseBasicIso(amzDate);
  if (signedAt === undefined) {
    return fail(
      'IncompleteSignatureException',
      `Date must be in ISO-8601 'basic format'. Got '${amzDate}'. See http://en.wikipedia.org/wiki/ISO_8601`,
    );
  }
  const scope = parsed.credential.split('/');
  if (scope.length !== 5) {
    return fail(
      'IncompleteSignatureException',
      `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${parsed.credential}'`,
    );
  }
  const [accessKeyId, scopeDate, scopeRegion, scopeService, terminator] = scope as [
    string,
    string,
    string,
    string,
    string,
  ];
  if (!parsed.signedHeaders.includes('host')) {
    return fail(
      'IncompleteSignatureException',
      "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
    );
  }
  const scopeErrors: string[] = [];
  if (scopeDate !== amzDate.slice(0, 8)) {
    scopeErrors.push(
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`,
    );
  }
  if (scopeRegion !== options.region)
    scopeErrors.push(`Credential should be scoped to a valid region, not '${scopeRegion}'.`);
  if (scopeService !== service)
    scopeErrors.push(`Credential should be scoped to correct service: '${service}'.`);
  if (terminator !== 'aws4_request') {
    scopeErrors.push(
      `Credential should be scoped with a valid terminator: 'aws4_request', not '${terminator}'.`,
    );
  }
  if (scopeErrors.length > 0) return fail('InvalidSignatureException', `${scopeErrors.join(' ')} `);

  const skew = signedAt.getTime() - now.getTime();
  if (skew < -MAX_CLOCK_SKEW_MS) {
    const earliest = basicIso(new Date(now.getTime() - MAX_CLOCK_SKEW_MS));
    return fail(
      'InvalidSignatureException',
      `Signature expired: ${amzDate} is now earlier than ${earliest} (${basicIso(now)} - 5 min.)`,
    );
  }
  if (skew > MAX_CLOCK_SKEW_MS) {
    const latest = basicIso(new Date(now.getTime() + MAX_CLOCK_SKEW_MS));
    return fail(
      'InvalidSignatureException',
      `Signature not yet current: ${amzDate} is still later than ${latest} (${basicIso(now)} + 5 min.)`,
    );
  }

  const { identity } = options;
  if (!constantTimeEqual(accessKeyId, identity.accessKeyId)) {
    return fail('UnrecognizedClientException', INVALID_TOKEN);
  }
  if (
    identity.sessionToken === undefined
      ? token !== undefined
      : token === undefined || !constantTimeEqual(token, identity.sessionToken)
  ) {
    return fail('UnrecognizedClientException', INVALID_TOKEN);
  }

  // Only the headers the client signed, as it sent them. X-Amz-Content-Sha256, when signed, is
  // replaced by the body's real hash: smithy would trust the header, which would let a changed body
  // through under the original header.
  const payloadHash =
    request.body.length === 0 ? EMPTY_SHA256 : createHash('sha256').update(request.body).digest('hex');
  const signedHeaders: HeaderBag = {};
  for (const name of parsed.signedHeaders) {
    const value = name === 'x-amz-content-sha256' ? payloadHash : headers.get(name);
    if (value !== undefined) signedHeaders[name] = value;
  }
  const host = headers.get('host') ?? '';
  const signable: HttpRequest = {
    method: request.method,
    protocol: 'http:',
    hostname: host.replace(/:\d+$/, ''),
    path,
    query,
    headers: signedHeaders,
    ...(request.body.length === 0 ? {} : { body: request.body }),
  };
  const recomputer = new Recomputer({
    service,
    region: options.region,
    // No session token here: smithy would add the header to the signed set whether or not the client
    // signed it. A signed token is in `signedHeaders` already, and was compared above.
    credentials: { accessKeyId: identity.accessKeyId, secretAccessKey: identity.secretAccessKey },
    sha256: Sha256,
    uriEscapePath: true,
    applyChecksum: false,
  });
  const signed = await recomputer.sign(signable, {
    signingDate: signedAt,
    signableHeaders: new Set(Object.keys(signedHeaders)),
  });
  const expected = /Signature=([0-9a-f]+)$/.exec(String(signed.headers.authorization))?.[1] ?? '';
  const expectedList = /SignedHeaders=([^,]*),/.exec(String(signed.headers.authorization))?.[1] ?? '';
  const sameHeaders = expectedList === parsed.signedHeaders.join(';');
  if (constantTimeEqual(expected, parsed.signature) && sameHeaders) return { ok: true, accessKeyId };

  const { canonicalRequest, stringToSign } = await recomputer.explain(
    { ...signable, headers: { ...signedHeaders, 'x-amz-date': amzDate } },
    payloadHash,
    amzDate,
    `${scopeDate}/${scopeRegion}/${scopeService}/aws4_request`,
  );
  return fail(
    'InvalidSignatureException',
    `${MISMATCH}\n\nThe Canonical String for this request should have been\n'${canonicalRequest}'\n\nThe String-to-Sign should have been\n'${stringToSign}'\n`,
  );
}
