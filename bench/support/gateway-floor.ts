import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ServiceEndpoints } from '../../lib/harness/services.ts';
import type { BatchLocation } from './entry.ts';
import type { CallResult } from './load.ts';

/** The gateway floor's server (gateway-floor-server.ts), running in a child process of its own. */
export interface GatewayFloor {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Starts the gateway floor: the produce floor's PutObject + PutItem behind the local API's request
 * handling and API Gateway event, nothing else (see gateway-floor-server.ts).
 *
 * @example
 * const gateway = await startGatewayFloor({ endpoints, bucket, table: tables.log });
 * await gateway.close();
 */
export async function startGatewayFloor(options: {
  endpoints: ServiceEndpoints;
  bucket: string;
  table: string;
}): Promise<GatewayFloor> {
  const child: ChildProcess = fork(fileURLToPath(new URL('./gateway-floor-server.ts', import.meta.url)), [], {
    env: { ...process.env, STREAMBED_GATEWAY_FLOOR: JSON.stringify(options) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error('the gateway floor server did not start within 60 s'));
    }, 60_000);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the gateway floor server exited with ${code}`)));
    child.on('message', (message: { type: string; url?: string }) => {
      if (message.type === 'ready' && message.url !== undefined) {
        clearTimeout(timer);
        resolve(message.url);
      }
    });
  });
  child.removeAllListeners('exit');
  child.removeAllListeners('error');
  child.on('error', () => {}); // a send to a child that died: close() below still ends
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        if (gone()) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.send({ type: 'close' });
      }),
  };
}

/** What one gateway-floor call sends: a segment of one batch, with the content type HTTP produce uses. */
export interface GatewayFloorCall {
  readonly url: string;
  /** Object keys and item keys are `<run>/<i>` and `<run>#0`, sk i. */
  readonly run: string;
  readonly bytes: Uint8Array;
  readonly batch: BatchLocation;
  readonly contentType: string;
  readonly result: CallResult;
  /** The fetch the SDK's HttpTransport uses (lib/client/node-fetch.ts), so the hop is the same. */
  readonly fetch: (
    url: URL,
    init: { method: string; headers: Record<string, string>; signal: AbortSignal; body: Uint8Array },
  ) => Promise<{ status: number; arrayBuffer(): Promise<ArrayBuffer> }>;
}

/** A load call (bench/support/load.ts) of the gateway floor: its i-th call stores object i and item i. */
export function gatewayFloorCall(options: GatewayFloorCall): () => Promise<CallResult> {
  const batch = JSON.stringify({
    byteOffset: options.batch.byteOffset,
    byteLength: options.batch.byteLength,
    recordCount: options.batch.recordCount,
    maxTimestamp: options.batch.maxTimestamp,
  });
  let next = 0;
  return async () => {
    const i = next++;
    const url = new URL(options.url);
    url.searchParams.set('key', `gateway-floor/${options.run}/${i}`);
    url.searchParams.set('pk', `gateway-floor#${options.run}#0`);
    url.searchParams.set('sk', String(i));
    url.searchParams.set('batch', batch);
    const answer = await options.fetch(url, {
      method: 'POST',
      headers: { 'content-type': options.contentType },
      signal: AbortSignal.timeout(60_000),
      body: options.bytes,
    });
    const text = Buffer.from(await answer.arrayBuffer()).toString('utf8');
    if (answer.status !== 200) throw new Error(`gateway floor: HTTP ${answer.status} ${text.slice(0, 200)}`);
    return options.result;
  };
}
