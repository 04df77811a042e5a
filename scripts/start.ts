/**
 * `npm start`: MinIO + DynamoDB Local + the HTTP API on the same handlers as on AWS.
 *
 *   npm start -- --port 8080 --data-dir .streambed
 *
 * Port: --port or STREAMBED_PORT (default 8080). Data: --data-dir or STREAMBED_DATA_DIR (default
 * ./.streambed); data survives restarts. Consumer functions: --consumers or STREAMBED_CONSUMERS (default
 * ./streambed.consumers.json when it exists). The lifecycle sweep (retention, garbage collection) runs
 * every STREAMBED_SWEEP_INTERVAL_MS (default 60000); objects are kept STREAMBED_GC_GRACE_MS (default
 * 120000, also the least allowed) past the point they are provably unreferenced. Ctrl-C stops everything.
 *
 * Kafka protocol: --kafka-port or STREAMBED_KAFKA_PORT (default 9092; 0 turns it off), on the same host; its
 * Metadata advertises exactly the address printed in the banner. Consumer groups are served on it, their
 * state in the same DynamoDB meta table; a new group's first rebalance waits
 * STREAMBED_KAFKA_INITIAL_REBALANCE_DELAY_MS for more members (default 0 here; Kafka's is 3000).
 *
 * Authorization: --auth or STREAMBED_AUTH, `none` (the default: any request is accepted) or `sigv4`:
 * only requests SigV4-signed as API Gateway's IAM authorization requires (service execute-api) with
 * the credentials in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN, if set), for
 * AWS_REGION (else AWS_DEFAULT_REGION, else us-east-1); others get API Gateway's 403. `sigv4` also
 * protects the Kafka port: clients authenticate with SASL OAUTHBEARER or PLAIN and a token from
 * `npx streambed kafka-token --cluster-id streambed` (a presigned STS GetCallerIdentity URL) signed
 * with that same identity, checked locally as STS would (functions/local/sigv4-presigned.ts; the
 * caller is arn:aws:iam::$STREAMBED_LOCAL_ACCOUNT:user/local, default account 000000000000).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { LocalAuth } from '../functions/local/server.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', short: 'p' },
    'data-dir': { type: 'string', short: 'd' },
    host: { type: 'string' },
    consumers: { type: 'string', short: 'c' },
    auth: { type: 'string' },
    'kafka-port': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(
    'usage: npm start -- [--port 8080] [--data-dir .streambed] [--host 127.0.0.1] [--consumers streambed.consumers.json] [--auth none|sigv4] [--kafka-port 9092]',
  );
  process.exit(0);
}
const port = Number(values.port ?? process.env.STREAMBED_PORT ?? 8080);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be a port number, got ${values.port ?? process.env.STREAMBED_PORT}`);
  process.exit(2);
}
const kafkaPort = Number(values['kafka-port'] ?? (process.env.STREAMBED_KAFKA_PORT || 9092));
if (!Number.isInteger(kafkaPort) || kafkaPort < 0 || kafkaPort > 65535) {
  console.error(
    `--kafka-port must be a port number (0: off), got ${values['kafka-port'] ?? process.env.STREAMBED_KAFKA_PORT}`,
  );
  process.exit(2);
}
const initialRebalanceDelayMs = Number(process.env.STREAMBED_KAFKA_INITIAL_REBALANCE_DELAY_MS || 0);
if (!Number.isInteger(initialRebalanceDelayMs) || initialRebalanceDelayMs < 0) {
  console.error(
    `STREAMBED_KAFKA_INITIAL_REBALANCE_DELAY_MS must be a whole number of milliseconds, got ${process.env.STREAMBED_KAFKA_INITIAL_REBALANCE_DELAY_MS}`,
  );
  process.exit(2);
}
const dataDir = resolve(values['data-dir'] ?? process.env.STREAMBED_DATA_DIR ?? '.streambed');
const consumersFlag = values.consumers ?? process.env.STREAMBED_CONSUMERS;
const consumersFile =
  consumersFlag !== undefined
    ? resolve(consumersFlag)
    : existsSync('streambed.consumers.json')
      ? resolve('streambed.consumers.json')
      : undefined;
if (consumersFile !== undefined && !existsSync(consumersFile)) {
  console.error(`--consumers: ${consumersFile} does not exist`);
  process.exit(2);
}

const authMode = values.auth ?? (process.env.STREAMBED_AUTH || 'none');
if (authMode !== 'none' && authMode !== 'sigv4') {
  console.error(`--auth must be none or sigv4, got ${authMode}`);
  process.exit(2);
}
const accessKeyId = process.env.AWS_ACCESS_KEY_ID ?? '';
const secretAccessKey = process.env.AWS_SECRET_ACCESS_KEY ?? '';
const sessionToken = process.env.AWS_SESSION_TOKEN;
if (authMode === 'sigv4' && (accessKeyId === '' || secretAccessKey === '')) {
  console.error(
    '--auth sigv4 verifies signatures made with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: set both',
  );
  process.exit(2);
}
const region = process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1';
const auth: LocalAuth =
  authMode === 'none'
    ? { mode: 'none' }
    : {
        mode: 'sigv4',
        identity: {
          accessKeyId,
          secretAccessKey,
          ...(sessionToken === undefined || sessionToken === '' ? {} : { sessionToken }),
        },
        region,
      };

// Powertools reads these when the handlers are imported: keep local output readable.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';

const { startLocalServices } = await import('../lib/harness/services.ts');
const { serveLocalApi } = await import('../functions/local/stack.ts');
const { startLocalConsumers } = await import('../functions/local/consumers.ts');
const { localSweepSettings, startLocalSweeper } = await import('../functions/local/sweeper.ts');
const { startKafkaServer } = await import('../lib/kafka/server/server.ts');
const { createStreambed } = await import('../lib/adapters/aws.ts');
const { DynamoKafkaGroupStore } = await import('../lib/adapters/dynamodb/kafka-groups.ts');
const { localCallerVerifier } = await import('../functions/local/sigv4-presigned.ts');

try {
  localSweepSettings();
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}

console.log(`starting MinIO and DynamoDB Local (data in ${dataDir}) ...`);
const services = await startLocalServices({ dataDir, log: (line) => console.log(line) });
let api: Awaited<ReturnType<typeof serveLocalApi>>;
let consumers: Awaited<ReturnType<typeof startLocalConsumers>> | undefined;
let kafka: Awaited<ReturnType<typeof startKafkaServer>> | undefined;
let kafkaStarting = false;
try {
  api = await serveLocalApi({
    endpoints: services,
    port,
    auth,
    ...(values.host === undefined ? {} : { host: values.host }),
  });
  if (consumersFile !== undefined) {
    consumers = await startLocalConsumers({ endpoints: services, config: api.config, file: consumersFile });
  }
  if (kafkaPort !== 0) {
    const kafkaHost = values.host ?? '127.0.0.1';
    const advertisedHost = kafkaHost === '0.0.0.0' || kafkaHost === '::' ? '127.0.0.1' : kafkaHost;
    kafkaStarting = true;
    kafka = await startKafkaServer({
      engine: createStreambed(api.config),
      host: kafkaHost,
      port: kafkaPort,
      advertised: { host: advertisedHost, port: kafkaPort },
      groups: {
        store: new DynamoKafkaGroupStore({ client: api.config.dynamodb, table: api.config.tables.meta }),
        config: { initialRebalanceDelayMs },
      },
      ...(auth.mode === 'sigv4'
        ? {
            auth: {
              verifier: localCallerVerifier({
                identity: auth.identity,
                ...(process.env.STREAMBED_LOCAL_ACCOUNT
                  ? { account: process.env.STREAMBED_LOCAL_ACCOUNT }
                  : {}),
              }),
              log: (line: string) => console.error(line),
            },
          }
        : {}),
      log: (line) => console.error(line),
    });
  }
} catch (error) {
  await consumers?.stop();
  await services.stop();
  if (kafkaStarting && (error as { code?: unknown }).code === 'EADDRINUSE') {
    console.error(
      `Kafka protocol: port ${kafkaPort} is in use; pass --kafka-port <port>, or 0 to turn it off`,
    );
    process.exit(2);
  }
  throw error;
}
// Retention, index pages below the log start, unreferenced objects, deleted topics' data.
const sweeper = startLocalSweeper({
  config: api.config,
  onReport: (report) => {
    const retired = report.topics.reduce((n, t) => n + t.recordsRetired, 0);
    const objects = report.topics.reduce((n, t) => n + t.objectsDeleted, 0);
    if (retired + objects + report.deletionsFinished.length > 0) {
      console.log(
        `sweep: ${retired} records retired, ${objects} objects deleted, ${report.deletionsFinished.length} topic deletions finished`,
      );
    }
    for (const failure of report.failed) console.error(`sweep of ${failure.topic} failed: ${failure.error}`);
  },
  onError: (error) => console.error('sweep failed:', error),
});
// One write, so a reader never sees half of the banner.
console.log(
  [
    `Streambed is serving ${api.url}`,
    auth.mode === 'none'
      ? 'Authorization is OFF locally: any request is accepted (on AWS every route requires IAM/SigV4).'
      : `Authorization is ON (SigV4, as IAM on AWS): requests must be signed for ${auth.region}/execute-api with access key id ${auth.identity.accessKeyId}${auth.identity.sessionToken === undefined ? '' : ' and its session token'}; others get 403.`,
    kafka === undefined
      ? 'Kafka protocol: off (--kafka-port 0).'
      : `Kafka protocol: ${kafka.broker.host}:${kafka.broker.port}${auth.mode === 'sigv4' ? ' (SASL OAUTHBEARER or PLAIN with a `streambed kafka-token --cluster-id streambed` token is required)' : ''}`,
    `S3 (MinIO): ${services.s3Endpoint}   DynamoDB Local: ${services.dynamoDbEndpoint}`,
    consumersFile === undefined
      ? 'No consumers file: consumer functions are off (see --consumers).'
      : `Consumer functions from ${consumersFile}`,
    'Press Ctrl-C to stop.',
  ].join('\n'),
);

let stopping = false;
async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping ...`);
  await kafka?.close();
  await consumers?.stop();
  await sweeper.stop();
  await api.close();
  await services.stop();
  console.log('stopped.');
  process.exit(0);
}
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
