/**
 * Child process of the `kafka` suite: the Kafka door (lib/kafka/server startKafkaServer) over an engine
 * of its own on the bench's MinIO + DynamoDB Local, in a process of its own as a KafkaEndpoint task
 * runs apart from its clients. Consumer groups are served (coordinator on the meta table, no initial
 * rebalance delay, as `npm start` does).
 *
 * Input: env STREAMBED_KAFKA_SERVER = JSON { endpoints, bucket, tables }.
 * IPC out: { type: 'ready', port }, { id, cpu } (process.cpuUsage() since start, µs).
 * IPC in: { type: 'cpu', id }, { type: 'close' }.
 */
import type { TableNames } from '../../lib/adapters/dynamodb/tables.ts';
import type { ServiceEndpoints } from '../../lib/harness/services.ts';

const input = JSON.parse(process.env.STREAMBED_KAFKA_SERVER ?? '{}') as {
  endpoints: ServiceEndpoints;
  bucket: string;
  tables: TableNames;
};
const { localClients } = await import('../../lib/adapters/clients.ts');
const { createStreambed } = await import('../../lib/adapters/aws.ts');
const { startKafkaServer } = await import('../../lib/kafka/server/server.ts');
const { DynamoKafkaGroupStore } = await import('../../lib/adapters/dynamodb/kafka-groups.ts');

const { s3, dynamodb } = localClients(input.endpoints);
const engine = createStreambed({ s3, dynamodb, bucket: input.bucket, tables: input.tables });
const kafka = await startKafkaServer({
  engine,
  host: '127.0.0.1',
  port: 0,
  groups: {
    store: new DynamoKafkaGroupStore({ client: dynamodb, table: input.tables.meta }),
    config: { initialRebalanceDelayMs: 0 },
  },
  log: (line) => console.error(`[kafka-server] ${line}`),
});

type Message = { type: 'cpu' | 'close'; id?: number };
process.on('message', (message: Message) => {
  if (message.type === 'cpu') process.send?.({ id: message.id, cpu: process.cpuUsage() });
  else if (message.type === 'close') {
    void kafka.close().finally(() => {
      s3.destroy();
      dynamodb.destroy();
      process.exit(0);
    });
  }
});
process.send?.({ type: 'ready', port: kafka.broker.port });
