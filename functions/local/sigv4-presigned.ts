import { timingSafeEqual } from 'node:crypto';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { CallerRejectedError } from '../../lib/kafka/auth/errors.ts';
import { type CallerVerifier, CLUSTER_HEADER, parseCallerToken } from '../../lib/kafka/auth/token.ts';
import type { SigV4Identity } from './sigv4-verify.ts';

/*
 * The Kafka door's token check for `npm start -- --auth sigv4`, without AWS: where STS would check a
 * presigned GetCallerIdentity URL (lib/kafka/auth/sts-verifier.ts), this recomputes its query
 * signature with npm start's one identity (the same AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
 * AWS_SESSION_TOKEN the HTTP door checks, sigv4-verify.ts) and answers as STS would. The token's
 * shape and expiry are checked by the same code as on AWS (lib/kafka/auth/token.ts).
 */

export interface LocalCallerOptions {
  readonly identity: SigV4Identity;
  /** The account STS would name. @default '000000000000' */
  readonly account?: string;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The region an STS host serves: `sts.eu-west-1.amazonaws.com` → eu-west-1; the global one → us-east-1. */
function hostRegion(hostname: string): string | undefined {
  if (/^sts(-fips)?\.amazonaws\.com(\.cn)?$/.test(hostname)) return 'us-east-1';
  return /^sts(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(hostname)?.[1];
}

/**
 * A {@link CallerVerifier} that checks a token's SigV4 query signature with one identity: the
 * access key, the session token (when the identity has one, and only then), the region of the STS
 * host, and the signature over the URL and the cluster header. Answers with
 * `arn:aws:iam::<account>:user/local`, as STS would name the caller.
 *
 * @example
 * await startKafkaServer({ engine, auth: { verifier: localCallerVerifier({ identity: { accessKeyId, secretAccessKey } }) } });
 */
export function localCallerVerifier(options: LocalCallerOptions): CallerVerifier {
  const { identity } = options;
  const account = options.account ?? '000000000000';
  return {
    async verifyCaller(token, { clusterId, now }) {
      const parsed = parseCallerToken(token, { now });
      if (!sameText(parsed.accessKeyId, identity.accessKeyId)) {
        throw new CallerRejectedError(
          'STS refused the token (403 InvalidClientTokenId: The security token included in the request is invalid)',
        );
      }
      const given = parsed.sessionToken;
      if (
        identity.sessionToken === undefined
          ? given !== undefined
          : given === undefined || !sameText(given, identity.sessionToken)
      ) {
        throw new CallerRejectedError(
          'STS refused the token (403 InvalidClientTokenId: The security token included in the request is invalid)',
        );
      }
      if (hostRegion(parsed.url.hostname) !== parsed.region) {
        throw new CallerRejectedError(
          `STS refused the token (403 SignatureDoesNotMatch: credential scope region ${parsed.region} is not ${parsed.url.hostname}'s)`,
        );
      }
      const signer = new SignatureV4({
        service: 'sts',
        region: parsed.region,
        credentials: identity,
        sha256: Sha256,
        uriEscapePath: true,
      });
      const expected = await signer.presign(
        {
          method: 'GET',
          protocol: parsed.url.protocol,
          hostname: parsed.url.hostname,
          path: '/',
          query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
          headers: { host: parsed.url.host, [CLUSTER_HEADER]: clusterId },
        },
        { signingDate: parsed.signedAt, expiresIn: parsed.lifetimeSeconds },
      );
      const signature = expected.query?.['X-Amz-Signature'];
      if (typeof signature !== 'string' || !sameText(signature, parsed.signature)) {
        throw new CallerRejectedError(
          `STS refused the token (403 SignatureDoesNotMatch): a wrong secret, a changed URL, or a token for another cluster than '${clusterId}'`,
        );
      }
      return {
        arn: `arn:aws:iam::${account}:user/local`,
        account,
        userId: identity.accessKeyId,
        expiresAt: parsed.expiresAt,
      };
    },
  };
}
