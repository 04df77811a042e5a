/**
 * The Kafka door as a process: the entry point of the KafkaEndpoint container (infra/kafka-endpoint.ts),
 * bundled by esbuild at synthesis into the image. Configured by its environment:
 *
 * - `STREAMBED_BUCKET`, `STREAMBED_LOG_TABLE`, `STREAMBED_META_TABLE`: the stack's data (required);
 * - `KAFKA_PORT`: the port to listen on, on every interface (default 9092);
 * - `ADVERTISED_HOST`, `ADVERTISED_PORT`: the address Metadata gives clients, the load balancer's
 *   (required: behind a load balancer the task's own address is not the one clients reach);
 * - `STREAMBED_KAFKA_AUTH`: `sts` (the default: clients authenticate with SASL OAUTHBEARER or PLAIN
 *   and a presigned STS GetCallerIdentity token, docs/design.md §12) or `none` (no authentication,
 *   only when said explicitly);
 * - `STREAMBED_KAFKA_CLUSTER_ID`: the cluster id tokens are bound to and Metadata reports (default
 *   `streambed`; KafkaEndpoint sets its advertised host name);
 * - `STREAMBED_KAFKA_ALLOWED_PRINCIPALS`: comma-separated account ids and ARN patterns (`*`) allowed
 *   to connect; else `STREAMBED_AWS_ACCOUNT`: callers of that account (one of the two is required
 *   with `sts`);
 * - `STREAMBED_KAFKA_STS_ENDPOINTS`: comma-separated origins besides STS's public endpoints that
 *   tokens may name (an STS VPC endpoint's).
 *
 * SDK clients take their region and credentials from the environment (the task role on ECS). SIGTERM
 * (ECS stopping the task) closes the listener and every connection, then exits 0.
 *
 *   STREAMBED_BUCKET=b STREAMBED_LOG_TABLE=l STREAMBED_META_TABLE=m ADVERTISED_HOST=kafka.example.com \
 *     ADVERTISED_PORT=9094 node lib/kafka/server/main.ts
 */
import { createStreambed } from '../../adapters/aws.ts';
import { awsClients } from '../../adapters/clients.ts';
import { DynamoKafkaGroupStore } from '../../adapters/dynamodb/kafka-groups.ts';
import { principalAuthorizer } from '../auth/authorize.ts';
import { stsVerifier } from '../auth/sts-verifier.ts';
import { startKafkaServer } from './server.ts';

/** What the process reads from its environment. */
export interface KafkaMainConfig {
  readonly bucket: string;
  readonly tables: { readonly log: string; readonly meta: string };
  readonly port: number;
  readonly advertised: { readonly host: string; readonly port: number };
  readonly clusterId: string;
  readonly auth: KafkaMainAuth;
}

/** Client authentication: by STS (the default), or none when `STREAMBED_KAFKA_AUTH=none`. */
export type KafkaMainAuth =
  | {
      readonly mode: 'sts';
      /** Callers of this account are allowed (when no allow-list is given). */
      readonly account?: string;
      readonly allowedPrincipals?: readonly string[];
      readonly stsEndpoints?: readonly string[];
    }
  | { readonly mode: 'none' };

/**
 * Reads and checks the environment; throws naming the variable and repeating its bad value.
 *
 * @example
 * const config = kafkaConfigFromEnv(process.env);
 */
export function kafkaConfigFromEnv(env: Readonly<Record<string, string | undefined>>): KafkaMainConfig {
  const required = (name: string): string => {
    const value = env[name];
    if (value === undefined || value === '') throw new Error(`environment variable ${name} is not set`);
    return value;
  };
  const port = (name: string, fallback?: number): number => {
    const raw = env[name];
    if ((raw === undefined || raw === '') && fallback !== undefined) return fallback;
    const value = Number(required(name));
    if (!Number.isInteger(value) || value < 1 || value > 65535) {
      throw new Error(`environment variable ${name} must be a port number from 1 to 65535, got '${raw}'`);
    }
    return value;
  };
  const list = (name: string): string[] | undefined => {
    const items = (env[name] ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
    return items.length === 0 ? undefined : items;
  };
  const bucket = required('STREAMBED_BUCKET');
  const tables = { log: required('STREAMBED_LOG_TABLE'), meta: required('STREAMBED_META_TABLE') };
  const listen = port('KAFKA_PORT', 9092);
  const advertised = { host: required('ADVERTISED_HOST'), port: port('ADVERTISED_PORT') };
  const mode = env.STREAMBED_KAFKA_AUTH || 'sts';
  if (mode !== 'sts' && mode !== 'none') {
    throw new Error(`environment variable STREAMBED_KAFKA_AUTH must be sts or none, got '${mode}'`);
  }
  const account = env.STREAMBED_AWS_ACCOUNT || undefined;
  if (account !== undefined && !/^\d{12}$/.test(account)) {
    throw new Error(
      `environment variable STREAMBED_AWS_ACCOUNT must be a 12-digit account id, got '${account}'`,
    );
  }
  const allowedPrincipals = list('STREAMBED_KAFKA_ALLOWED_PRINCIPALS');
  for (const p of allowedPrincipals ?? []) {
    if (!/^\d{12}$/.test(p) && !p.startsWith('arn:')) {
      throw new Error(
        `environment variable STREAMBED_KAFKA_ALLOWED_PRINCIPALS must hold account ids and ARN patterns, got '${p}'`,
      );
    }
  }
  if (mode === 'sts' && account === undefined && allowedPrincipals === undefined) {
    throw new Error(
      'STREAMBED_KAFKA_AUTH=sts needs STREAMBED_AWS_ACCOUNT (callers of that account) or STREAMBED_KAFKA_ALLOWED_PRINCIPALS: refusing to admit any AWS principal',
    );
  }
  const stsEndpoints = list('STREAMBED_KAFKA_STS_ENDPOINTS');
  return {
    bucket,
    tables,
    port: listen,
    advertised,
    clusterId: env.STREAMBED_KAFKA_CLUSTER_ID || 'streambed',
    auth:
      mode === 'none'
        ? { mode }
        : {
            mode,
            ...(account === undefined ? {} : { account }),
            ...(allowedPrincipals === undefined ? {} : { allowedPrincipals }),
            ...(stsEndpoints === undefined ? {} : { stsEndpoints }),
          },
  };
}

async function main(): Promise<void> {
  const config = kafkaConfigFromEnv(process.env);
  const clients = awsClients();
  const engine = createStreambed({ ...clients, bucket: config.bucket, tables: config.tables });
  const kafka = await startKafkaServer({
    engine,
    // Consumer groups: state in the meta table, shared by every task (docs/design.md §12).
    groups: { store: new DynamoKafkaGroupStore({ client: clients.dynamodb, table: config.tables.meta }) },
    // Every interface: the load balancer reaches the task on its VPC address.
    host: '0.0.0.0',
    port: config.port,
    advertised: config.advertised,
    clusterId: config.clusterId,
    ...(config.auth.mode === 'sts'
      ? {
          auth: {
            verifier: stsVerifier(
              config.auth.stsEndpoints === undefined ? {} : { allowedEndpoints: config.auth.stsEndpoints },
            ),
            authorize: principalAuthorizer({
              ...(config.auth.account === undefined ? {} : { account: config.auth.account }),
              ...(config.auth.allowedPrincipals === undefined
                ? {}
                : { allowedPrincipals: config.auth.allowedPrincipals }),
            }),
            log: (line: string) => console.log(line),
          },
        }
      : {}),
    log: (line) => console.error(line),
  });
  const who =
    config.auth.mode === 'none'
      ? 'authentication OFF (STREAMBED_KAFKA_AUTH=none)'
      : `SASL OAUTHBEARER/PLAIN with STS tokens for cluster '${config.clusterId}', allowed: ${config.auth.allowedPrincipals?.join(', ') ?? `account ${config.auth.account}`}`;
  console.log(
    `Kafka protocol: listening on 0.0.0.0:${config.port}, advertising ${kafka.broker.host}:${kafka.broker.port}; ${who}`,
  );
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: closing the Kafka listener and its connections`);
    await kafka.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

if (import.meta.main) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
