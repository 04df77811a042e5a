import { type Command, Option } from 'commander';
import type { GroupPartitionOffset } from '../client/index.ts';
import { nonNegativeInt, partitionList, timestamp } from './args.ts';
import { type Context, interruptible, table, write } from './context.ts';
import { UsageError } from './exit-codes.ts';

/** Seconds as the tables show them: whole above 10, one decimal below. */
const seconds = (s: number): string => (s >= 10 ? String(Math.round(s)) : String(Math.round(s * 10) / 10));

/**
 * The rows of `groups describe` for one topic: every partition, with `-` where the group has no commit.
 *
 * @example
 * describeRows('orders', [{ partition: 0, logStartOffset: 0, highWatermark: 50 }], committed);
 * // [['orders', 0, 40, 50, 10, '12.5']]
 */
export function describeRows(
  topic: string,
  partitions: readonly { partition: number; highWatermark: number }[],
  committed: readonly GroupPartitionOffset[],
): (string | number)[][] {
  const byPartition = new Map(committed.map((c) => [c.partition, c]));
  return partitions.map((p) => {
    const c = byPartition.get(p.partition);
    return c === undefined
      ? [topic, p.partition, '-', p.highWatermark, '-', '-']
      : [topic, p.partition, c.offset, c.highWatermark, c.lagRecords, seconds(c.lagSeconds)];
  });
}

/** Where `reset-offsets` moves the offsets, from its exclusive --to-* flags. */
type ResetTarget = 'earliest' | 'latest' | { readonly offset: number } | { readonly timestamp: number };

interface ResetOptions {
  readonly topic: string;
  readonly toEarliest?: boolean;
  readonly toLatest?: boolean;
  readonly toOffset?: number;
  readonly toDatetime?: number;
  readonly partitions?: number[];
  readonly dryRun?: boolean;
  readonly execute?: boolean;
  readonly force?: boolean;
}

/**
 * The one target the --to-* flags name; a UsageError for none or several.
 *
 * @example
 * resetTarget({ topic: 'orders', toOffset: 10 }); // { offset: 10 }
 */
export function resetTarget(options: ResetOptions): ResetTarget {
  const targets: ResetTarget[] = [
    ...(options.toEarliest === true ? ['earliest' as const] : []),
    ...(options.toLatest === true ? ['latest' as const] : []),
    ...(options.toOffset === undefined ? [] : [{ offset: options.toOffset }]),
    ...(options.toDatetime === undefined ? [] : [{ timestamp: options.toDatetime }]),
  ];
  const [target] = targets;
  if (target === undefined || targets.length > 1) {
    throw new UsageError(
      'give exactly one of --to-earliest, --to-latest, --to-offset <n>, --to-datetime <time>',
    );
  }
  return target;
}

/**
 * `streambed groups list|describe|reset-offsets`: Kafka's `kafka-consumer-groups`.
 *
 * @example
 * groupsCommand(program, contextOf);
 */
export function groupsCommand(program: Command, contextOf: (cmd: Command) => Context): Command {
  const groups = program
    .command('groups')
    .description('list consumer groups, show their lag, reset their offsets');

  groups
    .command('list')
    .description('list consumer groups, one name per line')
    .action(async (_options: unknown, cmd: Command) => {
      const ctx = contextOf(cmd);
      const names = await interruptible(ctx.client().admin().listGroups(), ctx.signal);
      await write(ctx.io.stdout, names.map((n) => `${n}\n`).join(''));
    });

  groups
    .command('describe')
    .description("a group's committed offset, end offset and lag (records, seconds) per partition")
    .argument('<group>', 'group name')
    .option('-t, --topic <topic>', 'only this topic (default: every topic the group committed on)')
    .action(async (group: string, options: { topic?: string }, cmd: Command) => {
      const ctx = contextOf(cmd);
      await write(ctx.io.stdout, await describeGroup(ctx, group, options.topic));
    });

  groups
    .command('reset-offsets')
    .description(
      "move a group's committed offsets; like kafka-consumer-groups, a dry run unless --execute (the group must have no active members, unless --force)",
    )
    .argument('<group>', 'group name')
    .requiredOption('-t, --topic <topic>', 'the topic whose offsets move')
    .option('--to-earliest', 'to the log start')
    .option('--to-latest', 'to the high watermark (skip everything)')
    .addOption(new Option('--to-offset <n>', 'to this offset').argParser(nonNegativeInt))
    .addOption(
      new Option(
        '--to-datetime <time>',
        'to the first record at or after this ISO date (or ms since the epoch)',
      ).argParser(timestamp),
    )
    .addOption(
      new Option('--partitions <list>', 'only these partitions, e.g. 0,1 (default: all)').argParser(
        partitionList,
      ),
    )
    .option('--dry-run', 'show the new offsets, change nothing (the default)')
    .option('--execute', 'move the offsets')
    .option('--force', 'reset even while the group has active members')
    .addHelpText(
      'after',
      '\nExample:\n  streambed groups reset-offsets billing --topic orders --to-earliest            # shows the plan\n  streambed groups reset-offsets billing --topic orders --to-earliest --execute  # moves them\n',
    )
    .action(async (group: string, options: ResetOptions, cmd: Command) => {
      const to = resetTarget(options);
      const ctx = contextOf(cmd);
      const result = await interruptible(
        ctx
          .client()
          .admin()
          .resetOffsets({
            group,
            topic: options.topic,
            to,
            ...(options.partitions === undefined ? {} : { partitions: options.partitions }),
            dryRun: options.execute !== true,
            force: options.force === true,
          }),
        ctx.signal,
      );
      const rows = result.offsets.map((o) => [options.topic, o.partition, o.previousOffset ?? '-', o.offset]);
      const note = result.dryRun
        ? `dry run: nothing changed (with --execute, ${rows.length} partition${rows.length === 1 ? '' : 's'} would move)\n`
        : `reset ${rows.length} partition${rows.length === 1 ? '' : 's'} of group '${group}'\n`;
      await write(ctx.io.stdout, table(['TOPIC', 'PARTITION', 'PREVIOUS', 'NEW'], rows));
      await write(ctx.io.stderr, note);
    });

  return groups;
}

async function describeGroup(ctx: Context, group: string, topic: string | undefined): Promise<string> {
  const admin = ctx.client().admin();
  const topics =
    topic === undefined
      ? (await interruptible(admin.listTopics(), ctx.signal)).map((t) => t.name).sort()
      : [topic];
  const rows: (string | number)[][] = [];
  let lagRecords = 0;
  let lagSeconds = 0;
  for (const name of topics) {
    let description: Awaited<ReturnType<typeof admin.describeGroup>>;
    let states: Awaited<ReturnType<typeof admin.describeTopic>>['partitionStates'];
    try {
      description = await interruptible(admin.describeGroup(group, name), ctx.signal);
      if (description.partitions.length === 0 && topic === undefined) continue;
      states = (await interruptible(admin.describeTopic(name), ctx.signal)).partitionStates;
    } catch (error) {
      // A topic deleted since it was listed is no longer the group's concern.
      if (topic === undefined && (error as { code?: unknown }).code === 'UnknownTopic') continue;
      throw error;
    }
    rows.push(...describeRows(name, states, description.partitions));
    lagRecords += description.lagRecords;
    lagSeconds = Math.max(lagSeconds, description.lagSeconds);
  }
  if (rows.length === 0) return `group '${group}' has no committed offsets\n`;
  return (
    table(['TOPIC', 'PARTITION', 'COMMITTED', 'END', 'LAG', 'LAG-SECONDS'], rows) +
    `\ntotal lag: ${lagRecords} record${lagRecords === 1 ? '' : 's'}, oldest ${seconds(lagSeconds)} s\n`
  );
}
