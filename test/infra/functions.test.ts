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

type Group = 'topics' | 'produce' | 'fetch' | 'groups';
const GROUPS: readonly Group[] = ['topics', 'produce', 'fetch', 'groups'];
const MEMORY: Record<Group, number> = { topics: 512, produce: 1024, fetch: 1024, groups: 512 };

function fn(group: Group): NodejsFunction {
  const { streambed } = synthesized.stack;
  return {
    topics: streambed.topicsFunction,
    produce: streambed.produceFunction,
    fetch: streambed.fetchFunction,
    groups: streambed.groupsFunction,
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

const EXPECTED: Record<Group, string[]> = {
  topics: [
    ...LOGS,
    'Allow s3:ListBucket on bucket.Arn if {"StringLike":{"s3:prefix":["topics/*"]}}',
    ...allow(['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], [OBJECTS]),
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
    ...allow(['dynamodb:GetItem'], ['metaTable.Arn']),
    ...allow(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], ['logTable.Arn']),
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
        'dynamodb:Query',
        'dynamodb:Scan',
        'dynamodb:UpdateItem',
        'dynamodb:ConditionCheckItem',
      ],
      ['metaTable.Arn'],
    ),
    ...allow(['dynamodb:GetItem', 'dynamodb:BatchGetItem'], ['logTable.Arn']),
  ],
};

describe('functions', () => {
  test('exactly the four handler groups, and no other function (no custom-resource providers)', () => {
    template.resourceCountIs('AWS::Lambda::Function', 4);
  });

  for (const group of GROUPS) {
    describe(group, () => {
      test('Node.js 24 on arm64, ESM bundle handler, 29 s timeout, memory for its work', () => {
        const p = properties(group);
        assert.equal(p.Runtime, 'nodejs24.x');
        assert.deepEqual(p.Architectures, ['arm64']);
        assert.equal(p.Handler, 'index.handler');
        assert.equal(p.Timeout, 29);
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
        });
      });

      test('logs to its own log group, kept one month', () => {
        const logGroupId = properties(group).LoggingConfig.LogGroup.Ref as string;
        const logGroup = template.toJSON().Resources[logGroupId];
        assert.equal(logGroup.Type, 'AWS::Logs::LogGroup');
        assert.equal(logGroup.Properties.RetentionInDays, 30);
      });

      test('its role holds exactly the permissions its routes need', () => {
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
    });
  }

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

  test('groups cannot touch S3 and cannot write the log table', () => {
    for (const permission of permissions('groups')) {
      assert.doesNotMatch(permission, /s3:/, permission);
      if (permission.endsWith('logTable.Arn')) assert.doesNotMatch(permission, /Put|Update|Delete|Write/);
    }
  });

  test('the only cfn-lint check silenced is W3005 (redundant DependsOn), on the four functions only', () => {
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

  test('no statement in the stack allows anything on "*"', () => {
    for (const [id, resource] of Object.entries(template.findResources('AWS::IAM::Policy'))) {
      for (const statement of resource.Properties.PolicyDocument.Statement) {
        const resources = [statement.Resource].flat();
        assert.ok(!resources.includes('*'), `${id}: ${JSON.stringify(statement)}`);
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
