import { App, type AppProps, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { StreambedStack } from './stack.ts';

/**
 * Context keys read by the app (`cdk deploy -c key=value`):
 *
 * - `streambed:stackName`: the CloudFormation stack name (default `Streambed`), to deploy more than one.
 * - `streambed:removalPolicy`: `retain` (default) or `destroy`, for throw-away deployments.
 */
export const CONTEXT = {
  stackName: 'streambed:stackName',
  removalPolicy: 'streambed:removalPolicy',
} as const;

/**
 * Builds the app: one {@link StreambedStack}, environment-agnostic (no lookups), checked by cdk-nag's
 * AwsSolutions rules during synthesis. Tests call this with the context of cdk.json.
 */
export function createApp(props: AppProps = {}): { app: App; stack: StreambedStack } {
  const app = new App(props);
  const stackName: unknown = app.node.tryGetContext(CONTEXT.stackName) ?? 'Streambed';
  const removalPolicy: unknown = app.node.tryGetContext(CONTEXT.removalPolicy) ?? RemovalPolicy.RETAIN;
  const stack = new StreambedStack(app, 'Streambed', {
    stackName: String(stackName),
    description: 'Streambed: Kafka semantics on S3 and DynamoDB',
    streambed: { removalPolicy: String(removalPolicy) as RemovalPolicy },
  });
  // Violations fail synthesis (errors) or are listed by it (warnings). Acknowledgments are also copied into
  // the template's resource Metadata (cdk_nag.rules_to_suppress), so a reviewer sees them next to the resource.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { writeSuppressionsToCloudFormation: true }));
  return { app, stack };
}

// Run by the CDK CLI (cdk.json "app"), which sets CDK_OUTDIR: the app synthesizes itself on exit.
if (import.meta.main) createApp();
