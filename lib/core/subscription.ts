import { InvalidArgumentError } from './errors.ts';
import type { ProduceReturnRecord } from './produce-return.ts';
import type { HttpRecordOut } from './record-json.ts';
import { validateGroupName, validateNonNegativeInt, validateTopicName } from './validation.ts';

/** Where a batch that could not be processed is sent, as with Lambda's on-failure destinations. */
export interface OnFailureDestination {
  /** A Streambed topic that receives one JSON record per failed batch. */
  readonly topic?: string;
  /** An SQS queue URL that receives the same JSON as a message. */
  readonly sqsQueueUrl?: string;
}

export type StartingPosition = 'earliest' | 'latest' | { readonly timestamp: number };

/**
 * The knobs of a consumer function, with the defaults and ranges of Lambda's event source mappings
 * for streams.
 */
export interface SubscriptionKnobs {
  /** Records per invocation. @default 100 (1–10,000) */
  readonly batchSize: number;
  /** Seconds to wait to fill a batch, from when its first record was appended. @default 0 (0–300) */
  readonly maxBatchingWindowSeconds: number;
  /** Where a group without committed offsets starts. @default 'latest' */
  readonly startingPosition: StartingPosition;
  /**
   * Retries of a failing batch; -1 retries until the records expire (without `onFailure`, the
   * partition then waits for a fix, and the `StuckPartition` metric says so).
   * @default -1, or 10 when `onFailure` is set (-1–10,000)
   */
  readonly maxRetryAttempts: number;
  /**
   * Records appended longer ago than this are not delivered (their producer timestamp does not count);
   * -1 keeps them forever. @default -1 (-1, or 60–604,800)
   */
  readonly maxRecordAgeSeconds: number;
  /**
   * Split a failing batch in two before retrying. With `onFailure` set a failing batch is always
   * split down to the record that fails, so only that record goes to the destination.
   * @default false
   */
  readonly bisectBatchOnFunctionError: boolean;
  /**
   * Batches of one partition in flight at once (Kinesis's knob). Records with the same key are always
   * delivered in order, by one batch at a time; the group's offset is the lowest one not yet done.
   * @default 1 (1–10)
   */
  readonly parallelizationFactor: number;
  /** The function may return `{ batchItemFailures: [{ itemIdentifier }] }`. @default false */
  readonly reportBatchItemFailures: boolean;
  /** @default none */
  readonly onFailure?: OnFailureDestination;
  /** @default true */
  readonly enabled: boolean;
  /**
   * The target function's timeout. The dispatcher starts an invocation only when it has the time to
   * see it end, and with the partition's lease outlasting it (no second delivery can overlap it).
   * `addConsumer` in CDK sets it from the function. @default 3 (Lambda's default timeout; 1–900)
   */
  readonly functionTimeoutSeconds: number;
}

/** A consumer function: group `group` reads `topic` by invoking `target`. */
export interface Subscription extends SubscriptionKnobs {
  readonly group: string;
  readonly topic: string;
  /** A Lambda function name or ARN on AWS; a handler name from the consumers file locally. */
  readonly target: string;
  /**
   * When the subscription was stored (set by the dispatcher). A topic created after it — not there
   * yet when subscribing, or deleted and created again — is read from its start even with `latest`:
   * all of its records are newer than the subscription.
   */
  readonly subscribedAt?: number;
}

export const DEFAULT_KNOBS: SubscriptionKnobs = {
  batchSize: 100,
  maxBatchingWindowSeconds: 0,
  startingPosition: 'latest',
  maxRetryAttempts: -1,
  maxRecordAgeSeconds: -1,
  bisectBatchOnFunctionError: false,
  parallelizationFactor: 1,
  reportBatchItemFailures: false,
  enabled: true,
  functionTimeoutSeconds: 3,
};

/** `maxRetryAttempts` when `onFailure` is set and the retries are not given. */
export const DEFAULT_RETRIES_WITH_ON_FAILURE = 10;

/** A subscription as given by a user: group, topic and target, plus any knobs (validated). */
export type SubscriptionInput = Readonly<Record<string, unknown>>;

const KNOWN = new Set([...Object.keys(DEFAULT_KNOBS), 'onFailure', 'group', 'topic', 'target']);

function bool(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean')
    throw new InvalidArgumentError(`${field} must be true or false, got ${String(value)}`);
  return value;
}

function inRange(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(`${field} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

/**
 * Fills the defaults of a subscription and checks every knob against Lambda's ranges; the error
 * names the knob and repeats the bad value.
 *
 * @example
 * resolveSubscription({ group: 'billing', topic: 'orders', target: 'billing-fn', batchSize: 500 })
 */
export function resolveSubscription(input: Partial<Subscription> & Record<string, unknown>): Subscription {
  if (input === null || typeof input !== 'object')
    throw new InvalidArgumentError('a subscription must be an object');
  for (const key of Object.keys(input)) {
    if (!KNOWN.has(key)) throw new InvalidArgumentError(`${key} is not a subscription setting`);
  }
  const merged = { ...DEFAULT_KNOBS, ...input };
  if (typeof merged.target !== 'string' || merged.target.length === 0 || merged.target.length > 256) {
    throw new InvalidArgumentError(`target must be a function name or ARN, got ${String(merged.target)}`);
  }
  const position = merged.startingPosition;
  if (position !== 'earliest' && position !== 'latest') {
    if (position === null || typeof position !== 'object') {
      throw new InvalidArgumentError(
        `startingPosition must be 'earliest', 'latest' or { timestamp }, got ${JSON.stringify(position)}`,
      );
    }
    validateNonNegativeInt(position.timestamp, 'startingPosition.timestamp');
  }
  const age = merged.maxRecordAgeSeconds;
  if (age !== -1) inRange(age, 'maxRecordAgeSeconds', 60, 604_800);
  const onFailure = merged.onFailure;
  if (onFailure !== undefined) {
    if (onFailure === null || typeof onFailure !== 'object') {
      throw new InvalidArgumentError('onFailure must be an object with topic and/or sqsQueueUrl');
    }
    if (onFailure.topic !== undefined) validateTopicName(onFailure.topic, 'onFailure.topic');
    if (onFailure.sqsQueueUrl !== undefined && !/^https:\/\/\S+$/.test(onFailure.sqsQueueUrl)) {
      throw new InvalidArgumentError(
        `onFailure.sqsQueueUrl must be an https queue URL, got ${onFailure.sqsQueueUrl}`,
      );
    }
  }
  return {
    group: validateGroupName(merged.group),
    topic: validateTopicName(merged.topic),
    target: merged.target,
    batchSize: inRange(merged.batchSize, 'batchSize', 1, 10_000),
    maxBatchingWindowSeconds: inRange(merged.maxBatchingWindowSeconds, 'maxBatchingWindowSeconds', 0, 300),
    startingPosition: position,
    // With an on-failure destination, a record that keeps failing goes there after 10 retries, not never.
    maxRetryAttempts:
      input.maxRetryAttempts === undefined && onFailure !== undefined
        ? DEFAULT_RETRIES_WITH_ON_FAILURE
        : inRange(merged.maxRetryAttempts, 'maxRetryAttempts', -1, 10_000),
    maxRecordAgeSeconds: age,
    bisectBatchOnFunctionError: bool(merged.bisectBatchOnFunctionError, 'bisectBatchOnFunctionError'),
    parallelizationFactor: inRange(merged.parallelizationFactor, 'parallelizationFactor', 1, 10),
    reportBatchItemFailures: bool(merged.reportBatchItemFailures, 'reportBatchItemFailures'),
    enabled: bool(merged.enabled, 'enabled'),
    functionTimeoutSeconds: inRange(merged.functionTimeoutSeconds, 'functionTimeoutSeconds', 1, 900),
    ...(onFailure === undefined ? {} : { onFailure }),
  };
}

/**
 * One record as a consumer function receives it. `messageId` is the offset as a string: it is the
 * `itemIdentifier` to report in `batchItemFailures`, and it lets Powertools' `BatchProcessor`
 * (`EventType.SQS`) report partial failures unchanged.
 */
export interface StreambedRecord extends HttpRecordOut {
  readonly eventSource: 'streambed';
  readonly messageId: string;
  readonly topic: string;
  readonly partition: number;
}

/**
 * The event a consumer function is invoked with: records of one partition, in offset order.
 *
 * @example
 * export const handler = async (event: StreambedEvent) => {
 *   for (const record of event.Records) console.log(record.offset, record.value);
 * };
 */
export interface StreambedEvent {
  readonly eventSource: 'streambed';
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  readonly Records: readonly StreambedRecord[];
  /**
   * With `parallelizationFactor` 1: the group's committed offset when the batch was delivered
   * (`startOffset`), the offset committed once it succeeds (`endOffset`), and the topic's id — what a
   * handler needs to commit the batch in its own DynamoDB transaction (lib/consumer).
   */
  readonly commit?: { readonly startOffset: number; readonly endOffset: number; readonly topicId: string };
}

/** What a consumer function may return (or nothing). */
export interface StreambedResponse {
  readonly batchItemFailures?: readonly { readonly itemIdentifier: string }[];
  /** Records to append exactly once, with the group's offset commit (lib/core/produce-return.ts). */
  readonly produce?: readonly ProduceReturnRecord[];
}

/**
 * The message an on-failure destination receives for a batch that was given up on, shaped like
 * Lambda's stream failure records.
 */
export interface FailedBatchRecord {
  readonly requestContext: {
    readonly condition: 'RetryAttemptsExhausted' | 'RecordAgeExceeded';
    readonly approximateInvokeCount: number;
    readonly target: string;
  };
  readonly responseContext: { readonly functionError: string };
  readonly streambedBatchInfo: {
    readonly group: string;
    readonly topic: string;
    readonly partition: number;
    readonly startOffset: number;
    readonly endOffset: number;
    readonly batchSize: number;
    readonly approximateArrivalOfFirstRecord: string;
    readonly approximateArrivalOfLastRecord: string;
  };
  readonly timestamp: string;
}
