import { LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { createDispatcher } from '../lib/adapters/aws.ts';
import { awsClients } from '../lib/adapters/clients.ts';
import { LambdaInvoker } from '../lib/adapters/lambda/lambda-invoker.ts';
import { SqsQueueSender } from '../lib/adapters/sqs/queue-sender.ts';
import type { Dispatcher } from '../lib/engine/dispatcher.ts';
import { logger, MetricUnit, metrics } from './api/handler.ts';

let dispatcher: Dispatcher | undefined;

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`environment variable ${name} is not set`);
  return value;
}

/** The dispatcher of this container, made once from the environment, unless one was injected. */
export function dispatcherFromEnv(): Dispatcher {
  dispatcher ??= createDispatcher(
    {
      ...awsClients(),
      bucket: required('STREAMBED_BUCKET'),
      tables: { log: required('STREAMBED_LOG_TABLE'), meta: required('STREAMBED_META_TABLE') },
    },
    {
      invoker: new LambdaInvoker(new LambdaClient({})),
      sqs: new SqsQueueSender(new SQSClient({})),
      leaseMs: Number(process.env.STREAMBED_DISPATCH_LEASE_MS ?? 900_000),
      // The alarm on StuckPartition fires as soon as one record has failed for 30 s.
      onStuck: (stuck) => {
        logger.error('a partition is stuck on a failing record', { ...stuck });
        publishStuck(stuck.group, stuck.topic, stuck.partition, 1);
      },
    },
  );
  return dispatcher;
}

export function useDispatcher(injected: Dispatcher | undefined): void {
  dispatcher = injected;
}

/** A CloudFormation custom resource event (the CDK's `addConsumer` registers subscriptions this way). */
interface SubscriptionResourceEvent {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly ResourceProperties: { readonly Subscription: string };
  readonly PhysicalResourceId?: string;
}

type DispatcherEvent =
  | { readonly Records?: readonly unknown[] }
  | SubscriptionResourceEvent
  | Record<string, unknown>;

/**
 * The dispatcher Lambda:
 * - DynamoDB stream records of the `log` table (a commit happened) → deliver those partitions;
 * - a scheduled event → sweep every subscription for lag (heals missed triggers), publish lag metrics;
 * - a custom-resource event from the CDK construct → create, update or remove a subscription.
 */
export async function handler(event: DispatcherEvent, context: Context): Promise<unknown> {
  const deadline = Date.now() + Math.max(1_000, context.getRemainingTimeInMillis() - 10_000);
  const target = dispatcherFromEnv();
  if ('RequestType' in event) {
    const spec = JSON.parse((event as SubscriptionResourceEvent).ResourceProperties.Subscription) as Record<
      string,
      unknown
    >;
    const group = String(spec.group);
    if (event.RequestType === 'Delete') {
      await target.unsubscribe(group);
    } else {
      await target.subscribe(spec);
    }
    return { PhysicalResourceId: `streambed-subscription-${group}` };
  }
  if (Array.isArray((event as { Records?: unknown }).Records)) {
    try {
      await target.onStreamRecords((event as { Records: unknown[] }).Records, deadline);
    } catch (error) {
      // Never fail the stream batch (it would block the shard): the scheduled sweep heals.
      logger.error('delivery after a commit failed; the sweep will retry', { error: error as Error });
    }
    return {};
  }
  // Lag and stuck partitions are published before the sweep delivers (a backlog takes minutes).
  const lags = await target.sweep(deadline, (reports) => {
    const byGroup = new Map<string, { lag: number; lagSeconds: number }>();
    for (const lag of reports) {
      const dimensions = { group: lag.group, topic: lag.topic, partition: String(lag.partition) };
      publish(dimensions, 'ConsumerLag', MetricUnit.Count, lag.lag);
      publish(dimensions, 'ConsumerLagSeconds', MetricUnit.Seconds, lag.lagSeconds);
      publishStuck(lag.group, lag.topic, lag.partition, lag.stuck ? 1 : 0);
      const group = byGroup.get(lag.group) ?? { lag: 0, lagSeconds: 0 };
      byGroup.set(lag.group, {
        lag: Math.max(group.lag, lag.lag),
        lagSeconds: Math.max(group.lagSeconds, lag.lagSeconds),
      });
    }
    // Per group, the worst partition: what the CDK construct's lag alarm watches.
    for (const [group, worst] of byGroup) {
      publish({ group }, 'ConsumerLag', MetricUnit.Count, worst.lag);
      publish({ group }, 'ConsumerLagSeconds', MetricUnit.Seconds, worst.lagSeconds);
    }
    metrics.publishStoredMetrics();
  });
  logger.info('sweep done', {
    partitions: lags.length,
    lagging: lags.filter((l) => l.lag > 0).length,
    stuck: lags.filter((l) => l.stuck).length,
  });
  return {};
}

/** `StuckPartition` (1 or 0) per group, topic and partition, and per group (for one alarm per consumer). */
function publishStuck(group: string, topic: string, partition: number, value: number): void {
  publish({ group, topic, partition: String(partition) }, 'StuckPartition', MetricUnit.Count, value);
  publish({ group }, 'StuckPartition', MetricUnit.Count, value);
}

/**
 * One EMF line: a single metric with its own dimensions. (A single-metric instance publishes on its
 * first `addMetric` and forgets its dimensions: a second metric on it would lose them.)
 */
function publish(
  dimensions: Record<string, string>,
  name: string,
  unit: (typeof MetricUnit)[keyof typeof MetricUnit],
  value: number,
): void {
  const single = metrics.singleMetric();
  single.addDimensions(dimensions);
  single.addMetric(name, unit, value);
}
