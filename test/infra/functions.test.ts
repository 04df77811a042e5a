import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Template } from 'aws-cdk-lib/assertions';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { logicalId, permissionsOfRole, type Synthesized, synthesizeApp } from './support.ts';

let synthesized: Synthesized;
let template: Template;
before(() => {
  synthesized = synthesizeApp();
  template = synthesized.template;
});

type Group = 'topics' | 'produce' | 'fetch' | 'groups' | 'dispatcher' | 'sweeper';
const GROUPS: readonly Group[] = ['topics', 'produce', 'fetch', 'groups', 'dispatcher', 'sweeper'];
const MEMORY: Record<Group, number> = {
  topics: 512,
  produce: 1024,
  fetch: 1024,
  groups: 512,
  dispatcher: 1024,
  sweeper: 512,
};
/**
 * Seconds: API functions stay below the HTTP API's 30 s limit; the dispatcher gets Lambda's longest; the
 * sweeper gets its schedule's interval (5 minutes).
 */
const TIMEOUT: Record<Group, number> = {
  topics: 29,
  produce: 29,
  fetch: 29,
  groups: 29,
  dispatcher: 900,
  sweeper: 300,
};
/** Environment beyond the common variables: the dispatcher's lease is its timeout. */
const EXTRA_ENVIRONMENT: Record<Group, Record<string, string>> = {
  topics: {},
  produce: {},
  fetch: {},
  groups: {},
  dispatcher: { STREAMBED_DISPATCH_LEASE_MS: '900000' },
  sweeper: {},
};

function fn(group: Group): NodejsFunction {
  const { streambed } = synthesized.stack;
  return {
    topics: streambed.topicsFunction,
    produce: streambed.produceFunction,
    fetch: streambed.fetchFunction,
    groups: streambed.groupsFunction,
    dispatcher: streambed.dispatcherFunction,
    sweeper: streambed.sweeperFunction,
  }[group];
}

/** The function's CloudFormation properties. */
// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON
function properties(group: Group): any {
  return template.toJSON().Resources[logicalId(fn(group))].Properties;
}

/** Permissions of the function's role, with the stack's resources named. */
function permissions(group: Group): string[] {
  const { streambed } = synthesized.stack;
  const roleId = properties(group).Role['Fn::GetAtt'][0] as string;
  const logGroupId = properties(group).LoggingConfig.LogGroup.Ref as string;
  const names = new Map([
    [logicalId(streambed.bucket), 'bucket'],
    [logicalId(streambed.logTable), 'logTable'],
    [logicalId(streambed.metaTable), 'metaTable'],
    [logGroupId, 'ownLogGroup'],
  ]);
  return permissionsOfRole(template, roleId, names);
}

/** `Allow <action> on <resource>` for every pair. */
const allow = (actions: string[], resources: string[]): string[] =>
  actions.flatMap((action) => resources.map((resource) => `Allow ${action} on ${resource}`));

const LOGS = allow(['logs:CreateLogStream', 'logs:PutLogEvents'], ['ownLogGroup.Arn']);
const OBJECTS = 'bucket.Arn/topics/*';
const LIST_TOPICS_PREFIX = 'Allow s3:ListBucket on bucket.Arn if {"StringLike":{"s3:prefix":["topics/*"]}}';

const EXPECTED: Record<Group, string[]> = {
  // No S3 at all: a deleted topic's objects are the sweeper's to remove.
  topics: [
    ...LOGS,
    ...allow(
      [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:DeleteItem',
        'dynamodb:UpdateItem',
        'dynamodb:Query',
        'dynamodb:BatchGetItem',
        'dynamodb:BatchWriteItem',
      ],
      ['logTable.Arn', 'metaTable.Arn'],
    ),
  ],
  produce: [
    ...LOGS,
    ...allow(['s3:PutObject'], [OBJECTS]),
    ...allow(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], ['metaTable.Arn']),
    ...allow(
      [
        'dynamodb:GetItem',
        'dynamodb:BatchGetItem',
        'dynamodb:Query',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
      ],
      ['logTable.Arn'],
    ),
  ],
  fetch: [
    ...LOGS,
    ...allow(['s3:GetObject'], [OBJECTS]),
    ...allow(['dynamodb:GetItem'], ['metaTable.Arn']),
    ...allow(['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem'], ['logTable.Arn']),
  ],
  groups: [
    ...LOGS,
    ...allow(
      [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'dynamodb:Query',
        'dynamodb:ConditionCheckItem',
      ],
      ['metaTable.Arn'],
    ),
    // Lag reads index pages; a reset to a timestamp lists offsets, as fetch does (read-only).
    ...allow(['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem'], ['logTable.Arn']),
    ...allow(['s3:GetObject'], [OBJECTS]),
  ],
  dispatcher: [
    ...LOGS,
    ...allow(['s3:GetObject', 's3:PutObject'], [OBJECTS]),
    ...allow(
      [
        'dynamodb:GetItem',
        'dynamodb:Query',
        'dynamodb:BatchGetItem',
        'dynamodb:UpdateItem',
        'dynamodb:PutItem',
      ],
      ['logTable.Arn'],
    ),
    ...allow(
      [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:Query',
        'dynamodb:ConditionCheckItem',
        'dynamodb:DeleteItem',
      ],
      ['metaTable.Arn'],
    ),
    // The stream event source (Table.grantStreamRead); ListStreams has no resource-level permissions.
    ...allow(
      ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
      ['logTable.StreamArn'],
    ),
    'Allow dynamodb:ListStreams on *',
    // No lambda:InvokeFunction and no sqs:SendMessage until addConsumer (consumers.test.ts).
  ],
  // Lists, compacts (reads and writes) and deletes objects under topics/; retires and swaps index items.
  sweeper: [
    ...LOGS,
    LIST_TOPICS_PREFIX,
    ...allow(['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], [OBJECTS]),
    ...allow(
      [
        'dynamodb:GetItem',
        'dynamodb:Query',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'dynamodb:BatchWriteItem',
      ],
      ['logTable.Arn'],
    ),
    ...allow(['dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:DeleteItem'], ['metaTable.Arn']),
  ],
};

describe('functions', () => {
  test('exactly the four handler groups, the dispatcher and the sweeper; no custom-resource provider without consumers', () => {
    template.resourceCountIs('AWS::Lambda::Function', 6);
    assert.deepEqual(
      Object.keys(template.findResources('AWS::Lambda::Function')).sort(),
      GROUPS.map((group) => logicalId(fn(group))).sort(),
    );
    template.resourceCountIs('AWS::CloudFormation::CustomResource', 0);
    assert.deepEqual(Object.keys(template.findResources('Custom::StreambedSubscription')), []);
  });

  for (const group of GROUPS) {
    describe(group, () => {
      test(`Node.js 24 on arm64, ESM bundle handler, ${TIMEOUT[group]} s timeout, memory for its work`, () => {
        const p = properties(group);
        assert.equal(p.Runtime, 'nodejs24.x');
        assert.deepEqual(p.Architectures, ['arm64']);
        assert.equal(p.Handler, 'index.handler');
        assert.equal(p.Timeout, TIMEOUT[group]);
        assert.equal(p.MemorySize, MEMORY[group]);
        assert.equal(p.TracingConfig, undefined);
      });

      test('environment: bucket, tables, Powertools, source maps', () => {
        const { streambed } = synthesized.stack;
        assert.deepEqual(properties(group).Environment.Variables, {
          STREAMBED_BUCKET: { Ref: logicalId(streambed.bucket) },
          STREAMBED_LOG_TABLE: { Ref: logicalId(streambed.logTable) },
          STREAMBED_META_TABLE: { Ref: logicalId(streambed.metaTable) },
          POWERTOOLS_SERVICE_NAME: 'streambed',
          POWERTOOLS_METRICS_NAMESPACE: 'Streambed',
          NODE_OPTIONS: '--enable-source-maps',
          ...EXTRA_ENVIRONMENT[group],
        });
      });

      test('logs to its own log group, kept one month', () => {
        const logGroupId = properties(group).LoggingConfig.LogGroup.Ref as string;
        const logGroup = template.toJSON().Resources[logGroupId];
        assert.equal(logGroup.Type, 'AWS::Logs::LogGroup');
        assert.equal(logGroup.Properties.RetentionInDays, 30);
      });

      test('its role holds exactly the permissions its code paths need', () => {
        assert.deepEqual(permissions(group), [...EXPECTED[group]].sort());
      });

      test('its role is its own, assumable by Lambda only, with no managed policies', () => {
        const roleId = properties(group).Role['Fn::GetAtt'][0] as string;
        const role = template.toJSON().Resources[roleId];
        assert.equal(role.Type, 'AWS::IAM::Role');
        assert.deepEqual(role.Properties.AssumeRolePolicyDocument.Statement, [
          { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
        ]);
        assert.equal(role.Properties.ManagedPolicyArns, undefined);
        const others = GROUPS.filter((g) => g !== group).map((g) => properties(g).Role['Fn::GetAtt'][0]);
        assert.ok(!others.includes(roleId));
      });

      test('the bundle is an ES module with a require shim, a source map, and exports handler', async () => {
        const assetDir = bundleDirectory(group);
        const code = readFileSync(join(assetDir, 'index.mjs'), 'utf8');
        assert.match(code.split('\n', 1)[0] ?? '', /createRequire.*const require = /);
        assert.ok(existsSync(join(assetDir, 'index.mjs.map')));
        // Loads under Node 24 as Lambda would load it (imports and module-level code run).
        Object.assign(process.env, {
          AWS_REGION: 'us-east-1',
          STREAMBED_BUCKET: 'bucket',
          STREAMBED_LOG_TABLE: 'log',
          STREAMBED_META_TABLE: 'meta',
        });
        const module = (await import(pathToFileURL(join(assetDir, 'index.mjs')).href)) as {
          handler?: unknown;
        };
        assert.equal(typeof module.handler, 'function');
      });

      test("the native CRC32C is installed beside the bundle for Lambda's platform (linux arm64 glibc)", () => {
        const assetDir = bundleDirectory(group);
        const loader = join(assetDir, 'node_modules/@node-rs/crc32/package.json');
        assert.ok(existsSync(loader), 'no @node-rs/crc32 beside the bundle');
        const binary = readFileSync(
          join(assetDir, 'node_modules/@node-rs/crc32-linux-arm64-gnu/crc32.linux-arm64-gnu.node'),
        );
        // An ELF shared object whose e_machine (bytes 18-19, little-endian) is 183: AArch64.
        assert.deepEqual([...binary.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46]);
        assert.equal(binary.readUInt16LE(18), 183);
        const version = (p: string) =>
          (
            JSON.parse(readFileSync(join(assetDir, 'node_modules', p, 'package.json'), 'utf8')) as {
              version: string;
            }
          ).version;
        assert.equal(version('@node-rs/crc32'), version('@node-rs/crc32-linux-arm64-gnu'));
      });
    });
  }

  test("topics has no S3 permission at all (the sweeper removes a deleted topic's objects)", () => {
    for (const permission of permissions('topics')) assert.doesNotMatch(permission, /s3:|bucket/, permission);
  });

  test('produce has no delete action (S3 or DynamoDB)', () => {
    const actions = permissions('produce').join('\n');
    assert.doesNotMatch(actions, /s3:DeleteObject/);
    assert.doesNotMatch(actions, /dynamodb:DeleteItem/);
    assert.doesNotMatch(actions, /dynamodb:BatchWriteItem/);
  });

  test('fetch has no write action', () => {
    for (const permission of permissions('fetch')) {
      if (permission.includes('logs:')) continue;
      assert.doesNotMatch(permission, /Put|Update|Delete|Write|Create/, permission);
    }
  });

  test('groups can only read S3 (a reset to a timestamp) and cannot write the log table', () => {
    for (const permission of permissions('groups')) {
      if (permission.includes('s3:')) assert.match(permission, /^Allow s3:GetObject on /, permission);
      if (permission.endsWith('logTable.Arn')) assert.doesNotMatch(permission, /Put|Update|Delete|Write/);
    }
  });

  test('dispatcher: its lease (STREAMBED_DISPATCH_LEASE_MS) is its timeout, in milliseconds', () => {
    const p = properties('dispatcher');
    assert.equal(Number(p.Environment.Variables.STREAMBED_DISPATCH_LEASE_MS), p.Timeout * 1000);
  });

  test('dispatcher: no metrics API (EMF in its log), no invoke or queue rights without consumers', () => {
    const actions = permissions('dispatcher').join('\n');
    assert.doesNotMatch(actions, /cloudwatch:|lambda:|sqs:|kms:/);
    assert.doesNotMatch(actions, /s3:DeleteObject|s3:ListBucket|dynamodb:Scan|dynamodb:BatchWriteItem/);
  });

  test('sweeper: object actions under topics/ only; writes no item of the meta table', () => {
    const all = permissions('sweeper');
    const actions = all.join('\n');
    assert.doesNotMatch(actions, /dynamodb:(PutItem|UpdateItem|BatchWriteItem) on metaTable/);
    assert.deepEqual(
      all.filter((permission) => permission.includes('s3:')),
      [
        `Allow s3:DeleteObject on ${OBJECTS}`,
        `Allow s3:GetObject on ${OBJECTS}`,
        LIST_TOPICS_PREFIX,
        `Allow s3:PutObject on ${OBJECTS}`,
      ],
    );
    assert.doesNotMatch(actions, /cloudwatch:|lambda:|sqs:|kms:|dynamodb:Scan|dynamodb:ListStreams/);
  });

  test('the only cfn-lint check silenced is W3005 (redundant DependsOn), on the six functions only', () => {
    const resources = template.toJSON().Resources as Record<string, { Type: string; Metadata?: object }>;
    const silenced = Object.entries(resources).flatMap(([id, resource]) =>
      resource.Metadata !== undefined && 'cfn-lint' in resource.Metadata
        ? [[id, resource.Type, resource.Metadata['cfn-lint']]]
        : [],
    );
    assert.deepEqual(
      silenced,
      GROUPS.map((group) => [
        logicalId(fn(group)),
        'AWS::Lambda::Function',
        { config: { ignore_checks: ['W3005'] } },
      ]),
    );
  });

  test('no statement in the stack allows anything on "*", but the dispatcher\'s dynamodb:ListStreams', () => {
    const dispatcherRoleId = properties('dispatcher').Role['Fn::GetAtt'][0] as string;
    for (const [id, resource] of Object.entries(template.findResources('AWS::IAM::Policy'))) {
      for (const statement of resource.Properties.PolicyDocument.Statement) {
        const resources = [statement.Resource].flat();
        // ListStreams does not support resource-level permissions (the acknowledged IAM5 finding).
        const listStreams =
          statement.Action === 'dynamodb:ListStreams' &&
          statement.Resource === '*' &&
          JSON.stringify(resource.Properties.Roles) === JSON.stringify([{ Ref: dispatcherRoleId }]);
        assert.ok(listStreams || !resources.includes('*'), `${id}: ${JSON.stringify(statement)}`);
        assert.ok(![statement.Action].flat().some((a: string) => a.endsWith('*')), JSON.stringify(statement));
      }
    }
  });
});

/** The assembly directory holding the function's bundled code. */
function bundleDirectory(group: Group): string {
  const key = properties(group).Code.S3Key as string;
  const dir = join(synthesized.assemblyDir, `asset.${key.replace(/\.zip$/, '')}`);
  assert.ok(existsSync(dir), `no asset directory ${dir}`);
  return dir;
}

const dispatcherId = () => logicalId(fn('dispatcher'));

describe('dispatcher trigger: the log table stream', () => {
  // biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON
  let mapping: any;
  before(() => {
    const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping'));
    assert.equal(mappings.length, 1);
    mapping = mappings[0]?.Properties;
  });

  test('one event source mapping: the log table stream to the dispatcher', () => {
    assert.deepEqual(mapping.FunctionName, { Ref: dispatcherId() });
    assert.deepEqual(mapping.EventSourceArn, {
      'Fn::GetAtt': [logicalId(synthesized.stack.streambed.logTable), 'StreamArn'],
    });
  });

  test('starts at LATEST (the sweep covers earlier commits), small coalescing window, batches of 100', () => {
    assert.equal(mapping.StartingPosition, 'LATEST');
    assert.equal(mapping.BatchSize, 100);
    assert.equal(mapping.MaximumBatchingWindowInSeconds, 1);
  });

  test('few retries, no bisecting (the handler never fails a batch for a delivery), 10 batches per shard', () => {
    assert.equal(mapping.MaximumRetryAttempts, 2);
    assert.equal(mapping.BisectBatchOnFunctionError, false);
    assert.equal(mapping.ParallelizationFactor, 10);
    assert.equal(mapping.FunctionResponseTypes, undefined);
    assert.equal(mapping.TumblingWindowInSeconds, undefined);
  });

  test('filtered to partition heads: only items with sk = -1 invoke it (pages and trims do not)', () => {
    const filters = mapping.FilterCriteria.Filters as { Pattern: string }[];
    assert.equal(filters.length, 1);
    assert.deepEqual(JSON.parse(filters[0]?.Pattern ?? ''), { dynamodb: { Keys: { sk: { N: ['-1'] } } } });
  });
});

/** The EventBridge rules whose targets include `functionId`, by logical id. */
function rulesInvoking(functionId: string): [string, { Properties: Record<string, unknown> }][] {
  return Object.entries(template.findResources('AWS::Events::Rule')).filter(([, rule]) =>
    (rule.Properties.Targets as { Arn: unknown }[]).some(
      (target) => JSON.stringify(target.Arn) === JSON.stringify({ 'Fn::GetAtt': [functionId, 'Arn'] }),
    ),
  ) as [string, { Properties: Record<string, unknown> }][];
}

/** Every AWS::Lambda::Permission's properties but API Gateway's (api.test.ts), in a stable order. */
function nonApiInvokePermissions(): unknown[] {
  return Object.values(template.findResources('AWS::Lambda::Permission'))
    .filter((p) => p.Properties.Principal !== 'apigateway.amazonaws.com')
    .map((p) => p.Properties)
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

/** Every AWS::Lambda::EventInvokeConfig's properties, in a stable order. */
function eventInvokeConfigs(): unknown[] {
  return Object.values(template.findResources('AWS::Lambda::EventInvokeConfig'))
    .map((c) => c.Properties)
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

const sweeperId = () => logicalId(fn('sweeper'));

/** What EventBridge needs to invoke `functionId` from `ruleId`. */
const eventBridgeInvoke = (functionId: string, ruleId: string) => ({
  Action: 'lambda:InvokeFunction',
  FunctionName: { 'Fn::GetAtt': [functionId, 'Arn'] },
  Principal: 'events.amazonaws.com',
  SourceArn: { 'Fn::GetAtt': [ruleId, 'Arn'] },
});

/** Lambda's own retry settings for asynchronous invocations of `functionId`. */
const asyncConfig = (functionId: string, maximumEventAgeInSeconds: number) => ({
  FunctionName: { Ref: functionId },
  MaximumEventAgeInSeconds: maximumEventAgeInSeconds,
  MaximumRetryAttempts: 0,
  Qualifier: '$LATEST',
});

describe('schedules', () => {
  test('exactly two EventBridge rules: the dispatcher every minute, the sweeper every 5 minutes', () => {
    const rules = Object.values(template.findResources('AWS::Events::Rule'));
    assert.deepEqual(
      rules
        .map((rule) => [
          (rule.Properties.Targets as { Arn: { 'Fn::GetAtt': [string, string] } }[]).map(
            (target) => target.Arn['Fn::GetAtt'][0],
          ),
          rule.Properties.ScheduleExpression,
        ])
        .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
      [
        [[dispatcherId()], 'rate(1 minute)'],
        [[sweeperId()], 'rate(5 minutes)'],
      ].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    );
  });

  test('EventBridge may invoke the dispatcher and the sweeper, each from its rule only; nothing else but API Gateway may invoke', () => {
    const [[dispatcherRule]] = rulesInvoking(dispatcherId()) as [[string, unknown]];
    const [[sweeperRule]] = rulesInvoking(sweeperId()) as [[string, unknown]];
    assert.deepEqual(
      nonApiInvokePermissions(),
      [eventBridgeInvoke(dispatcherId(), dispatcherRule), eventBridgeInvoke(sweeperId(), sweeperRule)].sort(
        (a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)),
      ),
    );
  });

  test('asynchronous invocations are configured for the two scheduled functions only', () => {
    assert.deepEqual(
      eventInvokeConfigs(),
      [asyncConfig(dispatcherId(), 60), asyncConfig(sweeperId(), 300)].sort((a, b) =>
        JSON.stringify(a).localeCompare(JSON.stringify(b)),
      ),
    );
  });
});

describe('dispatcher trigger: the sweep schedule', () => {
  test('an EventBridge rule invokes the dispatcher every minute', () => {
    const rules = rulesInvoking(dispatcherId());
    assert.equal(rules.length, 1);
    const [, rule] = rules[0] as [string, { Properties: Record<string, unknown> }];
    assert.equal(rule.Properties.ScheduleExpression, 'rate(1 minute)');
    assert.equal(rule.Properties.State, 'ENABLED');
    assert.deepEqual(rule.Properties.EventPattern, undefined);
    assert.deepEqual(rule.Properties.Targets, [
      {
        Arn: { 'Fn::GetAtt': [dispatcherId(), 'Arn'] },
        Id: 'Target0',
        // A late or failed sweep is not worth retrying: the next one is a minute away.
        RetryPolicy: { MaximumEventAgeInSeconds: 60, MaximumRetryAttempts: 0 },
      },
    ]);
  });

  test('EventBridge may invoke the dispatcher from that rule only', () => {
    const [[ruleId]] = rulesInvoking(dispatcherId()) as [[string, unknown]];
    const dispatcherArn = JSON.stringify({ 'Fn::GetAtt': [dispatcherId(), 'Arn'] });
    assert.deepEqual(
      nonApiInvokePermissions().filter(
        (p) => JSON.stringify((p as { FunctionName: unknown }).FunctionName) === dispatcherArn,
      ),
      [eventBridgeInvoke(dispatcherId(), ruleId)],
    );
  });

  test('asynchronous sweeps are not retried by Lambda and expire after a minute', () => {
    assert.deepEqual(
      eventInvokeConfigs().filter(
        (c) =>
          JSON.stringify((c as { FunctionName: unknown }).FunctionName) ===
          JSON.stringify({ Ref: dispatcherId() }),
      ),
      [asyncConfig(dispatcherId(), 60)],
    );
  });
});

describe('sweeper trigger: the lifecycle schedule', () => {
  test('an EventBridge rule invokes the sweeper every 5 minutes', () => {
    const rules = rulesInvoking(sweeperId());
    assert.equal(rules.length, 1);
    const [, rule] = rules[0] as [string, { Properties: Record<string, unknown> }];
    assert.equal(rule.Properties.ScheduleExpression, 'rate(5 minutes)');
    assert.equal(rule.Properties.State, 'ENABLED');
    assert.deepEqual(rule.Properties.EventPattern, undefined);
    assert.deepEqual(rule.Properties.Targets, [
      {
        Arn: { 'Fn::GetAtt': [sweeperId(), 'Arn'] },
        Id: 'Target0',
        // A late or failed lifecycle sweep is not retried: the next one is 5 minutes away.
        RetryPolicy: { MaximumEventAgeInSeconds: 300, MaximumRetryAttempts: 0 },
      },
    ]);
  });

  test('EventBridge may invoke the sweeper from that rule only; nothing else may (no API route)', () => {
    const [[ruleId]] = rulesInvoking(sweeperId()) as [[string, unknown]];
    const sweeperArn = JSON.stringify({ 'Fn::GetAtt': [sweeperId(), 'Arn'] });
    const invokers = Object.values(template.findResources('AWS::Lambda::Permission'))
      .map((p) => p.Properties)
      .filter((p) => JSON.stringify(p.FunctionName) === sweeperArn);
    assert.deepEqual(invokers, [eventBridgeInvoke(sweeperId(), ruleId)]);
  });

  test('asynchronous sweeps are not retried by Lambda and expire after 5 minutes', () => {
    assert.deepEqual(
      eventInvokeConfigs().filter(
        (c) =>
          JSON.stringify((c as { FunctionName: unknown }).FunctionName) ===
          JSON.stringify({ Ref: sweeperId() }),
      ),
      [asyncConfig(sweeperId(), 300)],
    );
  });
});
