import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { App, Aws, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { StreambedStack } from '../../infra/stack.ts';
import { Streambed, type StreambedConsumerOptions } from '../../infra/streambed.ts';
import { resolveSubscription } from '../../lib/core/subscription.ts';
import {
  acknowledgments,
  cdkJsonContext,
  logicalId,
  permissionsOfRole,
  renderResource,
  SKIP_BUNDLING,
  streambedStack,
  tempOutdir,
} from './support.ts';

const SHIPPING_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:shipping';

/** A stack with two consumers: `billing` (every option, a function and queue of the stack), `shipping` (minimal, imported). */
function consumerStack() {
  const { stack } = streambedStack();
  const billing = new LambdaFunction(stack, 'Billing', {
    runtime: Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: Code.fromInline('exports.handler = async () => ({ batchItemFailures: [] });'),
    timeout: Duration.minutes(2),
  });
  const failures = new Queue(stack, 'Failures', { enforceSSL: true });
  const billingResource = stack.streambed.addConsumer({
    group: 'billing',
    topic: 'orders',
    handler: billing,
    batchSize: 500,
    maxBatchingWindow: Duration.seconds(5),
    startingPosition: new Date('2025-01-02T03:04:05.678Z'),
    maxRetryAttempts: 3,
    maxRecordAge: Duration.hours(1),
    bisectBatchOnFunctionError: true,
    parallelizationFactor: 4,
    lagAlarmThreshold: Duration.minutes(5),
    reportBatchItemFailures: true,
    onFailure: { topic: 'orders.failed', queue: failures },
    enabled: false,
  });
  const shippingResource = stack.streambed.addConsumer({
    group: 'shipping',
    topic: 'orders',
    handler: LambdaFunction.fromFunctionArn(stack, 'Shipping', SHIPPING_ARN),
  });
  return { stack, billing, failures, billingResource, shippingResource, template: Template.fromStack(stack) };
}

/** A Streambed with no consumer, for the difference addConsumer makes. */
function plainStack() {
  const { stack } = streambedStack();
  return { stack, template: Template.fromStack(stack) };
}

/** Names for rendering: the stack's resources that the tests talk about. */
function names(stack: StreambedStack, extra: [string, string][] = []): Map<string, string> {
  const { streambed } = stack;
  return new Map([
    [logicalId(streambed.bucket), 'bucket'],
    [logicalId(streambed.logTable), 'logTable'],
    [logicalId(streambed.metaTable), 'metaTable'],
    [logicalId(streambed.dispatcherFunction), 'dispatcher'],
    ...extra,
  ]);
}

function roleOf(template: Template, functionLogicalId: string): string {
  return template.toJSON().Resources[functionLogicalId].Properties.Role['Fn::GetAtt'][0] as string;
}

let c: ReturnType<typeof consumerStack>;
let plain: ReturnType<typeof plainStack>;
before(() => {
  c = consumerStack();
  plain = plainStack();
});

/** The Subscription property of a custom resource, with tokens rendered (`billing.Arn`, `failuresQueueUrl`). */
function subscriptionOf(resourceLogicalId: string): string {
  const resource = c.template.toJSON().Resources[resourceLogicalId];
  assert.equal(resource.Type, 'Custom::StreambedSubscription');
  return renderResource(
    resource.Properties.Subscription,
    names(c.stack, [
      [logicalId(c.billing), 'billing'],
      [logicalId(c.failures), 'failuresQueueUrl'],
    ]),
  );
}

describe('addConsumer: the subscription custom resource', () => {
  test('one Custom::StreambedSubscription per consumer, deleted (unsubscribed) with the consumer', () => {
    const resources = c.template.findResources('Custom::StreambedSubscription');
    assert.deepEqual(
      Object.keys(resources).sort(),
      [logicalId(c.billingResource), logicalId(c.shippingResource)].sort(),
    );
    for (const resource of Object.values(resources)) {
      assert.equal(resource.DeletionPolicy, 'Delete');
      assert.equal(resource.UpdateReplacePolicy, 'Delete');
    }
  });

  test('Subscription is exactly the engine input, every option set, in order', () => {
    assert.equal(
      subscriptionOf(logicalId(c.billingResource)),
      JSON.stringify({
        group: 'billing',
        topic: 'orders',
        target: 'billing.Arn',
        batchSize: 500,
        maxBatchingWindowSeconds: 5,
        startingPosition: { timestamp: Date.parse('2025-01-02T03:04:05.678Z') },
        maxRetryAttempts: 3,
        maxRecordAgeSeconds: 3600,
        bisectBatchOnFunctionError: true,
        parallelizationFactor: 4,
        reportBatchItemFailures: true,
        onFailure: { topic: 'orders.failed', sqsQueueUrl: 'failuresQueueUrl' },
        enabled: false,
        functionTimeoutSeconds: 120,
      }),
    );
  });

  test("Subscription holds only the keys that were set, and the function's timeout (3 s, Lambda's default, when it is imported): the engine fills in the defaults", () => {
    assert.equal(
      subscriptionOf(logicalId(c.shippingResource)),
      JSON.stringify({ group: 'shipping', topic: 'orders', target: SHIPPING_ARN, functionTimeoutSeconds: 3 }),
    );
  });

  test('a handler timeout over 14 minutes is refused (the dispatcher must see an invocation end); functionTimeout overrides the function', () => {
    const { stack } = streambedStack();
    const long = new LambdaFunction(stack, 'Long', {
      runtime: Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: Code.fromInline('exports.handler = async () => ({});'),
      timeout: Duration.minutes(15),
    });
    assert.throws(
      () => stack.streambed.addConsumer({ group: 'long', topic: 'orders', handler: long }),
      /addConsumer\("long"\): functionTimeout must be whole seconds from 1 second to 14 minutes, got 15 minutes/,
    );
    const resource = stack.streambed.addConsumer({
      group: 'short',
      topic: 'orders',
      handler: long,
      functionTimeout: Duration.seconds(30),
    });
    const rendered = renderResource(
      Template.fromStack(stack).toJSON().Resources[logicalId(resource)].Properties.Subscription,
      new Map(),
    );
    assert.match(rendered, /"functionTimeoutSeconds":30}$/);
  });

  test('the engine accepts both as they are (resolveSubscription), with Lambda ESM defaults filled in', () => {
    const deployed = (id: string) => {
      const spec = JSON.parse(subscriptionOf(id)) as Record<string, unknown>;
      // What CloudFormation will have substituted for the tokens.
      return JSON.parse(
        JSON.stringify(spec)
          .replace('billing.Arn', 'arn:aws:lambda:us-east-1:123456789012:function:billing')
          .replace('failuresQueueUrl', 'https://sqs.us-east-1.amazonaws.com/123456789012/failures'),
      ) as Record<string, unknown>;
    };
    assert.deepEqual(resolveSubscription(deployed(logicalId(c.billingResource))), {
      group: 'billing',
      topic: 'orders',
      target: 'arn:aws:lambda:us-east-1:123456789012:function:billing',
      batchSize: 500,
      maxBatchingWindowSeconds: 5,
      startingPosition: { timestamp: Date.parse('2025-01-02T03:04:05.678Z') },
      maxRetryAttempts: 3,
      maxRecordAgeSeconds: 3600,
      bisectBatchOnFunctionError: true,
      parallelizationFactor: 4,
      reportBatchItemFailures: true,
      enabled: false,
      functionTimeoutSeconds: 120,
      onFailure: {
        topic: 'orders.failed',
        sqsQueueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/failures',
      },
    });
    assert.deepEqual(resolveSubscription(deployed(logicalId(c.shippingResource))), {
      group: 'shipping',
      topic: 'orders',
      target: SHIPPING_ARN,
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
    });
  });

  test('its service token is the provider framework, whose onEvent handler is the dispatcher itself', () => {
    const resources = c.template.toJSON().Resources;
    const serviceToken = resources[logicalId(c.billingResource)].Properties.ServiceToken;
    const frameworkId = serviceToken['Fn::GetAtt'][0] as string;
    assert.deepEqual(serviceToken, { 'Fn::GetAtt': [frameworkId, 'Arn'] });
    assert.deepEqual(resources[logicalId(c.shippingResource)].Properties.ServiceToken, serviceToken);
    const framework = resources[frameworkId];
    assert.equal(framework.Type, 'AWS::Lambda::Function');
    assert.deepEqual(framework.Properties.Environment.Variables.USER_ON_EVENT_FUNCTION_ARN, {
      'Fn::GetAtt': [logicalId(c.stack.streambed.dispatcherFunction), 'Arn'],
    });
  });

  test('one provider for all consumers, none without consumers', () => {
    // The six Streambed functions, the consumer of the stack, and one provider framework function.
    c.template.resourceCountIs('AWS::Lambda::Function', 8);
    plain.template.resourceCountIs('AWS::Lambda::Function', 6);
  });
});

describe('addConsumer: the provider framework function', () => {
  // biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON
  let framework: any;
  let frameworkId: string;
  before(() => {
    const resources = c.template.toJSON().Resources;
    frameworkId = resources[logicalId(c.billingResource)].Properties.ServiceToken['Fn::GetAtt'][0];
    framework = resources[frameworkId];
  });

  test('Node.js 24 on arm64 like the other functions, not a per-region runtime mapping', () => {
    assert.equal(framework.Properties.Runtime, 'nodejs24.x');
    assert.deepEqual(framework.Properties.Architectures, ['arm64']);
    assert.equal(c.template.toJSON().Mappings, undefined);
  });

  test('the only cfn-lint check silenced is W3005 (redundant DependsOn), on the functions of Streambed', () => {
    const resources = c.template.toJSON().Resources as Record<string, { Type: string; Metadata?: object }>;
    const silenced = Object.entries(resources).flatMap(([id, resource]) =>
      resource.Metadata !== undefined && 'cfn-lint' in resource.Metadata
        ? [[id, resource.Metadata['cfn-lint']]]
        : [],
    );
    const { streambed } = c.stack;
    const functions = [
      streambed.topicsFunction,
      streambed.produceFunction,
      streambed.fetchFunction,
      streambed.groupsFunction,
      streambed.dispatcherFunction,
      streambed.sweeperFunction,
    ].map(logicalId);
    assert.deepEqual(
      silenced,
      [...functions, frameworkId].map((id) => [id, { config: { ignore_checks: ['W3005'] } }]),
    );
  });

  test('logs to its own log group, with the construct retention, at level ERROR', () => {
    const logGroupId = framework.Properties.LoggingConfig.LogGroup.Ref as string;
    const logGroup = c.template.toJSON().Resources[logGroupId];
    assert.equal(logGroup.Type, 'AWS::Logs::LogGroup');
    assert.equal(logGroup.Properties.RetentionInDays, 30);
    assert.equal(logGroup.DeletionPolicy, 'Retain');
    assert.equal(framework.Properties.LoggingConfig.ApplicationLogLevel, 'ERROR');
  });

  test('its role: no managed policy; its log group, and invoking (and describing) the dispatcher only', () => {
    const roleId = framework.Properties.Role['Fn::GetAtt'][0] as string;
    const role = c.template.toJSON().Resources[roleId];
    assert.equal(role.Properties.ManagedPolicyArns, undefined);
    const logGroupId = framework.Properties.LoggingConfig.LogGroup.Ref as string;
    assert.deepEqual(permissionsOfRole(c.template, roleId, names(c.stack, [[logGroupId, 'ownLogGroup']])), [
      'Allow lambda:GetFunction on dispatcher.Arn',
      'Allow lambda:InvokeFunction on dispatcher.Arn',
      'Allow lambda:InvokeFunction on dispatcher.Arn:*',
      'Allow logs:CreateLogStream on ownLogGroup.Arn',
      'Allow logs:PutLogEvents on ownLogGroup.Arn',
    ]);
  });
});

describe('addConsumer: what the dispatcher may do', () => {
  const dispatcherPermissions = (stack: StreambedStack, template: Template, extra: [string, string][] = []) =>
    permissionsOfRole(
      template,
      roleOf(template, logicalId(stack.streambed.dispatcherFunction)),
      names(stack, extra),
    );

  test('invoke exactly the consumer functions, and send to exactly the on-failure queue; nothing else changes', () => {
    const without = new Set(dispatcherPermissions(plain.stack, plain.template));
    const after = dispatcherPermissions(c.stack, c.template, [
      [logicalId(c.billing), 'billing'],
      [logicalId(c.failures), 'failures'],
    ]);
    assert.deepEqual(
      after.filter((p) => !without.has(p)),
      [
        `Allow lambda:InvokeFunction on ${SHIPPING_ARN}`,
        'Allow lambda:InvokeFunction on billing.Arn',
        'Allow sqs:SendMessage on failures.Arn',
      ],
    );
    assert.deepEqual(
      [...without].filter((p) => !after.includes(p)),
      [],
    );
  });

  test('no other role may invoke functions or use SQS', () => {
    const dispatcherRole = roleOf(c.template, logicalId(c.stack.streambed.dispatcherFunction));
    for (const [id, policy] of Object.entries(c.template.findResources('AWS::IAM::Policy'))) {
      const roles = policy.Properties.Roles as { Ref: string }[];
      if (roles.some((r) => r.Ref === dispatcherRole)) continue;
      for (const statement of policy.Properties.PolicyDocument.Statement) {
        const actions = [statement.Action].flat().join(' ');
        assert.doesNotMatch(actions, /sqs:/, id);
        if (/lambda:InvokeFunction/.test(actions)) {
          // Only the provider framework, which invokes the dispatcher.
          assert.match(
            JSON.stringify(statement.Resource),
            new RegExp(logicalId(c.stack.streambed.dispatcherFunction)),
          );
        }
      }
    }
  });

  test('a queue encrypted with a customer managed key: kms:GenerateDataKey and kms:Decrypt on that key', () => {
    const { stack } = streambedStack();
    const queue = new Queue(stack, 'Encrypted', { encryption: QueueEncryption.KMS, enforceSSL: true });
    stack.streambed.addConsumer({
      group: 'g',
      topic: 't',
      handler: LambdaFunction.fromFunctionArn(stack, 'Fn', SHIPPING_ARN),
      onFailure: { queue },
    });
    const template = Template.fromStack(stack);
    const keyId = logicalId(queue.encryptionMasterKey as NonNullable<typeof queue.encryptionMasterKey>);
    const permissions = dispatcherPermissions(stack, template, [
      [keyId, 'key'],
      [logicalId(queue), 'queue'],
    ]);
    assert.deepEqual(
      permissions.filter((p) => /kms:|sqs:/.test(p)),
      [
        'Allow kms:Decrypt on key.Arn',
        'Allow kms:GenerateDataKey on key.Arn',
        'Allow sqs:SendMessage on queue.Arn',
      ],
    );
  });
});

describe('addConsumer: cdk-nag and annotations', () => {
  test('no unacknowledged finding; the only new acknowledgment is the provider role invoking the dispatcher', () => {
    const result = new AwsSolutionsChecks().validateScope(c.stack.streambed);
    assert.deepEqual(
      result.violations.map((v) => `${v.ruleName} at ${v.violatingResources[0]?.constructPath}`),
      [],
    );
    const existing = new Set(plain.stack.streambed.node.findAll().map((x) => x.node.path));
    const added = [...acknowledgments(c.stack.streambed)].filter(([path]) => !existing.has(path));
    const dispatcherId = logicalId(c.stack.streambed.dispatcherFunction);
    assert.deepEqual(
      added.map(([path, rules]) => [path, Object.keys(rules)]),
      [
        [
          'Streambed/Log/SubscriptionProviderRole',
          [`Annotation::AwsSolutions-IAM5[Resource::<${dispatcherId}.Arn>:*]`],
        ],
      ],
    );
    for (const [, rules] of added) {
      for (const reason of Object.values(rules)) assert.ok(reason.length >= 100, reason);
    }
  });

  test('no error or warning annotations', () => {
    const annotations = Annotations.fromStack(c.stack);
    assert.deepEqual(annotations.findError('*', Match.anyValue()), []);
    assert.deepEqual(annotations.findWarning('*', Match.anyValue()), []);
  });
});

/** Adds a consumer with `options` over a minimal valid one and returns the error it throws, if any. */
function addError(options: Partial<StreambedConsumerOptions>): Error | undefined {
  const app = new App({ outdir: tempOutdir(), context: { ...cdkJsonContext(), ...SKIP_BUNDLING } });
  const stack = new Stack(app, 'Test');
  const log = new Streambed(stack, 'Log');
  try {
    log.addConsumer({
      group: 'g',
      topic: 't',
      handler: LambdaFunction.fromFunctionArn(stack, 'Fn', SHIPPING_ARN),
      ...options,
    });
    return undefined;
  } catch (error) {
    return error as Error;
  }
}

describe('addConsumer: validation at synthesis repeats the bad value', () => {
  const cases: [string, Partial<StreambedConsumerOptions>, RegExp][] = [
    ['batchSize 0', { batchSize: 0 }, /batchSize must be an integer in \[1, 10000\], got 0$/],
    ['batchSize 10001', { batchSize: 10_001 }, /batchSize .* got 10001$/],
    ['batchSize 1.5', { batchSize: 1.5 }, /batchSize .* got 1.5$/],
    [
      'maxBatchingWindow 301 s',
      { maxBatchingWindow: Duration.seconds(301) },
      /maxBatchingWindow must be whole seconds from 0 seconds to 5 minutes, got 5 minutes 1 second$/,
    ],
    ['maxBatchingWindow 1.5 s', { maxBatchingWindow: Duration.millis(1500) }, /got 1 second 500 millis$/],
    [
      'maxRetryAttempts -2',
      { maxRetryAttempts: -2 },
      /maxRetryAttempts must be an integer in \[-1, 10000\], got -2$/,
    ],
    ['maxRetryAttempts 10001', { maxRetryAttempts: 10_001 }, /maxRetryAttempts .* got 10001$/],
    [
      'maxRecordAge 59 s',
      { maxRecordAge: Duration.seconds(59) },
      /maxRecordAge must be whole seconds from 1 minute to 7 days, got 59 seconds$/,
    ],
    ['maxRecordAge 8 days', { maxRecordAge: Duration.days(8) }, /maxRecordAge .* got 8 days$/],
    ['group with a space', { group: 'bad group' }, /group must be 1-255 characters .* got 'bad group'$/],
    ['group too long', { group: 'g'.repeat(256) }, new RegExp(`got '${'g'.repeat(256)}'$`)],
    ['empty topic', { topic: '' }, /topic must be 1-249 characters .* got ''$/],
    ['topic ..', { topic: '..' }, /topic .* got '\.\.'$/],
    [
      'onFailure with neither',
      { onFailure: {} },
      /onFailure must name a topic, a queue or both, got neither$/,
    ],
    ['onFailure.topic', { onFailure: { topic: 'a/b' } }, /onFailure.topic must be .* got 'a\/b'$/],
    [
      'startingPosition word',
      { startingPosition: 'middle' as 'latest' },
      /startingPosition must be .* got "middle"$/,
    ],
    ['startingPosition -1', { startingPosition: -1 }, /startingPosition as a timestamp .* got -1$/],
    ['startingPosition bad Date', { startingPosition: new Date(Number.NaN) }, /got Invalid Date$/],
    [
      'parallelizationFactor 0',
      { parallelizationFactor: 0 },
      /parallelizationFactor must be an integer in \[1, 10\], got 0$/,
    ],
    ['parallelizationFactor 11', { parallelizationFactor: 11 }, /parallelizationFactor .* got 11$/],
    ['parallelizationFactor 1.5', { parallelizationFactor: 1.5 }, /parallelizationFactor .* got 1.5$/],
    [
      'lagAlarmThreshold 59 s',
      { lagAlarmThreshold: Duration.seconds(59) },
      /lagAlarmThreshold must be whole seconds from 1 minute to 14 days, got 59 seconds$/,
    ],
    [
      'enabled not a boolean',
      { enabled: 'yes' as unknown as boolean },
      /enabled must be true or false, got yes$/,
    ],
  ];
  for (const [name, options, expected] of cases) {
    test(name, () => {
      const error = addError(options);
      assert.ok(error, 'no error');
      assert.match(error.message, /^Streambed\.addConsumer\(/);
      assert.match(error.message, expected);
    });
  }

  test('a group can be added only once', () => {
    const { stack } = streambedStack();
    const handler = LambdaFunction.fromFunctionArn(stack, 'Fn', SHIPPING_ARN);
    stack.streambed.addConsumer({ group: 'billing', topic: 'orders', handler });
    assert.throws(
      () => stack.streambed.addConsumer({ group: 'billing', topic: 'refunds', handler }),
      /group 'billing' was already added \(consuming 'orders'\); a group can be added only once/,
    );
  });

  test('the bounds are accepted, as the engine accepts them', () => {
    const bounds: Partial<StreambedConsumerOptions>[] = [
      { batchSize: 1 },
      { batchSize: 10_000 },
      { maxBatchingWindow: Duration.seconds(0) },
      { maxBatchingWindow: Duration.minutes(5) },
      { maxRetryAttempts: -1 },
      { maxRetryAttempts: 10_000 },
      { maxRecordAge: Duration.minutes(1) },
      { maxRecordAge: Duration.days(7) },
      { startingPosition: 0 },
      { startingPosition: 'earliest' },
      { parallelizationFactor: 1 },
      { parallelizationFactor: 10 },
      { lagAlarmThreshold: Duration.minutes(1) },
      { group: 'g'.repeat(255) },
      { topic: 't'.repeat(249) },
    ];
    for (const options of bounds) assert.equal(addError(options), undefined, JSON.stringify(options));
  });

  test('synthesis and the engine agree on every bound: what one rejects, the other does too', () => {
    const knobs: [Partial<StreambedConsumerOptions>, Record<string, unknown>][] = [
      [{ batchSize: 0 }, { batchSize: 0 }],
      [{ batchSize: 10_001 }, { batchSize: 10_001 }],
      [{ maxBatchingWindow: Duration.seconds(301) }, { maxBatchingWindowSeconds: 301 }],
      [{ maxRetryAttempts: -2 }, { maxRetryAttempts: -2 }],
      [{ maxRetryAttempts: 10_001 }, { maxRetryAttempts: 10_001 }],
      [{ maxRecordAge: Duration.seconds(59) }, { maxRecordAgeSeconds: 59 }],
      [{ maxRecordAge: Duration.seconds(604_801) }, { maxRecordAgeSeconds: 604_801 }],
      [{ batchSize: 10_000 }, { batchSize: 10_000 }],
      [{ maxBatchingWindow: Duration.seconds(300) }, { maxBatchingWindowSeconds: 300 }],
      [{ maxRecordAge: Duration.seconds(604_800) }, { maxRecordAgeSeconds: 604_800 }],
      [{ maxRecordAge: Duration.seconds(60) }, { maxRecordAgeSeconds: 60 }],
      [{ parallelizationFactor: 0 }, { parallelizationFactor: 0 }],
      [{ parallelizationFactor: 11 }, { parallelizationFactor: 11 }],
      [{ parallelizationFactor: 10 }, { parallelizationFactor: 10 }],
    ];
    for (const [options, input] of knobs) {
      const cdk = addError(options) === undefined;
      let engine = true;
      try {
        resolveSubscription({ group: 'g', topic: 't', target: SHIPPING_ARN, ...input });
      } catch {
        engine = false;
      }
      assert.equal(cdk, engine, JSON.stringify(input));
    }
  });

  test('the group must be a literal (it names the resource); the topic may be a token', () => {
    const app = new App({ outdir: tempOutdir(), context: { ...cdkJsonContext(), ...SKIP_BUNDLING } });
    const stack = new Stack(app, 'Test');
    const log = new Streambed(stack, 'Log');
    const handler = LambdaFunction.fromFunctionArn(stack, 'Fn', SHIPPING_ARN);
    assert.throws(
      () => log.addConsumer({ group: Aws.STACK_NAME, topic: 't', handler }),
      /group must be a literal/,
    );
    log.addConsumer({ group: 'g', topic: Aws.STACK_NAME, handler });
  });
});

describe('addConsumer: alarms', () => {
  const alarms = () =>
    Object.values(c.template.findResources('AWS::CloudWatch::Alarm')).map(
      (r) => r.Properties as Record<string, unknown>,
    );

  test('every consumer gets a StuckPartition alarm (≥ 1 in one minute); a lag alarm only with lagAlarmThreshold', () => {
    const summary = alarms()
      .map((a) => ({
        metric: a.MetricName,
        group: (a.Dimensions as { Name: string; Value: string }[]).find((d) => d.Name === 'group')?.Value,
        threshold: a.Threshold,
        periods: a.EvaluationPeriods,
        comparison: a.ComparisonOperator,
      }))
      .sort((a, b) => `${a.group}${a.metric}`.localeCompare(`${b.group}${b.metric}`));
    assert.deepEqual(summary, [
      {
        metric: 'ConsumerLagSeconds',
        group: 'billing',
        threshold: 300,
        periods: 3,
        comparison: 'GreaterThanThreshold',
      },
      {
        metric: 'StuckPartition',
        group: 'billing',
        threshold: 1,
        periods: 1,
        comparison: 'GreaterThanOrEqualToThreshold',
      },
      {
        metric: 'StuckPartition',
        group: 'shipping',
        threshold: 1,
        periods: 1,
        comparison: 'GreaterThanOrEqualToThreshold',
      },
    ]);
    for (const alarm of alarms()) {
      assert.equal(alarm.Namespace, 'Streambed');
      assert.equal(alarm.Statistic, 'Maximum');
      assert.equal(alarm.Period, 60);
      assert.equal(alarm.TreatMissingData, 'notBreaching');
      // The dimensions the dispatcher publishes with (Powertools adds `service`).
      assert.deepEqual((alarm.Dimensions as { Name: string }[]).map((d) => d.Name).sort(), [
        'group',
        'service',
      ]);
    }
    assert.deepEqual(Object.keys(plain.template.findResources('AWS::CloudWatch::Alarm')), []);
  });

  test('consumerAlarms gives them by group, for actions; an unknown group is an error', () => {
    const billing = c.stack.streambed.consumerAlarms('billing');
    assert.ok(billing.stuck && billing.lag);
    assert.equal(c.stack.streambed.consumerAlarms('shipping').lag, undefined);
    assert.throws(() => c.stack.streambed.consumerAlarms('nobody'), /no consumer group 'nobody' was added/);
  });
});

describe('grantOffsetCommit: a handler that commits in its own transaction', () => {
  test("UpdateItem on the meta table limited to the group's items, and STREAMBED_META_TABLE in its environment", () => {
    const { stack } = streambedStack();
    const ledger = new LambdaFunction(stack, 'Ledger', {
      runtime: Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: Code.fromInline('exports.handler = async () => ({});'),
    });
    stack.streambed.addConsumer({ group: 'ledger', topic: 'payments', handler: ledger });
    stack.streambed.grantOffsetCommit(ledger, 'ledger');
    const template = Template.fromStack(stack);
    const fn = template.toJSON().Resources[logicalId(ledger)];
    assert.deepEqual(fn.Properties.Environment.Variables.STREAMBED_META_TABLE, {
      Ref: logicalId(stack.streambed.metaTable),
    });
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (p) =>
        (p.Properties as { PolicyDocument: { Statement: Record<string, unknown>[] } }).PolicyDocument
          .Statement,
    );
    const grant = statements.find((st) => st.Action === 'dynamodb:UpdateItem' && st.Condition !== undefined);
    assert.deepEqual(grant?.Condition, {
      'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['group#ledger'] },
    });
    assert.deepEqual(grant?.Resource, { 'Fn::GetAtt': [logicalId(stack.streambed.metaTable), 'Arn'] });
    assert.throws(() => stack.streambed.grantOffsetCommit(ledger, 'bad group'), /group must be/);
  });
});
