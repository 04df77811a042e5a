import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { createApp } from '../../infra/app.ts';
import {
  acknowledgments,
  cdkJsonContext,
  logicalId,
  SKIP_BUNDLING,
  type Synthesized,
  synthesizeApp,
  tempOutdir,
} from './support.ts';

let synthesized: Synthesized;
before(() => {
  // Throws if a registered plugin (cdk-nag AwsSolutions, CloudFormation validation) reports an error.
  synthesized = synthesizeApp();
});

interface Report {
  pluginReports: { pluginName: string; violations?: { ruleName: string; severity: string }[] }[];
}

describe('cdk-nag AwsSolutions', () => {
  test('synthesis reports no unacknowledged violation, error or warning, from any validation plugin', () => {
    const report = JSON.parse(
      readFileSync(join(synthesized.assemblyDir, 'validation-report.json'), 'utf8'),
    ) as Report;
    const violations = report.pluginReports.flatMap((r) =>
      (r.violations ?? []).map((v) => `${r.pluginName}: ${v.severity} ${v.ruleName}`),
    );
    assert.deepEqual(violations, []);
  });

  test('the rule pack, run directly on the app, finds no unacknowledged violation of any severity', () => {
    const result = new AwsSolutionsChecks().validateScope(synthesized.app);
    assert.deepEqual(
      result.violations.map(
        (v) => `${v.severity} ${v.ruleName} at ${v.violatingResources[0]?.constructPath}`,
      ),
      [],
    );
    assert.equal(result.success, true);
  });

  test('no error or warning annotations', () => {
    const annotations = Annotations.fromStack(synthesized.stack);
    assert.deepEqual(annotations.findError('*', Match.anyValue()), []);
    assert.deepEqual(annotations.findWarning('*', Match.anyValue()), []);
  });

  test('only the reviewed acknowledgments exist, each with a real justification', () => {
    const bucketId = logicalId(synthesized.stack.streambed.bucket);
    const objectWildcard = `Annotation::AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/topics/*]`;
    const found = acknowledgments(synthesized.app);
    assert.deepEqual(
      [...found].map(([path, rules]) => [path, Object.keys(rules)]),
      [
        ['Streambed/Log/Bucket', ['Annotation::AwsSolutions-S1']],
        // The topics role holds no S3 permission: nothing of it to acknowledge.
        ['Streambed/Log/ProduceRole', [objectWildcard]],
        ['Streambed/Log/FetchRole', [objectWildcard]],
        ['Streambed/Log/GroupsRole', [objectWildcard]],
        // dynamodb:ListStreams (the stream event source) has no resource-level permissions.
        ['Streambed/Log/DispatcherRole', ['Annotation::AwsSolutions-IAM5[Resource::*]', objectWildcard]],
        ['Streambed/Log/SweeperRole', [objectWildcard]],
      ],
    );
    // With consumers, the provider role's acknowledgment joins these (consumers.test.ts).
    for (const rules of found.values()) {
      for (const reason of Object.values(rules)) assert.ok(reason.length >= 100, `too thin: ${reason}`);
    }
  });

  test('acknowledgments are copied into the template next to their resources', () => {
    const bucket = synthesized.template.toJSON().Resources[logicalId(synthesized.stack.streambed.bucket)];
    assert.deepEqual(
      bucket.Metadata.cdk_nag.rules_to_suppress.map((rule: { id: string }) => rule.id),
      ['AwsSolutions-S1'],
    );
  });

  test('the app really runs the checks: a non-compliant resource fails synthesis', () => {
    const { app, stack } = createApp({
      outdir: tempOutdir(),
      context: { ...cdkJsonContext(), ...SKIP_BUNDLING, '@aws-cdk/core:appMode': 'inmemory' },
    });
    new Bucket(stack, 'Plain');
    assert.throws(
      () => app.synth(),
      (error: Error) => /AwsSolutions-S10/.test(error.message) && error.message.includes('Streambed/Plain'),
    );
  });
});
