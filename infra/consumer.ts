import { Duration, Token } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { validateGroupName, validateTopicName } from '../lib/core/validation.ts';

/**
 * Where a batch that could not be processed is sent (Lambda's on-failure destination for streams):
 * a batch whose retries are exhausted, or whose records are older than `maxRecordAge`. Each destination
 * receives one JSON document per batch, shaped like Lambda's stream failure records, naming the group,
 * topic, partition and offset range (not the records themselves). Give a topic, a queue, or both.
 */
export interface StreambedOnFailureDestination {
  /**
   * A topic of this Streambed that receives one JSON record per failed batch, keyed
   * `<topic>/<partition>`. It may be created after deployment; until it exists, a batch that fails
   * for good stays undelivered (and is retried) instead of being dropped.
   *
   * @default - no topic
   */
  readonly topic?: string;

  /**
   * An SQS queue that receives the JSON as a message. The dispatcher is granted `sqs:SendMessage` on it,
   * and `kms:GenerateDataKey` and `kms:Decrypt` on its key if it is encrypted with a customer managed key.
   *
   * @default - no queue
   */
  readonly queue?: IQueue;
}

/**
 * A consumer function: the dispatcher invokes `handler` with the records of `topic`, batch by batch and
 * in order per partition, as consumer group `group`, and commits the group's offsets after each batch
 * succeeds. The knobs, their defaults and their ranges are those of Lambda's event source mappings for
 * streams (lib/core/subscription.ts).
 */
export interface StreambedConsumerOptions {
  /**
   * The consumer group: its committed offsets are where delivery resumes. 1–255 characters of
   * `[a-zA-Z0-9._-]`, a literal (it names the subscription's resource). A group can be added once per
   * Streambed, and should not be used by pull consumers at the same time.
   */
  readonly group: string;

  /**
   * The topic to consume: 1–249 characters of `[a-zA-Z0-9._-]`, not `.` or `..`.
   *
   * Topics are created at run time (through the API), not by the stack, so the topic may not exist yet
   * when the stack is deployed: a topic created after the subscription is delivered from its start
   * (all of its records are newer than the subscription), whatever `startingPosition` says.
   */
  readonly topic: string;

  /**
   * The function invoked with each batch (synchronously, with a `StreambedEvent`). The dispatcher is
   * granted `lambda:InvokeFunction` on exactly this function (or alias, or version).
   */
  readonly handler: IFunction;

  /**
   * The handler's timeout, at most 14 minutes (the dispatcher runs for 15 and must see an invocation
   * end; the partition's lease is renewed to outlast it, so no second delivery overlaps it).
   *
   * @default the handler's own timeout when it is a `lambda.Function` of this app, else 3 seconds
   */
  readonly functionTimeout?: Duration;

  /**
   * Largest number of records per invocation, 1–10,000. A batch also stays below 3 MiB of records.
   *
   * @default 100
   */
  readonly batchSize?: number;

  /**
   * How long to wait for a batch to fill, counted from its first record: whole seconds, 0–300 seconds.
   *
   * @default Duration.seconds(0)
   */
  readonly maxBatchingWindow?: Duration;

  /**
   * Where the group starts on a partition for which it has no committed offset: `'earliest'` (the log
   * start), `'latest'` (the high watermark when the subscription is registered), or the first record at
   * or after a time (a `Date`, or milliseconds since the epoch). Partitions with a committed offset
   * resume from it, whatever this says.
   *
   * @default 'latest'
   */
  readonly startingPosition?: 'earliest' | 'latest' | Date | number;

  /**
   * How many times a failing batch is retried before it goes to `onFailure` and the partition moves
   * on, -1–10,000; -1 retries until the records are older than `maxRecordAge` (meanwhile the
   * `StuckPartition` alarm is on).
   *
   * @default -1, or 10 with `onFailure`
   */
  readonly maxRetryAttempts?: number;

  /**
   * Records older than this are not delivered (they go to `onFailure`): whole seconds, 60 seconds to
   * 7 days.
   *
   * @default - no maximum age (-1)
   */
  readonly maxRecordAge?: Duration;

  /**
   * Split a failing batch in two before retrying it. With `onFailure` a failing batch is always split
   * down to the failing record, and only that record goes to the destination.
   *
   * @default false
   */
  readonly bisectBatchOnFunctionError?: boolean;

  /**
   * Batches of one partition in flight at once, 1–10 (Kinesis's knob). Records with the same key are
   * always delivered in order; the group's committed offset is the lowest record not yet done.
   *
   * @default 1
   */
  readonly parallelizationFactor?: number;

  /**
   * An alarm (see {@link Streambed.consumerAlarms}) when the group's oldest undelivered record, by the
   * time it was appended, is older than this for 3 minutes running (`ConsumerLagSeconds`, published
   * every minute). Whole seconds, at least 60.
   *
   * @default - no lag alarm (the `StuckPartition` alarm is always created)
   */
  readonly lagAlarmThreshold?: Duration;

  /**
   * The function may return `{ batchItemFailures: [{ itemIdentifier }] }` (the failed records'
   * `messageId`); delivery then resumes from the lowest failed record.
   *
   * @default false
   */
  readonly reportBatchItemFailures?: boolean;

  /**
   * Where batches that could not be processed are sent.
   *
   * @default - none: such batches are skipped, and only the dispatcher's log records them
   */
  readonly onFailure?: StreambedOnFailureDestination;

  /**
   * Whether the dispatcher delivers to this consumer. A disabled consumer keeps its committed offsets
   * and resumes from them when enabled again.
   *
   * @default true
   */
  readonly enabled?: boolean;
}

/** Lambda's ranges for streams, which lib/core/subscription.ts repeats. */
const MAX_BATCHING_WINDOW = Duration.minutes(5);
const MIN_RECORD_AGE = Duration.minutes(1);
const MAX_RECORD_AGE = Duration.days(7);
/** The dispatcher runs 15 minutes and must see an invocation end (lib/engine/dispatcher.ts). */
const MAX_FUNCTION_TIMEOUT = Duration.minutes(14);

/**
 * The subscription the dispatcher's `subscribe` receives, as the custom resource's `Subscription`
 * property: exactly the engine's `SubscriptionInput` (lib/core/subscription.ts), holding only the keys
 * the options set (the engine fills in the defaults). Values may be CDK tokens (the target always is).
 * Throws an error that names the option and repeats the bad value.
 */
export function subscriptionInput(options: StreambedConsumerOptions): Record<string, unknown> {
  const fail = (message: string): never => {
    throw new Error(`Streambed.addConsumer(${JSON.stringify(options.group)}): ${message}`);
  };
  const checked = <T>(validate: () => T): T => {
    try {
      return validate();
    } catch (error) {
      return fail((error as Error).message);
    }
  };
  if (Token.isUnresolved(options.group)) {
    fail('group must be a literal string, not a token: it names the subscription and its resource');
  }
  const spec: Record<string, unknown> = {
    group: checked(() => validateGroupName(options.group)),
    topic: Token.isUnresolved(options.topic)
      ? options.topic
      : checked(() => validateTopicName(options.topic)),
    target: options.handler.functionArn,
  };

  const integer = (value: number, field: string, min: number, max: number): number => {
    if (!Token.isUnresolved(value) && !(Number.isInteger(value) && value >= min && value <= max)) {
      fail(`${field} must be an integer in [${min}, ${max}], got ${value}`);
    }
    return value;
  };
  const seconds = (value: Duration, field: string, min: Duration, max: Duration): number => {
    if (value.isUnresolved()) return value.toSeconds();
    const amount = value.toSeconds({ integral: false });
    if (!(Number.isInteger(amount) && amount >= min.toSeconds() && amount <= max.toSeconds())) {
      fail(
        `${field} must be whole seconds from ${min.toHumanString()} to ${max.toHumanString()}, ` +
          `got ${value.toHumanString()}`,
      );
    }
    return amount;
  };
  const boolean = (value: unknown, field: string): boolean =>
    typeof value === 'boolean' ? value : fail(`${field} must be true or false, got ${String(value)}`);

  if (options.batchSize !== undefined) spec.batchSize = integer(options.batchSize, 'batchSize', 1, 10_000);
  if (options.maxBatchingWindow !== undefined) {
    spec.maxBatchingWindowSeconds = seconds(
      options.maxBatchingWindow,
      'maxBatchingWindow',
      Duration.seconds(0),
      MAX_BATCHING_WINDOW,
    );
  }
  if (options.startingPosition !== undefined) {
    spec.startingPosition = startingPosition(options.startingPosition, fail);
  }
  if (options.maxRetryAttempts !== undefined) {
    spec.maxRetryAttempts = integer(options.maxRetryAttempts, 'maxRetryAttempts', -1, 10_000);
  }
  if (options.maxRecordAge !== undefined) {
    spec.maxRecordAgeSeconds = seconds(options.maxRecordAge, 'maxRecordAge', MIN_RECORD_AGE, MAX_RECORD_AGE);
  }
  if (options.bisectBatchOnFunctionError !== undefined) {
    spec.bisectBatchOnFunctionError = boolean(
      options.bisectBatchOnFunctionError,
      'bisectBatchOnFunctionError',
    );
  }
  if (options.parallelizationFactor !== undefined) {
    spec.parallelizationFactor = integer(options.parallelizationFactor, 'parallelizationFactor', 1, 10);
  }
  if (options.lagAlarmThreshold !== undefined) {
    seconds(options.lagAlarmThreshold, 'lagAlarmThreshold', Duration.minutes(1), Duration.days(14));
  }
  if (options.reportBatchItemFailures !== undefined) {
    spec.reportBatchItemFailures = boolean(options.reportBatchItemFailures, 'reportBatchItemFailures');
  }
  if (options.onFailure !== undefined) {
    const { topic, queue } = options.onFailure;
    if (topic === undefined && queue === undefined) {
      fail('onFailure must name a topic, a queue or both, got neither');
    }
    spec.onFailure = {
      ...(topic === undefined
        ? {}
        : {
            topic: Token.isUnresolved(topic)
              ? topic
              : checked(() => validateTopicName(topic, 'onFailure.topic')),
          }),
      ...(queue === undefined ? {} : { sqsQueueUrl: queue.queueUrl }),
    };
  }
  if (options.enabled !== undefined) spec.enabled = boolean(options.enabled, 'enabled');
  const timeout =
    options.functionTimeout ??
    (options.handler as { readonly timeout?: Duration }).timeout ??
    Duration.seconds(3);
  spec.functionTimeoutSeconds = seconds(
    timeout,
    'functionTimeout',
    Duration.seconds(1),
    MAX_FUNCTION_TIMEOUT,
  );
  return spec;
}

function startingPosition(
  position: NonNullable<StreambedConsumerOptions['startingPosition']>,
  fail: (message: string) => never,
): 'earliest' | 'latest' | { timestamp: number } {
  if (position === 'earliest' || position === 'latest') return position;
  if (position instanceof Date) {
    const timestamp = position.getTime();
    if (!(timestamp >= 0))
      fail(`startingPosition must be a valid Date at or after 1970, got ${String(position)}`);
    return { timestamp };
  }
  if (typeof position === 'number') {
    if (!Token.isUnresolved(position) && !(Number.isSafeInteger(position) && position >= 0)) {
      fail(`startingPosition as a timestamp must be whole milliseconds since the epoch, got ${position}`);
    }
    return { timestamp: position };
  }
  return fail(
    `startingPosition must be 'earliest', 'latest', a Date or milliseconds since the epoch, got ${JSON.stringify(position)}`,
  );
}
