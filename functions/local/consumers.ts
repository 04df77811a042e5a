import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { createDispatcher, createStreambed, type StreambedAwsConfig } from '../../lib/adapters/aws.ts';
import { StreamPoller } from '../../lib/adapters/dynamodb/stream-poller.ts';
import { InvalidArgumentError } from '../../lib/core/errors.ts';
import type { QueueSender } from '../../lib/core/ports.ts';
import { type ConsumerHandler, InProcessInvoker } from '../../lib/engine/in-process-invoker.ts';
import type { ServiceEndpoints } from '../../lib/harness/services.ts';
import { watchCommits } from './commit-watch.ts';

/**
 * The consumers file of `npm start` (default `streambed.consumers.json`):
 *
 *   { "consumers": [ { "group": "printer", "topic": "orders", "handler": "./examples/print-consumer.ts#handler",
 *                      "batchSize": 10, "startingPosition": "earliest" } ] }
 *
 * `handler` is a module path (relative to the file) and an export name (default `handler`); every other
 * key is a subscription knob, with the same names, defaults and ranges as on AWS.
 */
export interface ConsumersFile {
  readonly consumers: readonly (Record<string, unknown> & { readonly handler: string })[];
}

export interface LocalConsumers {
  readonly groups: readonly string[];
  stop(): Promise<void>;
}

/** SQS does not run locally: on-failure records meant for a queue are printed instead. */
const printQueue: QueueSender = {
  send: async (queueUrl, body) => {
    console.warn(`[consumers] on-failure record for ${queueUrl} (SQS is not available locally): ${body}`);
  },
};

async function loadHandler(spec: string, base: string): Promise<ConsumerHandler> {
  const [path = '', name = 'handler'] = spec.split('#');
  const file = isAbsolute(path) ? path : resolve(base, path);
  const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const handler = module[name];
  if (typeof handler !== 'function')
    throw new InvalidArgumentError(`${file} has no exported function ${name}`);
  return handler as ConsumerHandler;
}

/**
 * Runs the consumers of a consumers file against the local stack, through the same path as on AWS:
 * the `log` table's stream (DynamoDB Local) triggers the dispatcher, a periodic sweep heals missed
 * triggers, and the dispatcher invokes the handlers in this process. A consumer may name a topic that
 * does not exist yet: once created, it is delivered from its start. A commit made through
 * `config.dynamodb` (the local API's, in `npm start`) wakes the stream poller at once, so its records
 * do not wait out the poller's idle pause; the records themselves still come from the stream.
 *
 * @example
 * const consumers = await startLocalConsumers({ endpoints, config, file: 'streambed.consumers.json' });
 */
export async function startLocalConsumers(options: {
  readonly endpoints: ServiceEndpoints;
  readonly config: StreambedAwsConfig;
  readonly file: string;
  /** @default 5_000 */
  readonly sweepMs?: number;
  readonly log?: (line: string) => void;
  /** The stream poller's idle pause and the first pause after activity (StreamPollerOptions). */
  readonly pollMs?: number;
  readonly activePollMs?: number;
  /**
   * Wake the stream poller when a write to the log table succeeds through `config.dynamodb` (see
   * {@link watchCommits}); false leaves commits to the poll alone. @default true
   */
  readonly wakeOnCommit?: boolean;
  /** The DynamoDB Streams client to read with (kept open on stop). @default one on `endpoints` */
  readonly streams?: DynamoDBStreamsClient;
}): Promise<LocalConsumers> {
  const log = options.log ?? ((line: string) => console.log(`[consumers] ${line}`));
  const parsed = JSON.parse(readFileSync(options.file, 'utf8')) as ConsumersFile;
  if (!Array.isArray(parsed.consumers))
    throw new InvalidArgumentError(`${options.file} must have a consumers array`);
  const invoker = new InProcessInvoker();
  const base = dirname(resolve(options.file));
  const pending: Record<string, unknown>[] = [];
  for (const [i, consumer] of parsed.consumers.entries()) {
    const { handler, ...knobs } = consumer;
    if (typeof handler !== 'string')
      throw new InvalidArgumentError(`consumers[${i}].handler must be a module path`);
    invoker.register(handler, await loadHandler(handler, base));
    pending.push({ ...knobs, target: handler });
  }
  const report = (error: unknown) => log(`delivery error (will retry): ${String(error)}`);
  const engine = createStreambed(options.config);
  const topicExists = async (name: string) => (await engine.listTopics()).some((t) => t.name === name);
  const dispatcher = createDispatcher(options.config, {
    invoker,
    sqs: printQueue,
    leaseMs: 60_000,
    onError: (error, where) => report(`${where.group} ${where.topic}/${where.partition}: ${String(error)}`),
  });
  for (const subscription of pending) {
    await dispatcher.subscribe(subscription);
    const topic = String(subscription.topic);
    const exists = await topicExists(topic);
    log(
      `group '${String(subscription.group)}' consumes '${topic}' with ${String(subscription.target)}` +
        (exists ? '' : ` (the topic does not exist yet; its records will be delivered from its start)`),
    );
  }
  const streams =
    options.streams ??
    new DynamoDBStreamsClient({
      endpoint: options.endpoints.dynamoDbEndpoint,
      region: options.endpoints.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  const poller = new StreamPoller({
    dynamodb: options.config.dynamodb,
    streams,
    table: options.config.tables.log,
    onRecords: async (records) => {
      await dispatcher.onStreamRecords(records, Date.now() + 30_000).catch(report);
    },
    onError: report,
    ...(options.pollMs === undefined ? {} : { pollMs: options.pollMs }),
    ...(options.activePollMs === undefined ? {} : { activePollMs: options.activePollMs }),
  });
  await poller.start();
  const unwatch =
    options.wakeOnCommit === false
      ? () => {}
      : watchCommits(options.config.dynamodb, options.config.tables.log, () => poller.wake());
  let sweeping: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    sweeping = sweeping.then(() => dispatcher.sweep(Date.now() + 30_000)).catch(report);
  }, options.sweepMs ?? 5_000);
  return {
    groups: pending.map((s) => String(s.group)),
    stop: async () => {
      clearInterval(timer);
      unwatch();
      await poller.stop();
      await sweeping;
      if (options.streams === undefined) streams.destroy();
    },
  };
}
