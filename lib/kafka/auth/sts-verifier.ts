import { CallerRejectedError, MalformedTokenError, VerifierUnavailableError } from './errors.ts';
import { type CallerIdentity, type CallerVerifier, CLUSTER_HEADER, parseCallerToken } from './token.ts';

/*
 * Verification by AWS STS, as Vault's and EKS's aws-iam-authenticator's AWS auth do it: the token is
 * a presigned GetCallerIdentity request; after its shape is checked (token.ts: an STS host only,
 * never any other URL), the server sends that request itself, adding the cluster header the client
 * signed. STS checks the signature, the expiry and the credentials, and answers with who signed it.
 * No AWS credentials are needed for this: the signature is the client's.
 */

export interface StsVerifierOptions {
  /** How long to wait for STS. @default 5000 */
  readonly timeoutMs?: number;
  /**
   * Origins besides STS's public endpoints that tokens may name: an STS VPC endpoint's
   * (`https://vpce-0abc-xyz.sts.eu-west-1.vpce.amazonaws.com`), or a test's STS (moto). @default none
   */
  readonly allowedEndpoints?: readonly string[];
  /** @default globalThis.fetch */
  readonly fetch?: typeof globalThis.fetch;
}

/**
 * Reads STS's GetCallerIdentity answer, JSON (`Accept: application/json`) or XML.
 *
 * @example
 * parseCallerIdentity('<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/ada</Arn><UserId>AIDA…</UserId><Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>')
 * // { arn: 'arn:aws:iam::123456789012:user/ada', account: '123456789012', userId: 'AIDA…' }
 */
export function parseCallerIdentity(body: string): CallerIdentity {
  let arn: unknown;
  let account: unknown;
  let userId: unknown;
  const text = body.trim();
  if (text.startsWith('{')) {
    try {
      const result = (
        JSON.parse(text) as {
          GetCallerIdentityResponse?: { GetCallerIdentityResult?: Record<string, unknown> };
        }
      ).GetCallerIdentityResponse?.GetCallerIdentityResult;
      arn = result?.Arn;
      account = result?.Account;
      userId = result?.UserId;
    } catch {
      // reported below
    }
  } else {
    const tag = (name: string) =>
      new RegExp(
        `<GetCallerIdentityResult>[\\s\\S]*<${name}>([^<]*)</${name}>[\\s\\S]*</GetCallerIdentityResult>`,
      ).exec(text)?.[1];
    arn = tag('Arn');
    account = tag('Account');
    userId = tag('UserId');
  }
  if (
    typeof arn !== 'string' ||
    !arn.startsWith('arn:') ||
    typeof account !== 'string' ||
    !/^\d{12}$/.test(account) ||
    typeof userId !== 'string'
  ) {
    throw new VerifierUnavailableError(
      `STS answered GetCallerIdentity without an Arn, Account and UserId: ${text.slice(0, 200)}`,
    );
  }
  return { arn, account, userId };
}

/** STS's error code and message from an error body (`<Code>SignatureDoesNotMatch</Code>`). */
function stsError(body: string): string {
  const json = /"Code"\s*:\s*"([^"]+)"[\s\S]*?"Message"\s*:\s*"([^"]*)"/.exec(body);
  const code = /<Code>([^<]*)<\/Code>/.exec(body)?.[1] ?? json?.[1];
  const message = /<Message>([^<]*)<\/Message>/.exec(body)?.[1] ?? json?.[2];
  return code === undefined ? body.slice(0, 200) : `${code}${message === undefined ? '' : `: ${message}`}`;
}

/**
 * A {@link CallerVerifier} that asks AWS STS. A 4xx from STS (a bad signature, an expired or unknown
 * key, a token signed for another cluster) is {@link CallerRejectedError}; a timeout, a network
 * failure or a 5xx is {@link VerifierUnavailableError} (retryable). Redirects are not followed.
 *
 * @example
 * const kafka = await startKafkaServer({ engine, auth: { verifier: stsVerifier() } });
 */
export function stsVerifier(options: StsVerifierOptions = {}): CallerVerifier {
  const timeoutMs = options.timeoutMs ?? 5000;
  const allowedEndpoints = options.allowedEndpoints ?? [];
  for (const endpoint of allowedEndpoints) new URL(endpoint); // throws on a bad one, at construction
  const fetchFn = options.fetch ?? globalThis.fetch;
  return {
    async verifyCaller(token, { clusterId, now, signal }) {
      const parsed = parseCallerToken(token, { now, allowedEndpoints });
      const signals = [AbortSignal.timeout(timeoutMs), ...(signal === undefined ? [] : [signal])];
      let response: Response;
      let body: string;
      try {
        response = await fetchFn(parsed.url, {
          method: 'GET',
          headers: { [CLUSTER_HEADER]: clusterId, accept: 'application/json' },
          redirect: 'error',
          signal: AbortSignal.any(signals),
        });
        body = await response.text();
      } catch (error) {
        throw new VerifierUnavailableError(
          `could not ask STS (${parsed.url.host}) who signed the token: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        );
      }
      if (response.status >= 500 || response.status === 429) {
        throw new VerifierUnavailableError(`STS answered ${response.status}: ${stsError(body)}`);
      }
      if (response.status !== 200) {
        throw new CallerRejectedError(
          `STS refused the token (${response.status} ${stsError(body)}): a wrong secret, a token for another cluster than '${clusterId}', or an expired key`,
        );
      }
      const caller = parseCallerIdentity(body);
      if (caller.arn === '') throw new MalformedTokenError('STS answered with an empty Arn');
      return { ...caller, expiresAt: parsed.expiresAt };
    },
  };
}
