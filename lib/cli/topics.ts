import { type Command, Option } from 'commander';
import type { TopicConfig } from '../client/index.ts';
import { configEntry, positiveInt } from './args.ts';
import { type Context, interruptible, table, write } from './context.ts';

/**
 * `streambed topics create|list|describe|delete`: Kafka's `kafka-topics`.
 *
 * @example
 * topicsCommand(program, (cmd) => contextFor(cmd));
 */
export function topicsCommand(program: Command, contextOf: (cmd: Command) => Context): Command {
  const topics = program.command('topics').description('create, list, describe and delete topics');

  topics
    .command('create')
    .description('create a topic')
    .argument('<name>', 'topic name')
    .addOption(
      new Option('-p, --partitions <n>', 'number of partitions').argParser(positiveInt).makeOptionMandatory(),
    )
    .addOption(
      new Option(
        '-c, --config <key=value>',
        'topic config, repeatable: retentionMs, retentionBytes, maxRecordBytes, compression, targetObjectBytes, ' +
          'cleanupPolicy, deleteRetentionMs, minCompactionLagMs, minCleanableDirtyRatio (or Kafka names: retention.ms)',
      ).argParser(configEntry),
    )
    .addHelpText(
      'after',
      '\nExample:\n  streambed topics create orders --partitions 3 --config retentionMs=86400000\n',
    )
    .action(
      async (name: string, options: { partitions: number; config?: Partial<TopicConfig> }, cmd: Command) => {
        const ctx = contextOf(cmd);
        const topic = await interruptible(
          ctx
            .client()
            .admin()
            .createTopic({
              name,
              partitions: options.partitions,
              ...(options.config === undefined ? {} : { config: options.config }),
            }),
          ctx.signal,
        );
        await write(
          ctx.io.stdout,
          `created topic '${topic.name}' with ${topic.partitions} partition${topic.partitions === 1 ? '' : 's'}\n`,
        );
      },
    );

  topics
    .command('list')
    .description('list topics, one name per line')
    .option('-l, --long', 'a table with partitions and the main config')
    .action(async (options: { long?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const list = (await interruptible(ctx.client().admin().listTopics(), ctx.signal)).sort((a, b) =>
        a.name.localeCompare(b.name),
      );
      if (options.long !== true) {
        await write(ctx.io.stdout, list.map((t) => `${t.name}\n`).join(''));
        return;
      }
      await write(
        ctx.io.stdout,
        table(
          ['TOPIC', 'PARTITIONS', 'CLEANUP-POLICY', 'RETENTION-MS', 'RETENTION-BYTES'],
          list.map((t) => [
            t.name,
            t.partitions,
            t.config.cleanupPolicy ?? 'delete',
            t.config.retentionMs,
            t.config.retentionBytes,
          ]),
        ),
      );
    });

  topics
    .command('describe')
    .description("a topic's config and each partition's log start offset and high watermark")
    .argument('<name>', 'topic name')
    .action(async (name: string, _options: unknown, cmd: Command) => {
      const ctx = contextOf(cmd);
      const topic = await interruptible(ctx.client().admin().describeTopic(name), ctx.signal);
      const config = Object.entries(topic.config)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(' ');
      const head =
        `Topic: ${topic.name}  Partitions: ${topic.partitions}  Id: ${topic.id}  ` +
        `Created: ${new Date(topic.createdAt).toISOString()}\nConfig: ${config}\n\n`;
      const rows = topic.partitionStates.map((p) => [
        p.partition,
        p.logStartOffset,
        p.highWatermark,
        p.highWatermark - p.logStartOffset,
      ]);
      await write(ctx.io.stdout, head + table(['PARTITION', 'LOG-START', 'HIGH-WATERMARK', 'RECORDS'], rows));
    });

  topics
    .command('delete')
    .description('delete a topic and its records')
    .argument('<name>', 'topic name')
    .action(async (name: string, _options: unknown, cmd: Command) => {
      const ctx = contextOf(cmd);
      await interruptible(ctx.client().admin().deleteTopic(name), ctx.signal);
      await write(ctx.io.stdout, `deleted topic '${name}'\n`);
    });

  return topics;
}
