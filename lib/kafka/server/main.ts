/**
 * The Kafka door as a process: the entry point of the KafkaEndpoint container (infra/kafka-endpoint.ts),
 * bundled by esbuild at synthesis into the image. Configured by its environment:
 *
 * - `STREAMBED_BUCKET`, `STREAMBED_LOG_TABLE`, `STREAMBED_META_TABLE`: the stack's data (required);
 * - `KAFKA_PORT`: the port to listen on, on every interface (default 9092);
 * - `ADVERTISED_HOST`, `ADVERTISED_PORT`: the address Metadata gives clients, the load balancer's
 *   (required: behind a load balancer the task's own address is not the one clients reach).
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
import { startKafkaServer } from './server.ts';

/** What the process reads from its environment. */
export interface KafkaMainConfig {
  readonly bucket: string;
  readonly tables: { readonly log: string; readonly meta: string };
  readonly port: number;
  readonly advertised: { readonly host: string; readonly port: number };
}

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
  return {
    bucket: required('STREAMBED_BUCKET'),
    tables: { log: required('STREAMBED_LOG_TABLE'), meta: required('STREAMBED_META_TABLE') },
    port: port('KAFKA_PORT', 9092),
    advertised: { host: required('ADVERTISED_HOST'), port: port('ADVERTISED_PORT') },
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
    log: (line) => console.error(line),
  });
  console.log(
    `Kafka protocol: listening on 0.0.0.0:${config.port}, advertising ${kafka.broker.host}:${kafka.broker.port}`,
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
