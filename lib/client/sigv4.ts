import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, HttpRequest } from '@smithy/types';
import { InvalidArgumentError } from '../core/errors.ts';

/** A request about to be sent, as a signer sees it. */
export interface SignableRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
}

/**
 * Adds authentication to a request: returns the headers to send (the given ones and its own). The
 * HTTP transport calls it once per attempt, so a retry is signed afresh.
 *
 * @example
 * const signer: RequestSigner = { sign: async (r) => ({ ...r.headers, authorization: `Bearer ${token}` }) };
 */
export interface RequestSigner {
  sign(request: SignableRequest): Promise<Record<string, string>>;
}

export interface SigV4Options {
  /** @default the region in an `execute-api` host name, else AWS_REGION, else AWS_DEFAULT_REGION */
  readonly region?: string;
  /** @default 'execute-api' (API Gateway with IAM authorization) */
  readonly service?: string;
  /** @default the default AWS credential chain (`@aws-sdk/credential-provider-node`) */
  readonly credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** The signing clock, for tests. @default the current time */
  readonly now?: () => Date;
}

interface Signer {
  sign(request: HttpRequest, options?: { signingDate?: Date }): Promise<{ headers: Record<string, string> }>;
}

/** The region of an API Gateway host name (`abc123.execute-api.eu-west-1.amazonaws.com`). */
export function regionFromHost(hostname: string): string | undefined {
  return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(hostname)?.[1];
}

/**
 * Signs requests with AWS Signature Version 4 (`@smithy/signature-v4`), as API Gateway's IAM
 * authorization expects: the host, the date, the body's SHA-256 and, with temporary credentials,
 * the session token. The AWS modules load on the first signature, so unsigned clients never load them.
 *
 * @example
 * const transport = new HttpTransport({ endpoint, auth: 'sigv4', region: 'eu-west-1' });
 * // or with explicit credentials:
 * const signer = sigv4Signer({ region: 'eu-west-1', credentials: { accessKeyId, secretAccessKey } });
 */
export function sigv4Signer(options: SigV4Options = {}): RequestSigner {
  const signers = new Map<string, Promise<Signer>>();
  const signerFor = (region: string) => {
    let signer = signers.get(region);
    if (signer === undefined) {
      signer = (async () => {
        const [{ SignatureV4 }, { Sha256 }] = await Promise.all([
          import('@smithy/signature-v4'),
          import('@aws-crypto/sha256-js'),
        ]);
        const credentials =
          options.credentials ?? (await import('@aws-sdk/credential-provider-node')).defaultProvider();
        return new SignatureV4({
          service: options.service ?? 'execute-api',
          region,
          credentials,
          sha256: Sha256,
          uriEscapePath: true,
          applyChecksum: true,
        });
      })();
      signers.set(region, signer);
    }
    return signer;
  };
  return {
    async sign(request) {
      const region =
        options.region ??
        regionFromHost(request.url.hostname) ??
        process.env.AWS_REGION ??
        process.env.AWS_DEFAULT_REGION;
      if (region === undefined || region === '') {
        throw new InvalidArgumentError(
          'auth sigv4 needs a region: pass `region`, set AWS_REGION, or use an execute-api host name',
        );
      }
      const signer = await signerFor(region);
      // A repeated parameter is signed with all its values (API Gateway and npm start verify them all).
      const query: Record<string, string | string[]> = {};
      request.url.searchParams.forEach((value, name) => {
        const seen = query[name];
        query[name] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
      });
      const signed = await signer.sign(
        {
          method: request.method,
          protocol: request.url.protocol,
          hostname: request.url.hostname,
          ...(request.url.port === '' ? {} : { port: Number(request.url.port) }),
          path: request.url.pathname,
          query,
          headers: { ...request.headers, host: request.url.host },
          ...(request.body === undefined ? {} : { body: request.body }),
        },
        options.now === undefined ? undefined : { signingDate: options.now() },
      );
      return signed.headers;
    },
  };
}
