import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { type StreambedClient, StreambedError } from '../client/index.ts';
import { consumeCommand } from './consume.ts';
import {
  type CliIo,
  type Context,
  DEFAULT_ENDPOINT,
  type GlobalOptions,
  makeClient,
  resolveConnection,
} from './context.ts';
import { errorCode, exitCodeFor, exitCodesHelp, InterruptedError, UsageError } from './exit-codes.ts';
import { groupsCommand } from './groups.ts';
import { kafkaTokenCommand } from './kafka-token.ts';
import { produceCommand } from './produce.ts';
import { topicsCommand } from './topics.ts';

/** The package's version, for `--version` (from lib/cli or dist/cli, two levels below package.json). */
function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/**
 * The `streambed` command tree, writing to `io` and throwing CommanderError instead of exiting
 * (commander's exitOverride), so callers and tests get exit codes. `contextOf` gives each action
 * its streams, signal and client.
 *
 * @example
 * const program = buildProgram(io, contextOf);
 * await program.parseAsync(['topics', 'list'], { from: 'user' });
 */
export function buildProgram(io: CliIo, contextOf: (cmd: Command) => Context): Command {
  const program = new Command('streambed')
    .description(
      'Kafka semantics on S3 + DynamoDB: topics, produce, consume and consumer groups from the shell',
    )
    .version(version(), '-V, --version')
    .addOption(
      new Option(
        '--endpoint <url>',
        `the Streambed HTTP API (env STREAMBED_ENDPOINT; default ${DEFAULT_ENDPOINT}, npm start's)`,
      ),
    )
    .addOption(
      new Option(
        '--auth <mode>',
        'request signing (default: sigv4 for an *.amazonaws.com endpoint, else none)',
      ).choices(['none', 'sigv4']),
    )
    .option('--profile <name>', 'AWS profile for sigv4 credentials (default: the default credential chain)')
    .option(
      '--region <region>',
      'AWS region for sigv4 (default: from an execute-api host name, else AWS_REGION)',
    )
    .option(
      '--direct',
      "straight to S3 and DynamoDB (IAM access to the stack's bucket and tables), no HTTP API: env " +
        'STREAMBED_BUCKET, STREAMBED_LOG_TABLE, STREAMBED_META_TABLE; AWS_ENDPOINT_URL_S3 / ' +
        'AWS_ENDPOINT_URL_DYNAMODB for other endpoints (MinIO, DynamoDB Local)',
    )
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      `${exitCodesHelp()}\nQuickstart (against npm start):\n` +
        '  streambed topics create orders --partitions 3\n' +
        '  printf \'c-1:{"total":12}\\n\' | streambed produce orders --key-separator : --json\n' +
        "  streambed consume orders --from-beginning -e --format '%k %s\\n'\n",
    );
  topicsCommand(program, contextOf);
  produceCommand(program, contextOf);
  consumeCommand(program, contextOf);
  groupsCommand(program, contextOf);
  kafkaTokenCommand(program, contextOf);
  return program;
}

/** The innermost cause's code or message: `ECONNREFUSED` under `fetch failed`. */
function rootCause(error: unknown): string | undefined {
  let cause = (error as { cause?: unknown } | undefined)?.cause;
  let found: string | undefined;
  for (let depth = 0; depth < 5 && cause !== undefined && cause !== null; depth++) {
    const { code, message } = cause as { code?: unknown; message?: unknown };
    found = typeof code === 'string' ? code : typeof message === 'string' ? message : found;
    cause = (cause as { cause?: unknown }).cause;
  }
  return found;
}

/** The line an error prints on stderr (nothing for commander's, which printed its own). */
function describeError(error: unknown, io: CliIo, options: GlobalOptions): string | undefined {
  if (error instanceof CommanderError) return undefined;
  if (error instanceof UsageError) return `error: ${error.message}\n(add --help for usage)\n`;
  if (error instanceof InterruptedError) return 'interrupted\n';
  if (error instanceof StreambedError) {
    const cause = exitCodeFor(error) === 3 ? rootCause(error) : undefined;
    const where =
      exitCodeFor(error) === 3
        ? `\nis Streambed running at ${resolveConnection(options, io.env).endpoint}? (npm start, or --endpoint / STREAMBED_ENDPOINT)`
        : '';
    return `error ${error.code}: ${error.message}${cause === undefined ? '' : ` (${cause})`}${where}\n`;
  }
  const env = io.env;
  const detail = env.STREAMBED_DEBUG
    ? String((error as Error)?.stack ?? error)
    : String((error as Error)?.message ?? error);
  const name = (error as Error)?.name;
  return `error ${typeof name === 'string' && name !== 'Error' ? name : errorCode(error)}: ${detail}\n`;
}

/**
 * Runs the CLI on `argv` (the arguments after `streambed`) and resolves to the exit code: 0 ok,
 * 1 a Streambed error, 2 a usage error, 3 the endpoint cannot be reached, 130 interrupted (see
 * `streambed --help`). Never calls process.exit; `io.signal` is Ctrl-C.
 *
 * @example
 * const code = await main(['topics', 'list', '--endpoint', 'http://127.0.0.1:8080']);
 */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const stop = new AbortController();
  let outputClosed = false;
  const onAbort = () => stop.abort();
  if (io.signal?.aborted === true) stop.abort();
  io.signal?.addEventListener('abort', onAbort, { once: true });
  const onOutputError = (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') return;
    outputClosed = true;
    stop.abort();
  };
  io.stdout.on('error', onOutputError);
  let client: StreambedClient | undefined;
  let globals: GlobalOptions = {};
  const contextOf = (cmd: Command): Context => ({
    io,
    signal: stop.signal,
    outputClosed: () => outputClosed,
    client: () => {
      if (client === undefined) {
        const options = cmd.optsWithGlobals<GlobalOptions>();
        globals = options;
        if (
          options.profile !== undefined &&
          options.direct !== true &&
          resolveConnection(options, io.env).auth === 'none'
        ) {
          io.stderr.write('warning: --profile has no effect with --auth none\n');
        }
        client = makeClient(options, io.env);
      }
      return client;
    },
  });
  try {
    await buildProgram(io, contextOf).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    const line = describeError(error, io, globals);
    if (line !== undefined && !(outputClosed && error instanceof InterruptedError)) io.stderr.write(line);
    return outputClosed && error instanceof InterruptedError ? 0 : exitCodeFor(error);
  } finally {
    io.signal?.removeEventListener('abort', onAbort);
    io.stdout.off('error', onOutputError);
    await client?.close().catch(() => undefined);
  }
}

function processIo(signal?: AbortSignal): CliIo {
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    ...(signal === undefined ? {} : { signal }),
  };
}

/**
 * Runs the CLI as the process: Ctrl-C and SIGTERM stop the command (a second Ctrl-C exits at once
 * with 130), and the exit code goes to process.exitCode. `bin/streambed.js` calls this.
 *
 * @example
 * import { runAsProcess } from './lib/cli/main.ts';
 * await runAsProcess();
 */
export async function runAsProcess(argv: string[] = process.argv.slice(2)): Promise<void> {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    process.exitCode = await main(argv, processIo(controller.signal));
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** True when this module is the process's entry (`node lib/cli/main.ts ...`), not an import. */
function isEntry(): boolean {
  if (import.meta.main === true) return true;
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntry()) await runAsProcess();
