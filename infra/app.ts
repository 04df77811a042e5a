import { App, type AppProps, CfnOutput, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { KafkaEndpoint } from './kafka-endpoint.ts';
import { StreambedStack } from './stack.ts';

/**
 * Context keys read by the app (`cdk deploy -c key=value`):
 *
 * - `streambed:stackName`: the CloudFormation stack name (default `Streambed`), to deploy more than one.
 * - `streambed:removalPolicy`: `retain` (default) or `destroy`, for throw-away deployments.
 * - `streambed:kafka`: `true` adds the {@link KafkaEndpoint} (Fargate + Network Load Balancer, which run
 *   and cost all the time); `false` (default) leaves it out. With it:
 *   - `streambed:kafkaCertificateArn` (required): the ACM certificate of the TLS listener;
 *   - `streambed:kafkaDomainName`: the host name clients use, covered by the certificate (default: the
 *     load balancer's DNS name);
 *   - `streambed:kafkaAllowedCidrs`: comma-separated IPv4 CIDR blocks allowed to connect (default: the
 *     VPC's CIDR block).
 */
export const CONTEXT = {
  stackName: 'streambed:stackName',
  removalPolicy: 'streambed:removalPolicy',
  kafka: 'streambed:kafka',
  kafkaCertificateArn: 'streambed:kafkaCertificateArn',
  kafkaDomainName: 'streambed:kafkaDomainName',
  kafkaAllowedCidrs: 'streambed:kafkaAllowedCidrs',
} as const;

/**
 * Builds the app: one {@link StreambedStack}, environment-agnostic (no lookups), checked by cdk-nag's
 * AwsSolutions rules during synthesis. Tests call this with the context of cdk.json.
 */
export function createApp(props: AppProps = {}): {
  app: App;
  stack: StreambedStack;
  kafka: KafkaEndpoint | undefined;
} {
  const app = new App(props);
  const stackName: unknown = app.node.tryGetContext(CONTEXT.stackName) ?? 'Streambed';
  const removalPolicy: unknown = app.node.tryGetContext(CONTEXT.removalPolicy) ?? RemovalPolicy.RETAIN;
  const stack = new StreambedStack(app, 'Streambed', {
    stackName: String(stackName),
    description: 'Streambed: Kafka semantics on S3 and DynamoDB',
    streambed: { removalPolicy: String(removalPolicy) as RemovalPolicy },
  });
  const kafka = addKafkaEndpoint(app, stack, String(removalPolicy) as RemovalPolicy);
  // Violations fail synthesis (errors) or are listed by it (warnings). Acknowledgments are also copied into
  // the template's resource Metadata (cdk_nag.rules_to_suppress), so a reviewer sees them next to the resource.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { writeSuppressionsToCloudFormation: true }));
  return { app, stack, kafka };
}

/** The Kafka endpoint when context `streambed:kafka` is `true`, with its outputs; else nothing. */
function addKafkaEndpoint(
  app: App,
  stack: StreambedStack,
  removalPolicy: RemovalPolicy,
): KafkaEndpoint | undefined {
  const flag: unknown = app.node.tryGetContext(CONTEXT.kafka) ?? false;
  if (flag === false || flag === 'false') return undefined;
  if (flag !== true && flag !== 'true') {
    throw new Error(`context ${CONTEXT.kafka} must be true or false, got '${String(flag)}'`);
  }
  const certificateArn: unknown = app.node.tryGetContext(CONTEXT.kafkaCertificateArn);
  if (typeof certificateArn !== 'string' || !certificateArn.startsWith('arn:')) {
    throw new Error(
      `context ${CONTEXT.kafkaCertificateArn} must be the ARN of an ACM certificate when ${CONTEXT.kafka} is ` +
        `true, got '${String(certificateArn)}'`,
    );
  }
  const domainName: unknown = app.node.tryGetContext(CONTEXT.kafkaDomainName);
  const allowedCidrs: unknown = app.node.tryGetContext(CONTEXT.kafkaAllowedCidrs);
  const kafka = new KafkaEndpoint(stack, 'Kafka', {
    streambed: stack.streambed,
    certificate: Certificate.fromCertificateArn(stack, 'KafkaCertificate', certificateArn),
    removalPolicy,
    ...(domainName === undefined ? {} : { domainName: String(domainName) }),
    ...(allowedCidrs === undefined
      ? {}
      : {
          allowedCidrs: (Array.isArray(allowedCidrs)
            ? allowedCidrs.map(String)
            : String(allowedCidrs).split(',')
          )
            .map((cidr) => cidr.trim())
            .filter((cidr) => cidr !== ''),
        }),
  });
  new CfnOutput(stack, 'KafkaBootstrapServers', {
    description: 'bootstrap.servers of the Kafka endpoint (TLS; security.protocol=SSL)',
    value: kafka.bootstrapServers,
  });
  new CfnOutput(stack, 'KafkaLoadBalancerDnsName', {
    description: 'DNS name of the Kafka load balancer: point the domain name (CNAME or alias) here',
    value: kafka.loadBalancer.loadBalancerDnsName,
  });
  return kafka;
}

// Run by the CDK CLI (cdk.json "app"), which sets CDK_OUTDIR: the app synthesizes itself on exit.
if (import.meta.main) createApp();
