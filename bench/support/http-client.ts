import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TableNames } from '../../lib/adapters/dynamodb/tables.ts';
import type { ServiceEndpoints } from '../../lib/harness/services.ts';
import type { InstrumentSnapshot } from './instrument.ts';

/** The HTTP API served by a child process (bench/support/http-server.ts), and a client for it. */
export interface HttpApi {
  readonly url: string;
  /** POST /topics/{topic}/records with a prepared JSON body; resolves to the number of offsets. */
  produce(topic: string, body: string): Promise<number>;
  /** GET .../records?offset=; resolves to the records' count, value bytes and next offset. */
  fetch(
    topic: string,
    partition: number,
    offset: number,
  ): Promise<{ records: number; bytes: number; nextOffset: number; highWatermark: number }>;
  createTopic(name: string, partitions: number): Promise<void>;
  /** What the server's SDK clients sent since the last reset. */
  snapshot(): Promise<InstrumentSnapshot>;
  reset(): Promise<void>;
  close(): Promise<void>;
}

async function check(response: Response): Promise<string> {
  const text = await response.text();
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${text.slice(0, 300)}`);
  return text;
}

export async function startHttpApi(options: {
  endpoints: ServiceEndpoints;
  bucket: string;
  tables: TableNames;
}): Promise<HttpApi> {
  const child: ChildProcess = fork(fileURLToPath(new URL('./http-server.ts', import.meta.url)), [], {
    env: { ...process.env, STREAMBED_BENCH_SERVER: JSON.stringify(options) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, (message: { snapshot?: InstrumentSnapshot }) => void>();
  let nextId = 0;
  const url = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the bench HTTP server exited with ${code}`)));
    child.on(
      'message',
      (message: { type: string; url?: string; id?: number; snapshot?: InstrumentSnapshot }) => {
        if (message.type === 'ready' && message.url !== undefined) resolve(message.url);
        else if (message.id !== undefined) {
          pending.get(message.id)?.(message);
          pending.delete(message.id);
        }
      },
    );
  });
  child.removeAllListeners('exit');
  const ask = (type: 'snapshot' | 'reset') =>
    new Promise<{ snapshot?: InstrumentSnapshot }>((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      child.send({ type, id });
    });
  const json = { 'content-type': 'application/json' };
  return {
    url,
    produce: async (topic, body) => {
      const text = await check(
        await fetch(`${url}/topics/${encodeURIComponent(topic)}/records`, {
          method: 'POST',
          headers: json,
          body,
        }),
      );
      return (JSON.parse(text) as { offsets: unknown[] }).offsets.length;
    },
    fetch: async (topic, partition, offset) => {
      const text = await check(
        await fetch(
          `${url}/topics/${encodeURIComponent(topic)}/partitions/${partition}/records?offset=${offset}`,
        ),
      );
      const out = JSON.parse(text) as {
        records: { valueBase64?: string; value?: unknown }[];
        nextOffset: number;
        highWatermark: number;
      };
      let bytes = 0;
      for (const record of out.records) {
        // What a client gets back: the value's bytes (base64 decoded).
        if (record.valueBase64 !== undefined) bytes += Buffer.from(record.valueBase64, 'base64').length;
      }
      return {
        records: out.records.length,
        bytes,
        nextOffset: out.nextOffset,
        highWatermark: out.highWatermark,
      };
    },
    createTopic: async (name, partitions) => {
      await check(
        await fetch(`${url}/topics`, {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ name, partitions }),
        }),
      );
    },
    snapshot: async () => {
      const reply = await ask('snapshot');
      if (reply.snapshot === undefined) throw new Error('the bench HTTP server sent no snapshot');
      return reply.snapshot;
    },
    reset: async () => {
      await ask('reset');
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.send({ type: 'close' });
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}
