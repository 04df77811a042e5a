import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { MAX_RECORDS_PER_CALL } from '../core/produce-plan.ts';
import type { BodyCodec } from './json-codec.ts';
import type { FetchLike } from './node-fetch.ts';
import type { RequestSigner } from './sigv4.ts';
import type { TransportLimits } from './transport.ts';

/** How an {@link HttpTransport} reaches the API (http-transport.ts). */
export interface HttpTransportOptions {
  /** The API's base URL: `npm start`'s (`http://127.0.0.1:8080`) or API Gateway's, with its stage path if any. */
  readonly endpoint: string;
  /**
   * `'sigv4'` signs every request for API Gateway's IAM authorization (the default AWS credential
   * chain unless `credentials`); `'none'` sends them unsigned, as `npm start` accepts.
   */
  readonly auth: 'none' | 'sigv4';
  /** For sigv4. @default from an execute-api host name, else AWS_REGION */
  readonly region?: string;
  /** For sigv4. @default the default AWS credential chain */
  readonly credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** Replaces `auth` with your own signer. */
  readonly signer?: RequestSigner;
  /** Produce and fetch bodies. @default binaryCodec (jsonCodec sends what curl users send) */
  readonly codec?: BodyCodec;
  /** How long one request may take before it fails with a retryable `Timeout`. @default 30_000 */
  readonly timeoutMs?: number;
  /**
   * The fetch implementation (a proxy, or a fault injector in tests); `globalThis.fetch` fits.
   * @default nodeFetch() — node:http(s) with keep-alive, no web-stream copies (node-fetch.ts)
   */
  readonly fetch?: FetchLike;
  /** Extra headers on every request. */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * Read fetched batches straight from the bucket, by the presigned URLs the server answers with
   * (binary bodies only): the API then carries no record bytes. A fetch whose direct reads fail is
   * redone through the API; after 3 such failures in a row the transport stops asking for
   * `directReadsPauseMs`, then tries the bucket again. @default true
   */
  readonly directReads?: boolean;
  /**
   * How long fetches go through the API after 3 failed direct reads in a row, before one is tried
   * again; each pause that ends in another failure doubles the next, up to 30 minutes, and a direct
   * read that works ends the pausing. A reader that can never reach the bucket should set
   * `directReads: false`. @default 60_000
   */
  readonly directReadsPauseMs?: number;
}

/** Failed direct reads in a row after which fetches stop asking for batch references for a while. */
export const DIRECT_READ_FAILURES = 3;

/** The longest pause of direct reads (the pause doubles while the bucket stays out of reach). */
export const MAX_DIRECT_READS_PAUSE_MS = 30 * 60 * 1000;

/** The HTTP API's limits (docs/openapi.json): bodies ≤ 5 MiB, so ≤ 3 MiB of payload once base64-encoded. */
export const HTTP_LIMITS: TransportLimits = {
  maxRecordsPerRequest: MAX_RECORDS_PER_CALL,
  maxRequestPayloadBytes: 3 * 1024 * 1024,
  maxPartitionsPerCommit: 50,
};
