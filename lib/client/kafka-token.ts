import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { InvalidArgumentError } from '../core/errors.ts';

/** The header that binds a token to one cluster (lib/kafka/auth/token.ts CLUSTER_HEADER). */
const CLUSTER_HEADER = 'x-streambed-cluster';

export interface KafkaAuthTokenOptions {
  /** The cluster the token is for: the Kafka server's cluster id (KafkaEndpoint's; `streambed` for npm start). */
  readonly clusterId: string;
  /** @default AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1 */
  readonly region?: string;
  /** @default the default AWS credential chain (`@aws-sdk/credential-provider-node`) */
  readonly credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** How long the token is valid, 1 to 3600 seconds. @default 900 */
  readonly expiresInSeconds?: number;
  /** The STS endpoint to sign for. @default `https://sts.<region>.amazonaws.com` */
  readonly stsEndpoint?: string;
  /** The signing clock, for tests. @default the current time */
  readonly now?: () => Date;
}

let chain: Promise<AwsCredentialIdentityProvider> | undefined;

/** The default credential chain, made once: its cache keeps instance or container credentials between tokens. */
function defaultCredentials(): Promise<AwsCredentialIdentityProvider> {
  chain ??= import('@aws-sdk/credential-provider-node').then((m) => m.defaultProvider());
  return chain;
}

/**
 * A token for the Kafka door's SASL authentication: a presigned `sts:GetCallerIdentity` request
 * (SigV4 query signing with your AWS credentials, `x-streambed-cluster` signed), base64url-encoded.
 * The server has STS check it and learns who you are; it cannot be used for anything else, nor on
 * another cluster, and expires after `expiresInSeconds`. No secret leaves this process.
 *
 * @example
 * // kafkajs: OAUTHBEARER, a fresh token at every (re-)authentication
 * const kafka = new Kafka({
 *   brokers: ['kafka.example.com:9094'], ssl: true,
 *   sasl: { mechanism: 'oauthbearer', oauthBearerProvider: async () =>
 *     ({ value: await createKafkaAuthToken({ clusterId: 'streambed', region: 'eu-west-1' }) }) },
 * });
 * // kcat (librdkafka): PLAIN with the token as the password
 * //   kcat -b kafka.example.com:9094 -X security.protocol=SASL_SSL -X sasl.mechanism=PLAIN \
 * //     -X sasl.username=aws -X sasl.password="$(npx streambed kafka-token --cluster-id streambed)" -L
 */
export async function createKafkaAuthToken(options: KafkaAuthTokenOptions): Promise<string> {
  const region = options.region ?? (process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1');
  const expiresIn = options.expiresInSeconds ?? 900;
  if (!Number.isInteger(expiresIn) || expiresIn < 1 || expiresIn > 3600) {
    throw new InvalidArgumentError(
      `expiresInSeconds must be a whole number from 1 to 3600, got ${expiresIn}`,
    );
  }
  if (options.clusterId === '') throw new InvalidArgumentError('clusterId must not be empty');
  const endpoint = new URL(options.stsEndpoint ?? `https://sts.${region}.amazonaws.com`);
  const [{ SignatureV4 }, { Sha256 }] = await Promise.all([
    import('@smithy/signature-v4'),
    import('@aws-crypto/sha256-js'),
  ]);
  const credentials = options.credentials ?? (await defaultCredentials());
  const signer = new SignatureV4({
    service: 'sts',
    region,
    credentials,
    sha256: Sha256,
    uriEscapePath: true,
  });
  const presigned = await signer.presign(
    {
      method: 'GET',
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      ...(endpoint.port === '' ? {} : { port: Number(endpoint.port) }),
      path: '/',
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      headers: { host: endpoint.host, [CLUSTER_HEADER]: options.clusterId },
    },
    { expiresIn, ...(options.now === undefined ? {} : { signingDate: options.now() }) },
  );
  const url = new URL(`${endpoint.protocol}//${endpoint.host}/`);
  for (const [name, value] of Object.entries(presigned.query ?? {})) {
    for (const v of Array.isArray(value) ? value : [value])
      if (typeof v === 'string') url.searchParams.append(name, v);
  }
  return Buffer.from(url.toString(), 'utf8').toString('base64url');
}
