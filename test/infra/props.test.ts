import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AccountRootPrincipal, Role } from 'aws-cdk-lib/aws-iam';
import { Tracing } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { createApp } from '../../infra/app.ts';
import { Streambed, type StreambedProps } from '../../infra/streambed.ts';
import { cdkJsonContext, logicalId, SKIP_BUNDLING, streambedStack, tempOutdir } from './support.ts';

/** Constructs a Streambed with `props` (no bundling) and returns the error it throws, if any. */
function constructionError(props: StreambedProps): Error | undefined {
  const app = new App({ outdir: tempOutdir(), context: { ...cdkJsonContext(), ...SKIP_BUNDLING } });
  try {
    new Streambed(new Stack(app, 'Test'), 'Log', props);
    return undefined;
  } catch (error) {
    return error as Error;
  }
}

describe('validation repeats the bad value', () => {
  test('removalPolicy other than RETAIN or DESTROY', () => {
    const error = constructionError({ removalPolicy: RemovalPolicy.SNAPSHOT });
    assert.match(
      error?.message ?? '',
      /removalPolicy must be RemovalPolicy.RETAIN or .*DESTROY, got 'snapshot'/,
    );
  });

  test('tableNamePrefix with characters DynamoDB does not allow', () => {
    const error = constructionError({ tableNamePrefix: 'my tables/' });
    assert.match(error?.message ?? '', /tableNamePrefix .* got 'my tables\/'/);
  });

  test('tableNamePrefix too long', () => {
    const prefix = 'p'.repeat(252);
    assert.ok(constructionError({ tableNamePrefix: prefix })?.message.includes(`got '${prefix}'`));
    assert.equal(constructionError({ tableNamePrefix: 'p'.repeat(251) }), undefined);
  });

  test('throttle limits', () => {
    assert.match(constructionError({ throttle: { rateLimit: 0 } })?.message ?? '', /rateLimit .* got 0$/);
    assert.match(
      constructionError({ throttle: { burstLimit: 1.5 } })?.message ?? '',
      /burstLimit .* got 1.5$/,
    );
    assert.match(constructionError({ throttle: { burstLimit: -3 } })?.message ?? '', /got -3$/);
  });

  test('bucketName (validated by the Bucket construct)', () => {
    assert.match(constructionError({ bucketName: 'Not_A_Bucket' })?.message ?? '', /Not_A_Bucket/);
  });
});

describe('properties', () => {
  test('removalPolicy DESTROY: data and logs deleted with the stack, no deletion protection', () => {
    const { stack } = streambedStack({ streambed: { removalPolicy: RemovalPolicy.DESTROY } });
    const template = Template.fromStack(stack);
    for (const type of ['AWS::S3::Bucket', 'AWS::DynamoDB::Table', 'AWS::Logs::LogGroup']) {
      const resources = Object.values(template.findResources(type));
      assert.ok(resources.length > 0);
      for (const resource of resources) assert.equal(resource.DeletionPolicy, 'Delete', type);
    }
    template.allResourcesProperties('AWS::DynamoDB::Table', { DeletionProtectionEnabled: false });
  });

  test('tableNamePrefix names the tables <prefix>log and <prefix>meta; bucketName names the bucket', () => {
    const { stack } = streambedStack({
      streambed: { tableNamePrefix: 'streambed-', bucketName: 'my-streambed-bucket' },
    });
    const template = Template.fromStack(stack);
    assert.equal(
      template.toJSON().Resources[logicalId(stack.streambed.logTable)].Properties.TableName,
      'streambed-log',
    );
    assert.equal(
      template.toJSON().Resources[logicalId(stack.streambed.metaTable)].Properties.TableName,
      'streambed-meta',
    );
    template.hasResourceProperties('AWS::S3::Bucket', { BucketName: 'my-streambed-bucket' });
  });

  test('logRetention and throttle', () => {
    const { stack } = streambedStack({
      streambed: { logRetention: RetentionDays.ONE_WEEK, throttle: { rateLimit: 50, burstLimit: 100 } },
    });
    const template = Template.fromStack(stack);
    // One per function (six) and the API's access logs.
    template.resourceCountIs('AWS::Logs::LogGroup', 7);
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
    });
  });

  test('tracing: active on every function, and its X-Ray wildcard is the only new acknowledged finding', () => {
    const { stack } = streambedStack({ streambed: { tracing: Tracing.ACTIVE } });
    const template = Template.fromStack(stack);
    template.allResourcesProperties('AWS::Lambda::Function', { TracingConfig: { Mode: 'Active' } });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], Resource: '*' }),
        ]),
      },
    });
    assert.deepEqual(new AwsSolutionsChecks().validateScope(stack).violations, []);
  });

  test('serverAccessLogsBucket: the bucket logs to it, and S1 is no longer acknowledged', () => {
    const { stack } = streambedStack();
    const logs = Bucket.fromBucketName(stack, 'AccessLogs', 'my-access-logs');
    const log = new Streambed(stack, 'Logged', { serverAccessLogsBucket: logs });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::S3::Bucket', {
      LoggingConfiguration: { DestinationBucketName: 'my-access-logs', LogFilePrefix: 'streambed/' },
    });
    assert.deepEqual(new AwsSolutionsChecks().validateScope(log).violations, []);
    const acknowledged = log.bucket.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules');
    assert.deepEqual(acknowledged, []);
  });

  test('grantInvoke allows execute-api:Invoke on every route of the API, nothing else', () => {
    const { stack } = streambedStack();
    const caller = new Role(stack, 'Caller', { assumedBy: new AccountRootPrincipal() });
    stack.streambed.grantInvoke(caller);
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: logicalId(caller) }],
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: 'execute-api:Invoke',
            Resource: {
              'Fn::Join': ['', Match.arrayWith([{ Ref: logicalId(stack.streambed.api) }, '/*/*/*'])],
            },
          },
        ],
      },
    });
  });
});

describe('app context', () => {
  test('streambed:stackName and streambed:removalPolicy', () => {
    const { stack } = createApp({
      outdir: tempOutdir(),
      context: {
        ...cdkJsonContext(),
        ...SKIP_BUNDLING,
        'streambed:stackName': 'streambed-dev',
        'streambed:removalPolicy': 'destroy',
      },
    });
    assert.equal(stack.stackName, 'streambed-dev');
    Template.fromStack(stack).hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
  });

  test('a bad streambed:removalPolicy is named in the error', () => {
    assert.throws(
      () =>
        createApp({ outdir: tempOutdir(), context: { ...SKIP_BUNDLING, 'streambed:removalPolicy': 'keep' } }),
      /got 'keep'/,
    );
  });
});
