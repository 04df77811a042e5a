import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { type Command, Option } from 'commander';
import type { ProducerRecord } from '../client/index.ts';
import { nonNegativeInt } from './args.ts';
import { type Context, progressBar, write } from './context.ts';
import { InterruptedError, UsageError } from './exit-codes.ts';

/**
 * Bytes in a human unit.
 *
 * @example
 * humanBytes(46_285); // '45.2 KiB'
 */
export function humanBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}

export interface LineOptions {
  readonly keySeparator?: string;
  readonly json?: boolean;
  readonly partition?: number;
}

/**
 * One input line as a record: the key split off at the first `keySeparator`, the value parsed as
 * JSON with `json`, raw text otherwise. A UsageError names the line when it has no separator or
 * is not JSON.
 *
 * @example
 * lineRecord('orders', 'c-42:{"total":12}', 7, { keySeparator: ':', json: true });
 * // { topic: 'orders', key: 'c-42', json: { total: 12 } }
 */
export function lineRecord(
  topic: string,
  line: string,
  lineNumber: number,
  options: LineOptions,
): ProducerRecord {
  let key: string | undefined;
  let value = line;
  if (options.keySeparator !== undefined) {
    const at = line.indexOf(options.keySeparator);
    if (at < 0) throw new UsageError(`line ${lineNumber}: no key separator '${options.keySeparator}'`);
    key = line.slice(0, at);
    value = line.slice(at + options.keySeparator.length);
  }
  const base = {
    topic,
    ...(key === undefined ? {} : { key }),
    ...(options.partition === undefined ? {} : { partition: options.partition }),
  };
  if (options.json !== true) return { ...base, value };
  try {
    return { ...base, json: JSON.parse(value) as unknown };
  } catch (error) {
    throw new UsageError(`line ${lineNumber}: not JSON (${(error as Error).message})`);
  }
}

interface ProduceOptions extends LineOptions {
  readonly file?: string;
}

/**
 * `streambed produce <topic>`: one record per line of stdin or `--file`, through the SDK's batching
 * producer; a summary on stderr at the end.
 *
 * @example
 * produceCommand(program, contextOf);
 */
export function produceCommand(program: Command, contextOf: (cmd: Command) => Context): Command {
  return program
    .command('produce')
    .description('send one record per line of stdin (or --file); empty lines are skipped')
    .argument('<topic>', 'topic name')
    .option('-f, --file <path>', 'read the lines from this file instead of stdin')
    .option('-K, --key-separator <s>', 'split each line into key and value at the first <s>')
    .option('--json', 'each value is JSON (consumed back as JSON); a line that is not JSON stops the command')
    .addOption(
      new Option(
        '-p, --partition <n>',
        'send every record to this partition (default: by key, murmur2)',
      ).argParser(nonNegativeInt),
    )
    .addHelpText(
      'after',
      '\nExamples:\n  printf \'c-1:{"total":12}\\n\' | streambed produce orders -K : --json\n' +
        '  streambed produce clicks --file clicks.txt\n',
    )
    .action(async (topic: string, options: ProduceOptions, cmd: Command) => {
      await produce(contextOf(cmd), topic, options);
    });
}

async function produce(ctx: Context, topic: string, options: ProduceOptions): Promise<void> {
  let input: NodeJS.ReadableStream = ctx.io.stdin;
  let size = 0;
  if (options.file !== undefined) {
    try {
      size = (await stat(options.file)).size;
    } catch (error) {
      throw new UsageError(`cannot read --file '${options.file}': ${(error as Error).message}`);
    }
    input = createReadStream(options.file);
  }
  const producer = ctx.client().producer({ lingerMs: 20 });
  const started = performance.now();
  const partitions = new Set<number>();
  let delivered = 0;
  let bytes = 0;
  let outstanding = 0;
  let allSettled: (() => void) | undefined;
  let firstFailure: unknown;
  const bar = progressBar(ctx.io.stderr, 'bytes', size >= 1024 * 1024 ? size : 0);
  let read = 0;
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let stop: unknown;
  let lineNumber = 0;
  const onAbort = () => lines.close();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const raw of lines) {
      lineNumber++;
      read += Buffer.byteLength(raw) + 1;
      bar.update(read);
      if (ctx.signal.aborted) {
        stop = new InterruptedError();
        break;
      }
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line === '') continue;
      const record = lineRecord(topic, line, lineNumber, options);
      const { delivered: done } = await producer.send(record);
      const size = Buffer.byteLength(line);
      outstanding++;
      done
        .then(
          (metadata) => {
            delivered++;
            bytes += size;
            partitions.add(metadata.partition);
          },
          (error: unknown) => {
            firstFailure ??= error;
          },
        )
        .finally(() => {
          if (--outstanding === 0) allSettled?.();
        });
    }
  } catch (error) {
    stop = error;
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    lines.close();
    bar.stop();
  }
  if (stop === undefined && ctx.signal.aborted) stop = new InterruptedError();
  // Whatever was sent is delivered (or fails) before the summary: nothing partial goes unreported.
  await producer.close().catch(() => undefined);
  if (outstanding > 0) {
    await new Promise<void>((resolve) => {
      allSettled = resolve;
    });
  }
  const seconds = (performance.now() - started) / 1000;
  const failed = firstFailure === undefined ? '' : ' (some records failed)';
  await write(
    ctx.io.stderr,
    `produced ${delivered} record${delivered === 1 ? '' : 's'} (${humanBytes(bytes)}) to ` +
      `${partitions.size} partition${partitions.size === 1 ? '' : 's'} of '${topic}' in ${seconds.toFixed(2)} s${failed}\n`,
  );
  if (stop instanceof UsageError) {
    throw new UsageError(
      `${stop.message}; the ${delivered} record${delivered === 1 ? '' : 's'} before it were sent`,
    );
  }
  if (stop !== undefined) throw stop;
  if (firstFailure !== undefined) throw firstFailure;
}
