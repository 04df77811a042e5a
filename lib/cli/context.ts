import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import cliProgress from 'cli-progress';
import { DirectTransport, type DirectTransportOptions, StreambedClient } from '../client/index.ts';
import { InterruptedError, UsageError } from './exit-codes.ts';

/** A stream the CLI writes to; `isTTY` decides whether progress bars are drawn. */
export type Output = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

/** The process's streams and environment, replaceable in tests. */
export interface CliIo {
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: Output;
  readonly stderr: Output;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Aborted on Ctrl-C (SIGINT) or SIGTERM: commands stop, clean up and return. */
  readonly signal?: AbortSignal;
}

/** The global options, as every command sees them. */
export interface GlobalOptions {
  readonly endpoint?: string;
  readonly auth?: 'none' | 'sigv4';
  readonly profile?: string;
  readonly region?: string;
  /** Straight to S3 and DynamoDB instead of the HTTP API. */
  readonly direct?: boolean;
}

/** `npm start`'s address. */
export const DEFAULT_ENDPOINT = 'http://127.0.0.1:8080';

/** What a command gets: the streams, the interrupt signal, and a client made from the global options. */
export interface Context {
  readonly io: CliIo;
  /** Aborted on Ctrl-C, or when stdout was closed by its reader (`consume | head`). */
  readonly signal: AbortSignal;
  /** True when the signal aborted because stdout's reader went away (EPIPE): not an interruption. */
  readonly outputClosed: () => boolean;
  /** The client for the global options, made on first use. */
  readonly client: () => StreambedClient;
}

/**
 * The endpoint and auth the global options and environment select: `--endpoint`, else
 * `STREAMBED_ENDPOINT`, else `npm start`'s; `--auth`, else `sigv4` for an `*.amazonaws.com` host and
 * `none` otherwise.
 *
 * @example
 * resolveConnection({}, { STREAMBED_ENDPOINT: 'https://abc.execute-api.eu-west-1.amazonaws.com' });
 * // { endpoint: 'https://abc.execute-api.eu-west-1.amazonaws.com', auth: 'sigv4' }
 */
export function resolveConnection(
  options: GlobalOptions,
  env: Readonly<Record<string, string | undefined>>,
): { endpoint: string; auth: 'none' | 'sigv4' } {
  const endpoint = options.endpoint ?? (env.STREAMBED_ENDPOINT || undefined) ?? DEFAULT_ENDPOINT;
  let host = '';
  try {
    host = new URL(endpoint).hostname;
  } catch {
    // HttpTransport reports the bad URL.
  }
  const auth =
    options.auth ?? (host === 'amazonaws.com' || host.endsWith('.amazonaws.com') ? 'sigv4' : 'none');
  return { endpoint, auth };
}

/** `--profile`'s credentials from the default chain, loaded on first use (the module is large). */
function profileCredentials(profile: string): AwsCredentialIdentityProvider {
  let provider: Promise<AwsCredentialIdentityProvider> | undefined;
  return async () => {
    provider ??= import('@aws-sdk/credential-provider-node').then((m) => m.defaultProvider({ profile }));
    return (await provider)();
  };
}

/**
 * A client for the global options: signed with the default AWS credential chain (or `--profile`'s
 * credentials) when the auth is sigv4.
 *
 * @example
 * const client = makeClient({ profile: 'prod', endpoint: 'https://abc.execute-api.eu-west-1.amazonaws.com' }, process.env);
 */
export function makeClient(
  options: GlobalOptions,
  env: Readonly<Record<string, string | undefined>>,
): StreambedClient {
  if (options.direct === true) return directClient(options, env);
  const { endpoint, auth } = resolveConnection(options, env);
  return new StreambedClient({
    endpoint,
    auth,
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(auth === 'sigv4' && options.profile !== undefined
      ? { credentials: profileCredentials(options.profile) }
      : {}),
    retry: { retries: 4, maxDelayMs: 1_000 },
  });
}

/** What `--direct` reads from the environment: the stack's bucket and tables. */
export const DIRECT_ENV = ['STREAMBED_BUCKET', 'STREAMBED_LOG_TABLE', 'STREAMBED_META_TABLE'] as const;

/**
 * A client on the direct transport: the engine in this process on S3 and DynamoDB clients built from
 * the default AWS chain (or `--profile`) and `--region`, with the bucket and tables from
 * {@link DIRECT_ENV}. `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL_DYNAMODB` point at other endpoints
 * (MinIO, DynamoDB Local; S3 then uses path-style addressing).
 *
 * @example
 * // STREAMBED_BUCKET=… STREAMBED_LOG_TABLE=… STREAMBED_META_TABLE=… streambed --direct topics list
 * const client = directClient({ direct: true, region: 'eu-west-1' }, process.env);
 */
export function directClient(
  options: GlobalOptions,
  env: Readonly<Record<string, string | undefined>>,
): StreambedClient {
  const missing = DIRECT_ENV.filter((name) => !env[name]);
  if (missing.length > 0) {
    throw new UsageError(
      `--direct needs ${missing.join(', ')} (the stack's bucket and tables) in the environment`,
    );
  }
  const region = options.region ?? (env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined);
  const common = {
    ...(region === undefined ? {} : { region }),
    ...(options.profile === undefined ? {} : { credentials: profileCredentials(options.profile) }),
  };
  const s3Endpoint = env.AWS_ENDPOINT_URL_S3 || undefined;
  const dynamoEndpoint = env.AWS_ENDPOINT_URL_DYNAMODB || undefined;
  const s3 = new S3Client({
    ...common,
    ...(s3Endpoint === undefined ? {} : { endpoint: s3Endpoint, forcePathStyle: true }),
  });
  const dynamodb = new DynamoDBClient({
    ...common,
    ...(dynamoEndpoint === undefined ? {} : { endpoint: dynamoEndpoint }),
  });
  const transport = new OwnedDirectTransport({
    s3,
    dynamodb,
    bucket: env.STREAMBED_BUCKET as string,
    tables: { log: env.STREAMBED_LOG_TABLE as string, meta: env.STREAMBED_META_TABLE as string },
  });
  return new StreambedClient({ transport, retry: { retries: 4, maxDelayMs: 1_000 } });
}

/** A direct transport on SDK clients the CLI made: closing it destroys them (their sockets). */
class OwnedDirectTransport extends DirectTransport {
  private readonly clients: readonly { destroy(): void }[];
  constructor(options: DirectTransportOptions) {
    super(options);
    this.clients = [options.s3, options.dynamodb];
  }
  override async close(): Promise<void> {
    await super.close();
    for (const client of this.clients) client.destroy();
  }
}

/**
 * Writes to a stream, waiting while it is full (so `consume | slow-reader` holds memory steady).
 *
 * @example
 * await write(io.stdout, 'orders\n');
 */
export async function write(stream: Output, chunk: string | Uint8Array): Promise<void> {
  if (stream.write(chunk)) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('error', done);
      stream.off('close', done);
      resolve();
    };
    stream.once('drain', done);
    stream.once('error', done);
    stream.once('close', done);
  });
}

/**
 * Rows as aligned columns under a header, each line ending with a newline.
 *
 * @example
 * table(['TOPIC', 'PARTITIONS'], [['orders', 3]]); // 'TOPIC   PARTITIONS\norders  3\n'
 */
export function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r) => `${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 2))).join('')}\n`)
    .join('');
}

/**
 * Waits for `work`, or throws InterruptedError as soon as the signal aborts (the work is abandoned).
 *
 * @example
 * const topics = await interruptible(admin.listTopics(), ctx.signal);
 */
export function interruptible<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new InterruptedError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new InterruptedError());
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** A progress bar on stderr, or nothing when stderr is not a terminal. */
export interface Progress {
  update(value: number): void;
  stop(): void;
}

const NO_PROGRESS: Progress = { update: () => undefined, stop: () => undefined };

/**
 * A progress bar with ETA on stderr when it is a TTY (never in piped output), else a no-op.
 *
 * @example
 * const bar = progressBar(io.stderr, 'records', 5_000);
 * bar.update(1_200); bar.stop();
 */
export function progressBar(stderr: Output, unit: string, total: number): Progress {
  if (stderr.isTTY !== true || total <= 0) return NO_PROGRESS;
  const bar = new cliProgress.SingleBar(
    {
      stream: stderr as NodeJS.WritableStream,
      format: `{bar} {percentage}% | {value}/{total} ${unit} | ETA {eta_formatted}`,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  let stopped = false;
  return {
    update: (value) => {
      if (!stopped) bar.update(Math.min(value, total));
    },
    stop: () => {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}
