import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { tableDefinitions } from '../../lib/adapters/dynamodb/tables.ts';
import { logicalId, SKIP_BUNDLING, type Synthesized, synthesizeApp } from './support.ts';

let synthesized: Synthesized;
let template: Template;
before(() => {
  // Only the template matters here; functions.test.ts and nag.test.ts synthesize with bundling.
  synthesized = synthesizeApp(SKIP_BUNDLING);
  template = synthesized.template;
});

describe('segment bucket', () => {
  test('is the only bucket, blocks all public access, and is encrypted with S3-managed keys', () => {
    template.resourceCountIs('AWS::S3::Bucket', 1);
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      VersioningConfiguration: Match.absent(),
    });
  });

  test('its policy denies every request without TLS, and TLS below 1.2, on the bucket and its objects', () => {
    const bucketId = logicalId(synthesized.stack.streambed.bucket);
    const bucketAndObjects = [
      { 'Fn::GetAtt': [bucketId, 'Arn'] },
      { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/*']] },
    ];
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            Resource: bucketAndObjects,
          },
          {
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 's3:*',
            Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } },
            Resource: bucketAndObjects,
          },
        ]),
      },
    });
  });

  test('is retained when the stack is deleted (default removal policy)', () => {
    template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });
});

describe('tables', () => {
  const definitions = tableDefinitions({ log: 'log', meta: 'meta' });

  for (const name of ['log', 'meta'] as const) {
    test(`${name}: key schema, billing and stream exactly as lib/adapters/dynamodb/tables.ts`, () => {
      const definition = definitions.find((d) => d.TableName === name);
      assert.ok(definition);
      const table =
        name === 'log' ? synthesized.stack.streambed.logTable : synthesized.stack.streambed.metaTable;
      const properties = template.toJSON().Resources[logicalId(table)].Properties;
      assert.deepEqual(properties.KeySchema, definition.KeySchema);
      assert.deepEqual(
        [...properties.AttributeDefinitions].sort((a, b) => a.AttributeName.localeCompare(b.AttributeName)),
        [...(definition.AttributeDefinitions ?? [])].sort((a, b) =>
          String(a.AttributeName).localeCompare(String(b.AttributeName)),
        ),
      );
      assert.equal(properties.BillingMode, definition.BillingMode);
      assert.equal(
        properties.StreamSpecification?.StreamViewType,
        definition.StreamSpecification?.StreamViewType,
      );
      assert.equal(properties.GlobalSecondaryIndexes, undefined);
      assert.equal(properties.LocalSecondaryIndexes, undefined);
      // TTL as ensureTables enables it locally: cleanup of expired producer state and registrations.
      assert.deepEqual(properties.TimeToLiveSpecification, { AttributeName: 'ttl', Enabled: true });
    });
  }

  test('log: pk (S) + sk (N), stream of new and old images', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: Match.arrayWith([{ AttributeName: 'sk', AttributeType: 'N' }]),
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
    });
  });

  test('meta: pk (S) + sk (S), no stream', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      AttributeDefinitions: Match.arrayWith([{ AttributeName: 'sk', AttributeType: 'S' }]),
      StreamSpecification: Match.absent(),
    });
  });

  test('both: on-demand, point-in-time recovery, deletion protection, retained, generated names', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 2);
    const tables = template.findResources('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
        TableName: Match.absent(),
      },
    });
    assert.equal(Object.keys(tables).length, 2);
  });
});

describe('outputs', () => {
  test('bucket and table names', () => {
    const { streambed } = synthesized.stack;
    template.hasOutput('BucketName', { Value: { Ref: logicalId(streambed.bucket) } });
    template.hasOutput('LogTableName', { Value: { Ref: logicalId(streambed.logTable) } });
    template.hasOutput('MetaTableName', { Value: { Ref: logicalId(streambed.metaTable) } });
  });
});
