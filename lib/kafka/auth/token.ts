import { MalformedTokenError, TokenExpiredError, UntrustedTokenHostError } from './errors.ts';

/*
 * The token a Kafka client authenticates with: a presigned `sts:GetCallerIdentity` request
 * (SigV4 query signing), its URL base64url-encoded:
 *
 *   https://sts.eu-west-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15
 *     &X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260101%2Feu-west-1%2Fsts%2Faws4_request
 *     &X-Amz-Date=20260101T120000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host%3Bx-streambed-cluster
 *     [&X-Amz-Security-Token=...]&X-Amz-Signature=<64 hex>
 *
 * The signed header `x-streambed-cluster: <cluster id>` is not in the URL: the server sends its own
 * cluster id with the request, so a token signed for another cluster (or made for any other service
 * that verifies GetCallerIdentity URLs) fails STS's signature check. Only the shape is checked here;
 * the signature is STS's to check (sts-verifier.ts), or the local verifier's.
 */

/** The header that binds a token to one cluster: signed by the client, sent by the server. */
export const CLUSTER_HEADER = 'x-streambed-cluster';

/** The longest lifetime (X-Amz-Expires) a token may claim, in seconds. @default 3600 */
export const MAX_TOKEN_LIFETIME_SECONDS = 3600;

/** How far in the future a token's X-Amz-Date may be (clock skew), as AWS allows. */
export const MAX_FUTURE_SKEW_MS = 5 * 60 * 1000;

/** Who STS says signed the token. */
export interface CallerIdentity {
  /** `arn:aws:sts::123456789012:assumed-role/app/session` or `arn:aws:iam::123456789012:user/ada`. */
  readonly arn: string;
  readonly account: string;
  readonly userId: string;
}

/** A verified caller and when its token stops being valid (epoch ms). */
export interface VerifiedCaller extends CallerIdentity {
  readonly expiresAt: number;
}

/**
 * The port the Kafka door authenticates through: checks a token for this cluster and says who signed
 * it, or throws a {@link KafkaAuthError}. Implementations: `stsVerifier` (asks AWS STS) and
 * `localCallerVerifier` in functions/local (checks the signature with `npm start`'s one identity).
 *
 * @example
 * const caller = await verifier.verifyCaller(token, { clusterId: 'streambed', now: Date.now() });
 * caller.arn; // 'arn:aws:sts::123456789012:assumed-role/app/i-0abc'
 */
export interface CallerVerifier {
  verifyCaller(
    token: string,
    options: { readonly clusterId: string; readonly now: number; readonly signal?: AbortSignal },
  ): Promise<VerifiedCaller>;
}

/** A token whose shape is right: what it claims, not yet verified. */
export interface CallerToken {
  readonly url: URL;
  readonly region: string;
  readonly accessKeyId: string;
  readonly signedAt: Date;
  readonly expiresAt: number;
  readonly lifetimeSeconds: number;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
  readonly sessionToken?: string;
}

export interface ParseTokenOptions {
  readonly now: number;
  /**
   * Origins besides AWS STS's public endpoints that tokens may name (`https://vpce-…`, or a test's
   * `http://127.0.0.1:5000`). @default none
   */
  readonly allowedEndpoints?: readonly string[];
}

/** `sts.amazonaws.com`, `sts.eu-west-1.amazonaws.com`, `sts-fips.us-east-1.amazonaws.com`, `.amazonaws.com.cn`. */
const STS_HOST = /^sts(-fips)?(\.[a-z]{2}(-[a-z]+)+-\d)?\.amazonaws\.com(\.cn)?$/;
const BASE64URL = /^[A-Za-z0-9_-]+={0,2}$/;
const QUERY_NAMES = new Set([
  'Action',
  'Version',
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Security-Token',
  'X-Amz-Signature',
]);

/**
 * Whether a host name is one of AWS STS's public endpoints (global, regional, FIPS, China).
 *
 * @example isStsHost('sts.eu-west-1.amazonaws.com') // true;  isStsHost('169.254.169.254') // false
 */
export function isStsHost(hostname: string): boolean {
  return STS_HOST.test(hostname);
}

function parseAmzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '') === value
    ? date
    : undefined;
}

/**
 * Decodes a token and checks its shape: base64url of an https URL on an STS host (or an allowed
 * endpoint), path `/`, exactly GetCallerIdentity with SigV4 query parameters and nothing else, the
 * host and {@link CLUSTER_HEADER} signed, a lifetime of at most {@link MAX_TOKEN_LIFETIME_SECONDS},
 * not expired at `now`. Nothing is fetched. Throws {@link MalformedTokenError},
 * {@link UntrustedTokenHostError} or {@link TokenExpiredError}.
 *
 * @example
 * const { url, expiresAt } = parseCallerToken(token, { now: Date.now() });
 */
export function parseCallerToken(token: string, options: ParseTokenOptions): CallerToken {
  const text = token.trim();
  if (text === '' || text.length > 8192 || !BASE64URL.test(text)) {
    throw new MalformedTokenError('the token is not base64url text (a presigned STS URL, base64url-encoded)');
  }
  let url: URL;
  try {
    url = new URL(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw new MalformedTokenError('the token does not decode to a URL');
  }
  const origin = url.origin;
  const allowed = (options.allowedEndpoints ?? []).map((e) => new URL(e).origin);
  const trusted =
    allowed.includes(origin) || (url.protocol === 'https:' && url.port === '' && isStsHost(url.hostname));
  if (!trusted || url.username !== '' || url.password !== '') {
    throw new UntrustedTokenHostError(
      `the token's URL is for ${url.protocol}//${url.host}, not AWS STS (sts.<region>.amazonaws.com): it is not fetched`,
    );
  }
  if (url.pathname !== '/' || url.hash !== '') {
    throw new MalformedTokenError(`the token's URL must have path '/', not '${url.pathname}'`);
  }
  const q = url.searchParams;
  for (const name of q.keys()) {
    if (!QUERY_NAMES.has(name))
      throw new MalformedTokenError(`the token's URL has an unexpected parameter '${name}'`);
    if (q.getAll(name).length > 1) throw new MalformedTokenError(`the token's URL repeats '${name}'`);
  }
  const get = (name: string): string => {
    const value = q.get(name);
    if (value === null || value === '') throw new MalformedTokenError(`the token's URL has no ${name}`);
    return value;
  };
  if (get('Action') !== 'GetCallerIdentity' || get('Version') !== '2011-06-15') {
    throw new MalformedTokenError('the token must be a GetCallerIdentity request (Version 2011-06-15)');
  }
  if (get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') {
    throw new MalformedTokenError('the token must be signed with AWS4-HMAC-SHA256');
  }
  const scope = get('X-Amz-Credential').split('/');
  const [accessKeyId = '', scopeDate = '', region = '', service = '', terminator = ''] = scope;
  if (scope.length !== 5 || accessKeyId === '' || service !== 'sts' || terminator !== 'aws4_request') {
    throw new MalformedTokenError(
      `X-Amz-Credential must be <key>/<date>/<region>/sts/aws4_request, got '${get('X-Amz-Credential')}'`,
    );
  }
  const amzDate = get('X-Amz-Date');
  const signedAt = parseAmzDate(amzDate);
  if (signedAt === undefined || amzDate.slice(0, 8) !== scopeDate) {
    throw new MalformedTokenError(
      `X-Amz-Date '${amzDate}' is not the credential scope's date '${scopeDate}'`,
    );
  }
  const expires = get('X-Amz-Expires');
  const lifetimeSeconds = /^\d{1,7}$/.test(expires) ? Number(expires) : Number.NaN;
  if (!(lifetimeSeconds >= 1 && lifetimeSeconds <= MAX_TOKEN_LIFETIME_SECONDS)) {
    throw new MalformedTokenError(
      `X-Amz-Expires must be 1 to ${MAX_TOKEN_LIFETIME_SECONDS} seconds, got '${expires}'`,
    );
  }
  const signedHeaders = get('X-Amz-SignedHeaders').split(';');
  if (signedHeaders.join(';') !== `host;${CLUSTER_HEADER}`) {
    throw new MalformedTokenError(
      `the token must sign exactly the headers host;${CLUSTER_HEADER} (it binds the token to one cluster), got '${signedHeaders.join(';')}'`,
    );
  }
  const signature = get('X-Amz-Signature');
  if (!/^[0-9a-f]{64}$/.test(signature))
    throw new MalformedTokenError('X-Amz-Signature is not 64 hex digits');
  const expiresAt = signedAt.getTime() + lifetimeSeconds * 1000;
  if (expiresAt <= options.now) {
    throw new TokenExpiredError(`the token expired at ${new Date(expiresAt).toISOString()}: make a new one`);
  }
  if (signedAt.getTime() - options.now > MAX_FUTURE_SKEW_MS) {
    throw new TokenExpiredError(
      `the token is signed at ${amzDate}, more than 5 minutes ahead of this server's clock`,
    );
  }
  const sessionToken = q.get('X-Amz-Security-Token') ?? undefined;
  return {
    url,
    region,
    accessKeyId,
    signedAt,
    expiresAt,
    lifetimeSeconds,
    signedHeaders,
    signature,
    ...(sessionToken === undefined ? {} : { sessionToken }),
  };
}
