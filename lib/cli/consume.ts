import { setTimeout as sleep } from 'node:timers/promises';
import { type Command, Option } from 'commander';
import {
  type ConsumerRecord,
  FETCH_MAX_RECORDS,
  type StreambedClient,
  type StreambedError,
  UnknownPartitionError,
  withRetry,
} from '../client/index.ts';
import { integer, nonNegativeInt, positiveInt, timestamp } from './args.ts';
import { type Context, interruptible, type Progress, progressBar, write } from './context.ts';
import { InterruptedError, UsageError } from './exit-codes.ts';
import { formatterFor, type RecordFormatter } from './format.ts';

export interface ConsumeOptions {
  readonly fromBeginning?: boolean;
  readonly offset?: number;
  readonly timestamp?: number;
  readonly partition?: number;
  readonly group?: string;
  readonly maxMessages?: number;
  readonly format?: string;
  readonly exit?: boolean;
}

/**
 * The flags `consume` refuses together, as a UsageError: one start position at most, and a group
 * chooses its own partitions and starts at its committed offsets.
 *
 * @example
 * checkConsumeOptions({ group: 'g', partition: 0 }); // throws UsageError
 */
export function checkConsumeOptions(options: ConsumeOptions): void {
  const starts = [
    options.fromBeginning === true ? '--from-beginning' : undefined,
    options.offset === undefined ? undefined : '--offset',
    options.timestamp === undefined ? undefined : '--timestamp',
  ].filter((s) => s !== undefined);
  if (starts.length > 1) throw new UsageError(`give one start position at most, not ${starts.join(' and ')}`);
  if (options.group !== undefined && options.partition !== undefined) {
    throw new UsageError('--partition reads partitions directly; a --group assigns its partitions itself');
  }
  if (options.group !== undefined && options.offset !== undefined) {
    throw new UsageError(
      '--offset reads partitions directly; move a group with `streambed groups reset-offsets`',
    );
  }
}

/**
 * `streambed consume <topic>`: kcat -C / kafka-console-consumer.
 *
 * @example
 * consumeCommand(program, contextOf);
 */
export function consumeCommand(program: Command, contextOf: (cmd: Command) => Context): Command {
  return program
    .command('consume')
    .description(
      'print records of a topic, following new ones until Ctrl-C (or -e); without --group it reads ' +
        'partitions directly and commits nothing',
    )
    .argument('<topic>', 'topic name')
    .option('-b, --from-beginning', 'start at the log start (with --group: where the group has no commit)')
    .addOption(
      new Option(
        '-o, --offset <n>',
        'start at this offset; negative: that many records before the end',
      ).argParser(integer),
    )
    .addOption(
      new Option(
        '--timestamp <time>',
        'start at the first record at or after ms since the epoch or an ISO date',
      ).argParser(timestamp),
    )
    .addOption(new Option('-p, --partition <n>', 'read only this partition').argParser(nonNegativeInt))
    .option('-g, --group <group>', 'consume as a member of this group, committing offsets')
    .addOption(new Option('-c, --max-messages <n>', 'stop after this many records').argParser(positiveInt))
    .option(
      '-f, --format <fmt>',
      "'json' (one object per line), or kcat tokens: %t topic, %p partition, %o offset, %k key, %K key length, " +
        '%s value, %S value length, %T timestamp, %h headers, %% and \\n \\t escapes (default: the value and a newline)',
    )
    .option('-e, --exit', 'exit at the end of the partitions as they were at start (default: follow)')
    .addHelpText(
      'after',
      "\nExamples:\n  streambed consume orders --from-beginning -e --format '%p:%o %k=%s\\n'\n" +
        '  streambed consume orders --group billing --format json\n',
    )
    .action(async (topic: string, options: ConsumeOptions, cmd: Command) => {
      checkConsumeOptions(options);
      const format = formatterFor(options.format);
      const ctx = contextOf(cmd);
      const sink = new Sink(ctx, format, options.maxMessages ?? Number.POSITIVE_INFINITY);
      try {
        if (options.group === undefined) await consumeDirect(ctx, topic, options, sink);
        else await consumeGroup(ctx, topic, options.group, options, sink);
      } finally {
        sink.progress.stop();
      }
      await write(ctx.io.stderr, `consumed ${sink.count} record${sink.count === 1 ? '' : 's'}\n`);
      // Ctrl-C of a following consumer is how it ends; of a bounded one (-e), an interruption.
      if (ctx.signal.aborted && options.exit === true && !ctx.outputClosed()) throw new InterruptedError();
    });
}

/** Where records go: formatted to stdout, counted against --max-messages. */
class Sink {
  count = 0;
  progress: Progress = { update: () => undefined, stop: () => undefined };
  private readonly ctx: Context;
  private readonly format: RecordFormatter;
  private readonly max: number;

  constructor(ctx: Context, format: RecordFormatter, max: number) {
    this.ctx = ctx;
    this.format = format;
    this.max = max;
  }

  get remaining(): number {
    return this.max - this.count;
  }

  get stopped(): boolean {
    return this.remaining <= 0 || this.ctx.signal.aborted;
  }

  async emit(records: readonly ConsumerRecord[]): Promise<void> {
    const take = records.slice(0, Math.max(0, this.remaining));
    if (take.length === 0) return;
    this.count += take.length;
    await write(this.ctx.io.stdout, Buffer.concat(take.map(this.format)));
  }

  /** A progress bar (stderr a TTY, stdout not one) for a read with a known total. */
  startProgress(total: number): void {
    if (this.ctx.io.stdout.isTTY === true) return;
    this.progress = progressBar(this.ctx.io.stderr, 'records', Math.min(total, this.max));
  }
}

/** Waits `ms`, or less when the signal aborts. */
async function pause(ms: number, signal: AbortSignal): Promise<void> {
  await sleep(ms, undefined, { signal }).catch(() => undefined);
}

interface Cursor {
  readonly partition: number;
  readonly start: number;
  offset: number;
  /** The high watermark at start, with -e. */
  readonly end: number;
}

/** The start offset of one partition for the options. */
async function startOffset(
  client: StreambedClient,
  topic: string,
  state: { partition: number; logStartOffset: number; highWatermark: number },
  options: ConsumeOptions,
): Promise<number> {
  if (options.fromBeginning === true) return state.logStartOffset;
  if (options.offset !== undefined) {
    return options.offset >= 0
      ? options.offset
      : Math.max(state.logStartOffset, state.highWatermark + options.offset);
  }
  if (options.timestamp !== undefined) {
    const found = await client
      .admin()
      .listOffsets(topic, { timestamp: options.timestamp }, [state.partition]);
    return found.get(state.partition) ?? state.highWatermark;
  }
  return state.highWatermark;
}

/** Reads partitions directly (no group, no commits), fetching them in parallel and printing in partition order. */
async function consumeDirect(
  ctx: Context,
  topic: string,
  options: ConsumeOptions,
  sink: Sink,
): Promise<void> {
  const client = ctx.client();
  const description = await interruptible(client.admin().describeTopic(topic), ctx.signal);
  let states = description.partitionStates;
  if (options.partition !== undefined) {
    states = states.filter((s) => s.partition === options.partition);
    if (states.length === 0)
      throw new UnknownPartitionError(topic, options.partition, description.partitions);
  }
  const cursors: Cursor[] = await interruptible(
    Promise.all(
      states.map(async (s) => {
        const start = await startOffset(client, topic, s, options);
        return { partition: s.partition, start, offset: start, end: s.highWatermark };
      }),
    ),
    ctx.signal,
  );
  const bounded = options.exit === true;
  const active = () => cursors.filter((c) => !bounded || c.offset < c.end);
  if (bounded) sink.startProgress(cursors.reduce((n, c) => n + Math.max(0, c.end - c.start), 0));
  const progress = () => cursors.reduce((n, c) => n + Math.max(0, Math.min(c.offset, c.end) - c.start), 0);
  while (!sink.stopped && active().length > 0) {
    const reading = active();
    const results = await Promise.all(
      reading.map((c) => fetchPartition(ctx, client, topic, c, sink.remaining)),
    );
    if (ctx.signal.aborted) break;
    let got = false;
    for (const [i, c] of reading.entries()) {
      const result = results[i];
      if (result === undefined) continue;
      const records = bounded ? result.records.filter((r) => r.offset < c.end) : result.records;
      await sink.emit(records.slice(0, sink.remaining));
      c.offset = result.nextOffset;
      got ||= records.length > 0;
      if (sink.stopped) break;
    }
    sink.progress.update(progress());
    if (!got && !sink.stopped && active().length > 0) await pause(500, ctx.signal);
  }
}

/** One fetch of a partition; undefined after moving the cursor (below the log start) or above the end. */
async function fetchPartition(
  ctx: Context,
  client: StreambedClient,
  topic: string,
  cursor: Cursor,
  remaining: number,
): Promise<{ records: ConsumerRecord[]; nextOffset: number } | undefined> {
  try {
    const result = await withRetry(
      () =>
        client.transport.fetch({
          topic,
          partition: cursor.partition,
          offset: cursor.offset,
          // As many as are still wanted, up to the server's most: asking for fewer than a stored batch
          // holds would fetch that batch again for each slice of it.
          maxRecords: Math.max(1, Math.min(FETCH_MAX_RECORDS, remaining)),
        }),
      { retries: 4, maxDelayMs: 1_000 },
    );
    return {
      records: result.records.map((r) => ({ topic, partition: cursor.partition, ...r })),
      nextOffset: result.nextOffset,
    };
  } catch (error) {
    const e = error as StreambedError & { logStartOffset?: number; highWatermark?: number };
    if (e.code !== 'OffsetOutOfRange') throw error;
    const [state] = (await client.admin().describeTopic(topic)).partitionStates.filter(
      (s) => s.partition === cursor.partition,
    );
    if (state !== undefined && cursor.offset < state.logStartOffset) {
      await write(
        ctx.io.stderr,
        `partition ${cursor.partition}: offset ${cursor.offset} is below the log start; skipping to ${state.logStartOffset}\n`,
      );
      cursor.offset = state.logStartOffset;
    }
    return undefined;
  }
}

/** Reads as a member of a group: its partitions from its committed offsets, committing as it goes and at the end. */
async function consumeGroup(
  ctx: Context,
  topic: string,
  group: string,
  options: ConsumeOptions,
  sink: Sink,
): Promise<void> {
  const client = ctx.client();
  const ends =
    options.exit === true
      ? await interruptible(client.admin().listOffsets(topic, 'latest'), ctx.signal)
      : undefined;
  const consumer = client.consumer({
    group,
    topic,
    autoOffsetReset: options.fromBeginning === true ? 'earliest' : 'latest',
    onError: (error) => {
      void write(ctx.io.stderr, `warning: ${(error as Error).message}\n`);
    },
  });
  try {
    await interruptible(consumer.connect(), ctx.signal);
    if (options.timestamp !== undefined) {
      for (const p of consumer.assignment()) await consumer.seek(p, { timestamp: options.timestamp });
    }
    const starts = consumer.positions();
    const atEnd = () =>
      ends !== undefined &&
      [...consumer.positions()].every(([p, position]) => position >= (ends.get(p) ?? 0));
    if (ends !== undefined) {
      sink.startProgress([...starts].reduce((n, [p, s]) => n + Math.max(0, (ends.get(p) ?? 0) - s), 0));
    }
    while (!sink.stopped && !atEnd()) {
      const records = await consumer.poll({ maxRecords: Math.min(500, sink.remaining), timeoutMs: 500 });
      await sink.emit(records);
      if (ends !== undefined) {
        sink.progress.update(
          [...consumer.positions()].reduce(
            (n, [p, position]) =>
              n + Math.max(0, Math.min(position, ends.get(p) ?? 0) - (starts.get(p) ?? 0)),
            0,
          ),
        );
      }
    }
    await consumer.commit();
  } finally {
    await consumer.close();
  }
}
