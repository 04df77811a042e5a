/**
 * Child process of the bench: serves the HTTP API through the same Lambda handlers as
 * `npm start` (functions/local/server.ts builds API Gateway events), on its own engine and SDK
 * clients, with the requests those clients send counted and reported over IPC. It runs in its own
 * process as a Lambda runs apart from its callers, so client and server do not share an event loop.
 *
 * Input: env STREAMBED_BENCH_SERVER = JSON { endpoints, bucket, tables }.
 * IPC out: { type: 'ready', url }, { type: 'snapshot', id, snapshot }, { type: 'done', id }.
 * IPC in: { type: 'snapshot' | 'reset', id }, { type: 'close' }.
 */
import type { TableNames } from '../../lib/adapters/dynamodb/tables.ts';
import type { ServiceEndpoints } from '../../lib/harness/services.ts';

// Powertools reads these when the handlers are imported: quiet, and no EMF metrics on stdout.
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';

const input = JSON.parse(process.env.STREAMBED_BENCH_SERVER ?? '{}') as {
  endpoints: ServiceEndpoints;
  bucket: string;
  tables: TableNames;
};
const { localClients } = await import('../../lib/adapters/clients.ts');
const { createStreambed } = await import('../../lib/adapters/aws.ts');
const { Instruments } = await import('./instrument.ts');
const { useEngine } = await import('../../functions/api/runtime.ts');
const { startLocalApi } = await import('../../functions/local/server.ts');

const { s3, dynamodb } = localClients(input.endpoints);
const instruments = new Instruments().attach(s3, dynamodb);
useEngine(createStreambed({ s3, dynamodb, bucket: input.bucket, tables: input.tables }));
const api = await startLocalApi({});

type Message = { type: 'snapshot' | 'reset' | 'close'; id?: number };
process.on('message', (message: Message) => {
  if (message.type === 'snapshot') {
    process.send?.({ type: 'snapshot', id: message.id, snapshot: instruments.snapshot() });
  } else if (message.type === 'reset') {
    instruments.reset();
    process.send?.({ type: 'done', id: message.id });
  } else if (message.type === 'close') {
    void api.close().finally(() => {
      s3.destroy();
      dynamodb.destroy();
      process.exit(0);
    });
  }
});
process.send?.({ type: 'ready', url: api.url });
