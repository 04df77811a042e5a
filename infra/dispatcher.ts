import { CustomResource, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import {
  ApplicationLogLevel,
  Architecture,
  type CfnFunction,
  FilterCriteria,
  FilterRule,
  Runtime,
  StartingPosition,
} from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Provider } from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';
import { type StreambedConsumerOptions, subscriptionInput } from './consumer.ts';
import { allow, type FunctionDefaults, streambedFunction } from './function.ts';
import { segmentObjectsArn } from './storage.ts';

/**
 * The dispatcher's timeout, Lambda's longest. It is also the dispatcher's lease on a partition
 * (STREAMBED_DISPATCH_LEASE_MS), which must outlast any consumer function's invocation (at most 15 minutes).
 */
const DISPATCHER_TIMEOUT = Duration.minutes(15);

/** How often the dispatcher sweeps every subscription for lag, healing missed stream triggers. */
const SWEEP_INTERVAL = Duration.minutes(1);

/** The CloudFormation type of the subscriptions registered by {@link Subscriptions.add}. */
const SUBSCRIPTION_RESOURCE_TYPE = 'Custom::StreambedSubscription';

/**
 * Creates the dispatcher's function (`Dispatcher`) directly in `scope`, with the actions every delivery
 * needs. The stream read permissions come with {@link addDispatcherTriggers}; lambda:InvokeFunction and
 * sqs:SendMessage with each {@link Subscriptions.add}.
 */
export function createDispatcherFunction(scope: Construct, defaults: FunctionDefaults): NodejsFunction {
  const { bucket, logTable, metaTable } = defaults.storage;
  const dispatcher = streambedFunction(scope, defaults, {
    id: 'Dispatcher',
    entry: 'dispatcher.ts',
    description: 'Streambed: deliver records to consumer functions',
    memorySize: 1024,
    timeout: DISPATCHER_TIMEOUT,
    environment: { STREAMBED_DISPATCH_LEASE_MS: String(DISPATCHER_TIMEOUT.toMilliseconds()) },
    anyResourceReason:
      'dynamodb:ListStreams on "*" is added by the DynamoDB event source (Table.grantStreamRead): Lambda ' +
      'checks it when it creates the event source mapping, and ListStreams does not support resource-level ' +
      'permissions (aws/aws-cdk#10631). It lists stream ARNs only; reading a stream (DescribeStream, ' +
      'GetShardIterator, GetRecords) is granted on the log table stream alone.',
  });

  // Dispatcher (lib/engine/dispatcher.ts): reads batches (GetObject) and produces on-failure records to a
  // Streambed topic (PutObject).
  // log: heads and pages for fetch and list offsets (GetItem, Query), heads for the sweep (BatchGetItem),
  //   on-failure produce (UpdateItem head, PutItem page).
  // meta: topics, subscriptions (GetItem, Query, PutItem, DeleteItem), the group registry (PutItem),
  //   committed offsets (Query, UpdateItem), leases (Query, PutItem, UpdateItem), leased commits
  //   (TransactWriteItems of a ConditionCheck and an Update per partition).
  // Metrics are EMF lines in its log: no cloudwatch:PutMetricData.
  allow(dispatcher, ['s3:GetObject', 's3:PutObject'], [segmentObjectsArn(bucket)]);
  allow(
    dispatcher,
    [
      'dynamodb:GetItem',
      'dynamodb:Query',
      'dynamodb:BatchGetItem',
      'dynamodb:UpdateItem',
      'dynamodb:PutItem',
    ],
    [logTable.tableArn],
  );
  allow(
    dispatcher,
    [
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:Query',
      'dynamodb:ConditionCheckItem',
      'dynamodb:DeleteItem',
    ],
    [metaTable.tableArn],
  );
  return dispatcher;
}

/**
 * Invokes `dispatcher` when a partition head of `logTable` changes (its stream) and every minute (the
 * `SweepSchedule` rule, directly in `scope`).
 */
export function addDispatcherTriggers(scope: Construct, dispatcher: NodejsFunction, logTable: Table): void {
  // Every commit updates a partition head (sk = -1); pages and trims are not deliveries, so only head
  // changes invoke the dispatcher (the handler further keeps only heads whose `next` grew).
  dispatcher.addEventSource(
    // (Table declares `tableStreamArn: string | undefined` where ITable has `tableStreamArn?: string`, which
    // exactOptionalPropertyTypes tells apart; the table does have a stream.)
    new DynamoEventSource(logTable as ITable, {
      // Commits made before the mapping existed are the sweep's to find.
      startingPosition: StartingPosition.LATEST,
      // Head changes of one window are coalesced into one invocation (the handler dedupes partitions).
      batchSize: 100,
      maxBatchingWindow: Duration.seconds(1),
      // The handler never fails a batch over a delivery error (that would block the shard); a retry only
      // follows a crash or timeout. Records given up on are found by the next sweep, within a minute.
      retryAttempts: 2,
      bisectBatchOnError: false,
      // One invocation delivers until its partitions are caught up, waiting on consumer functions, so it
      // can run for minutes. With one batch per shard, one slow consumer would hold back the triggers of
      // every partition on that shard (a small table has a single shard). Ten concurrent batches per shard
      // (Lambda's maximum) keep per-key order, which nothing here needs: a trigger only names partitions,
      // the records are read from the log, and leases serialise delivery per (group, partition); a
      // trigger that finds the lease held returns at once.
      parallelizationFactor: 10,
      filters: [FilterCriteria.filter({ dynamodb: { Keys: { sk: { N: FilterRule.isEqual('-1') } } } })],
    }),
  );

  // The sweep: every subscribed partition with lag gets a delivery, whatever triggers were missed, and
  // the ConsumerLag metric is published. A failed or late sweep is not retried: the next one is a minute away.
  dispatcher.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: SWEEP_INTERVAL });
  new Rule(scope, 'SweepSchedule', {
    description: 'Streambed: sweep consumer subscriptions for lag',
    schedule: Schedule.rate(SWEEP_INTERVAL),
    targets: [new LambdaFunction(dispatcher, { retryAttempts: 0, maxEventAge: SWEEP_INTERVAL })],
  });
}

/** Properties of {@link Subscriptions}. */
export interface SubscriptionsProps {
  /** The dispatcher: it delivers to the consumers and handles the subscriptions' custom resources. */
  readonly dispatcher: NodejsFunction;
  /** How long the provider framework's logs are kept. */
  readonly logRetention: RetentionDays;
  /** What happens to the provider framework's log group when it leaves the stack. */
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The consumers of a Streambed: one `Custom::StreambedSubscription` per consumer group (`Consumer-<group>`)
 * and, with the first, the custom resource provider around the dispatcher, all directly in `scope`.
 * Not a construct: the resources keep the ids they had under the Streambed construct.
 */
export class Subscriptions {
  /** Consumer groups added so far, to the topic each consumes. */
  private readonly consumers = new Map<string, string>();
  private subscriptionProvider: Provider | undefined;
  private readonly scope: Construct;
  private readonly props: SubscriptionsProps;

  constructor(scope: Construct, props: SubscriptionsProps) {
    this.scope = scope;
    this.props = props;
  }

  /** Registers a consumer; see Streambed.addConsumer. @returns the subscription's custom resource */
  /** The alarms of each group added. */
  readonly alarms = new Map<string, ConsumerAlarms>();

  add(options: StreambedConsumerOptions): CustomResource {
    const subscription = subscriptionInput(options);
    const consumed = this.consumers.get(options.group);
    if (consumed !== undefined) {
      throw new Error(
        `Streambed.addConsumer(${JSON.stringify(options.group)}): group '${options.group}' was already added ` +
          `(consuming '${consumed}'); a group can be added only once`,
      );
    }
    this.consumers.set(options.group, Token.isUnresolved(options.topic) ? '<token>' : options.topic);

    const { dispatcher } = this.props;
    dispatcher.addToRolePolicy(
      new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [options.handler.functionArn] }),
    );
    const queue = options.onFailure?.queue;
    if (queue !== undefined) {
      dispatcher.addToRolePolicy(
        new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn] }),
      );
      // Sending to a queue encrypted with a customer managed key needs the key (SQS's documented pair).
      queue.encryptionMasterKey?.grant(dispatcher, 'kms:GenerateDataKey', 'kms:Decrypt');
    }

    this.alarms.set(options.group, consumerAlarms(this.scope, options));
    return new CustomResource(this.scope, `Consumer-${options.group}`, {
      serviceToken: this.provider().serviceToken,
      resourceType: SUBSCRIPTION_RESOURCE_TYPE,
      properties: { Subscription: Stack.of(this.scope).toJsonString(subscription) },
      // A subscription is configuration, not data: once the consumer is gone from the app, the dispatcher
      // must stop invoking its function. Unsubscribing keeps the group's committed offsets.
      removalPolicy: RemovalPolicy.DESTROY,
    });
  }

  /**
   * The custom resource provider of the subscriptions, made with the first consumer: the CDK's provider
   * framework (which answers CloudFormation) around the dispatcher (which subscribes and unsubscribes).
   */
  private provider(): Provider {
    if (this.subscriptionProvider !== undefined) return this.subscriptionProvider;
    const { scope } = this;
    const { dispatcher } = this.props;
    const logGroup = new LogGroup(scope, 'SubscriptionProviderLogs', {
      retention: this.props.logRetention,
      removalPolicy: this.props.removalPolicy,
    });
    // Instead of the framework's default role, which carries the AWSLambdaBasicExecutionRole managed policy.
    const role = new Role(scope, 'SubscriptionProviderRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'Streambed subscription provider (custom resource framework)',
    });
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
    const provider = new Provider(scope, 'SubscriptionProvider', {
      onEventHandler: dispatcher,
      frameworkOnEventRole: role,
      logGroup,
      // The framework logs its failures; below ERROR it would also log the response URLs of requests.
      frameworkLambdaLoggingLevel: ApplicationLogLevel.ERROR,
    });
    // The framework picks its runtime from a per-region mapping; the stack already needs nodejs24.x in its
    // region for the other functions, so use it here too, on arm64 like them (the framework is plain JS).
    const framework = provider.node.findChild('framework-onEvent').node.defaultChild as CfnFunction;
    framework.runtime = Runtime.NODEJS_24_X.name;
    framework.architectures = [Architecture.ARM_64.name];
    framework.addMetadata('cfn-lint', { config: { ignore_checks: ['W3005'] } });

    const dispatcherLogicalId = Stack.of(scope).resolve(
      (dispatcher.node.defaultChild as CfnFunction).logicalId,
    );
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${dispatcherLogicalId}.Arn>:*]`,
      reason:
        'Added by the CDK provider framework (Function.grantInvoke), which invokes the onEvent handler: the ' +
        'wildcard covers versions and aliases of the Streambed dispatcher function only, the one function ' +
        'this role may invoke. It holds nothing else but writing its own log group.',
    });
    this.subscriptionProvider = provider;
    return provider;
  }
}

/** The alarms of one consumer function's group. */
export interface ConsumerAlarms {
  /** `StuckPartition` ≥ 1: one record of a partition has kept failing for 30 s and nothing takes it. */
  readonly stuck: Alarm;
  /** `ConsumerLagSeconds` above `lagAlarmThreshold` for 3 minutes, when that option is set. */
  readonly lag?: Alarm;
}

/**
 * A metric the dispatcher publishes per group (namespace `Streambed`, dimensions `service` and `group`),
 * maximum per minute.
 *
 * @example consumerMetric('billing', 'ConsumerLagSeconds')
 */
export function consumerMetric(
  group: string,
  name: 'StuckPartition' | 'ConsumerLagSeconds' | 'ConsumerLag',
): Metric {
  return new Metric({
    namespace: 'Streambed',
    metricName: name,
    dimensionsMap: { service: 'streambed', group },
    statistic: 'Maximum',
    period: Duration.minutes(1),
  });
}

function consumerAlarms(scope: Construct, options: StreambedConsumerOptions): ConsumerAlarms {
  const stuck = new Alarm(scope, `Consumer-${options.group}-Stuck`, {
    metric: consumerMetric(options.group, 'StuckPartition'),
    threshold: 1,
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: TreatMissingData.NOT_BREACHING,
    alarmDescription: `Streambed consumer group ${options.group}: a partition is stuck on a record that keeps failing`,
  });
  const threshold = options.lagAlarmThreshold;
  if (threshold === undefined) return { stuck };
  const lag = new Alarm(scope, `Consumer-${options.group}-Lag`, {
    metric: consumerMetric(options.group, 'ConsumerLagSeconds'),
    threshold: threshold.toSeconds(),
    comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 3,
    treatMissingData: TreatMissingData.NOT_BREACHING,
    alarmDescription: `Streambed consumer group ${options.group}: the oldest undelivered record is older than ${threshold.toHumanString()}`,
  });
  return { stuck, lag };
}
