import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import { type IVpc, Peer, SecurityGroup, SubnetType, Vpc } from 'aws-cdk-lib/aws-ec2';
import { AwsSolutionsChecks } from 'cdk-nag';
import { createApp } from '../../infra/app.ts';
import {
  connectionSteps,
  KAFKA_SERVER_HANDLER_GROUPS,
  KafkaEndpoint,
  type KafkaEndpointProps,
} from '../../infra/kafka-endpoint.ts';
import { kafkaConfigFromEnv } from '../../lib/kafka/server/main.ts';
import {
  acknowledgments,
  cdkJsonContext,
  logicalId,
  permissionsOfRole,
  SKIP_BUNDLING,
  type Synthesized,
  streambedStack,
  synthesizeApp,
  tempOutdir,
} from './support.ts';

const CERTIFICATE_ARN = 'arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555';
const KAFKA_CONTEXT = {
  'streambed:kafka': 'true',
  'streambed:kafkaCertificateArn': CERTIFICATE_ARN,
  'streambed:kafkaDomainName': 'kafka.example.com',
};

/** The app as `cdk synth -c streambed:kafka=true ...` synthesizes it: bundled, cdk-nag on. */
let withKafka: Synthesized;
let template: Template;
let endpoint: KafkaEndpoint;
/** The default app (no context): no endpoint. */
let plain: Synthesized;
before(() => {
  withKafka = synthesizeApp(KAFKA_CONTEXT);
  template = withKafka.template;
  const found = withKafka.stack.node.tryFindChild('Kafka');
  assert.ok(found instanceof KafkaEndpoint);
  endpoint = found;
  plain = synthesizeApp(SKIP_BUNDLING);
});

/** A bare stack with an endpoint of `props` (over a certificate), for property variants. */
function endpointStack(props: Partial<KafkaEndpointProps> = {}) {
  const { app, stack } = streambedStack();
  const kafka = new KafkaEndpoint(stack, 'Kafka', {
    streambed: stack.streambed,
    certificate: Certificate.fromCertificateArn(stack, 'Certificate', CERTIFICATE_ARN),
    ...props,
  });
  return { app, stack, kafka };
}

/** `${name}`, as renderResource writes a Ref. */
const ref = (name: string) => `\${${name}}`;
/** The CDK's container asset repository, rendered. */
const ASSET_REPOSITORY = `arn:${ref('AWS::Partition')}:ecr:${ref('AWS::Region')}:${ref('AWS::AccountId')}:repository/{"Fn::Sub":"cdk-hnb659fds-container-assets-${ref('AWS::AccountId')}-${ref('AWS::Region')}"}`;

const ENDPOINT_TYPES = [
  'AWS::ECS::Cluster',
  'AWS::ECS::Service',
  'AWS::ECS::TaskDefinition',
  'AWS::ElasticLoadBalancingV2::LoadBalancer',
  'AWS::ElasticLoadBalancingV2::Listener',
  'AWS::ElasticLoadBalancingV2::TargetGroup',
  'AWS::ApplicationAutoScaling::ScalableTarget',
  'AWS::ApplicationAutoScaling::ScalingPolicy',
  'AWS::EC2::VPC',
  'AWS::EC2::SecurityGroup',
];

describe('KafkaEndpoint: off by default', () => {
  test('the default app has no ECS, load balancer, scaling or VPC resource, and no Kafka output', () => {
    for (const type of ENDPOINT_TYPES) plain.template.resourceCountIs(type, 0);
    assert.equal(plain.stack.node.tryFindChild('Kafka'), undefined);
    assert.deepEqual(Object.keys(plain.template.findOutputs('Kafka*')), []);
  });

  test('context streambed:kafka must be true or false; true needs a certificate ARN', () => {
    const app = (context: Record<string, unknown>) =>
      createApp({ outdir: tempOutdir(), context: { ...cdkJsonContext(), ...SKIP_BUNDLING, ...context } });
    assert.throws(
      () => app({ 'streambed:kafka': 'yes' }),
      /streambed:kafka must be true or false, got 'yes'/,
    );
    assert.throws(
      () => app({ 'streambed:kafka': true }),
      /streambed:kafkaCertificateArn must be the ARN of an ACM certificate .*got 'undefined'/,
    );
    assert.equal(app({ 'streambed:kafka': 'false' }).kafka, undefined);
    const allowed = app({
      'streambed:kafka': true,
      'streambed:kafkaCertificateArn': CERTIFICATE_ARN,
      'streambed:kafkaAllowedCidrs': '10.1.0.0/16, 192.168.0.0/24',
    });
    assert.ok(allowed.kafka);
  });
});

describe('KafkaEndpoint: the Fargate service', () => {
  test('one arm64 Linux task with the server container, its environment naming the stack data, the advertised address and STS authentication for this account', () => {
    const { streambed } = withKafka.stack;
    template.resourceCountIs('AWS::ECS::TaskDefinition', 1);
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      RequiresCompatibilities: ['FARGATE'],
      NetworkMode: 'awsvpc',
      Cpu: '512',
      Memory: '1024',
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
      ContainerDefinitions: [
        Match.objectLike({
          Name: 'Server',
          Essential: true,
          ReadonlyRootFilesystem: true,
          PortMappings: [{ ContainerPort: 9092, Protocol: 'tcp' }],
          Environment: [
            { Name: 'STREAMBED_BUCKET', Value: { Ref: logicalId(streambed.bucket) } },
            { Name: 'STREAMBED_LOG_TABLE', Value: { Ref: logicalId(streambed.logTable) } },
            { Name: 'STREAMBED_META_TABLE', Value: { Ref: logicalId(streambed.metaTable) } },
            { Name: 'KAFKA_PORT', Value: '9092' },
            { Name: 'ADVERTISED_HOST', Value: 'kafka.example.com' },
            { Name: 'ADVERTISED_PORT', Value: '9094' },
            { Name: 'STREAMBED_KAFKA_AUTH', Value: 'sts' },
            { Name: 'STREAMBED_KAFKA_CLUSTER_ID', Value: 'kafka.example.com' },
            { Name: 'STREAMBED_AWS_ACCOUNT', Value: { Ref: 'AWS::AccountId' } },
          ],
          LogConfiguration: {
            LogDriver: 'awslogs',
            Options: {
              'awslogs-group': { Ref: logicalId(endpoint.logGroup) },
              'awslogs-stream-prefix': 'kafka',
              'awslogs-region': { Ref: 'AWS::Region' },
            },
          },
        }),
      ],
    });
  });

  test('the container environment is what lib/kafka/server/main.ts reads', () => {
    const config = kafkaConfigFromEnv({
      STREAMBED_BUCKET: 'bucket',
      STREAMBED_LOG_TABLE: 'log',
      STREAMBED_META_TABLE: 'meta',
      KAFKA_PORT: '9092',
      ADVERTISED_HOST: 'kafka.example.com',
      ADVERTISED_PORT: '9094',
      STREAMBED_KAFKA_AUTH: 'sts',
      STREAMBED_KAFKA_CLUSTER_ID: 'kafka.example.com',
      STREAMBED_AWS_ACCOUNT: '123456789012',
    });
    assert.deepEqual(config, {
      bucket: 'bucket',
      tables: { log: 'log', meta: 'meta' },
      port: 9092,
      advertised: { host: 'kafka.example.com', port: 9094 },
      clusterId: 'kafka.example.com',
      auth: { mode: 'sts', account: '123456789012' },
    });
    assert.throws(() => kafkaConfigFromEnv({}), /environment variable STREAMBED_BUCKET is not set/);
    assert.throws(
      () =>
        kafkaConfigFromEnv({
          STREAMBED_BUCKET: 'b',
          STREAMBED_LOG_TABLE: 'l',
          STREAMBED_META_TABLE: 'm',
          ADVERTISED_HOST: 'h',
          ADVERTISED_PORT: '90940',
        }),
      /ADVERTISED_PORT must be a port number from 1 to 65535, got '90940'/,
    );
  });

  test('the server refuses to start without authentication unless STREAMBED_KAFKA_AUTH=none says so', () => {
    const base = {
      STREAMBED_BUCKET: 'b',
      STREAMBED_LOG_TABLE: 'l',
      STREAMBED_META_TABLE: 'm',
      ADVERTISED_HOST: 'h',
      ADVERTISED_PORT: '9094',
    };
    assert.throws(
      () => kafkaConfigFromEnv(base),
      /needs STREAMBED_AWS_ACCOUNT .* or STREAMBED_KAFKA_ALLOWED_PRINCIPALS/,
    );
    assert.deepEqual(kafkaConfigFromEnv({ ...base, STREAMBED_KAFKA_AUTH: 'none' }).auth, { mode: 'none' });
    assert.throws(
      () => kafkaConfigFromEnv({ ...base, STREAMBED_KAFKA_AUTH: 'iam' }),
      /must be sts or none, got 'iam'/,
    );
    assert.deepEqual(
      kafkaConfigFromEnv({
        ...base,
        STREAMBED_KAFKA_ALLOWED_PRINCIPALS: '111122223333, arn:aws:iam::123456789012:role/app-*',
        STREAMBED_KAFKA_STS_ENDPOINTS: 'https://vpce-1.sts.eu-west-1.vpce.amazonaws.com',
      }).auth,
      {
        mode: 'sts',
        allowedPrincipals: ['111122223333', 'arn:aws:iam::123456789012:role/app-*'],
        stsEndpoints: ['https://vpce-1.sts.eu-west-1.vpce.amazonaws.com'],
      },
    );
    assert.throws(
      () => kafkaConfigFromEnv({ ...base, STREAMBED_KAFKA_ALLOWED_PRINCIPALS: 'alice' }),
      /must hold account ids and ARN patterns, got 'alice'/,
    );
  });

  test('allowedPrincipals and clusterId go to the container in place of the account and the host name', () => {
    const { stack, kafka } = endpointStack({
      domainName: 'kafka.example.com',
      clusterId: 'orders-cluster',
      allowedPrincipals: ['arn:aws:iam::123456789012:role/app-*', '111122223333'],
    });
    const containers = Object.values(Template.fromStack(stack).findResources('AWS::ECS::TaskDefinition'))[0]
      ?.Properties.ContainerDefinitions as { Environment: { Name: string; Value: unknown }[] }[];
    const envOf = (name: string) => containers[0]?.Environment.find((e) => e.Name === name)?.Value;
    assert.equal(
      envOf('STREAMBED_KAFKA_ALLOWED_PRINCIPALS'),
      'arn:aws:iam::123456789012:role/app-*,111122223333',
    );
    assert.equal(envOf('STREAMBED_KAFKA_CLUSTER_ID'), 'orders-cluster');
    assert.equal(envOf('STREAMBED_AWS_ACCOUNT'), undefined);
    assert.equal(kafka.clusterId, 'orders-cluster');
  });

  test('without domainName, the load balancer DNS name is advertised', () => {
    const { stack, kafka } = endpointStack();
    const containers = Object.values(Template.fromStack(stack).findResources('AWS::ECS::TaskDefinition'))[0]
      ?.Properties.ContainerDefinitions as { Environment: { Name: string; Value: unknown }[] }[];
    const advertised = containers[0]?.Environment.find((e) => e.Name === 'ADVERTISED_HOST')?.Value;
    assert.deepEqual(advertised, { 'Fn::GetAtt': [logicalId(kafka.loadBalancer), 'DNSName'] });
  });

  test('the log group keeps the logs one month', () => {
    const logGroup = template.toJSON().Resources[logicalId(endpoint.logGroup)];
    assert.equal(logGroup.Type, 'AWS::Logs::LogGroup');
    assert.equal(logGroup.Properties.RetentionInDays, 30);
    assert.equal(logGroup.DeletionPolicy, 'Retain');
  });

  test('the service runs on Fargate in the default VPC, rolls back failed deployments, keeps full capacity while deploying', () => {
    template.hasResourceProperties('AWS::ECS::Service', {
      LaunchType: 'FARGATE',
      PlatformVersion: 'LATEST',
      DeploymentConfiguration: {
        MinimumHealthyPercent: 100,
        MaximumPercent: 200,
        DeploymentCircuitBreaker: { Enable: true, Rollback: true },
      },
      NetworkConfiguration: {
        AwsvpcConfiguration: Match.objectLike({
          AssignPublicIp: 'ENABLED',
          SecurityGroups: [{ 'Fn::GetAtt': [logicalId(endpoint.serviceSecurityGroup), 'GroupId'] }],
        }),
      },
      LoadBalancers: [{ ContainerName: 'Server', ContainerPort: 9092, TargetGroupArn: Match.anyValue() }],
    });
    template.hasResourceProperties('AWS::ECS::Cluster', {
      ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }],
    });
    // The default VPC: no NAT gateway, gateway endpoints for S3 and DynamoDB, flow logs.
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 2);
    template.hasResourceProperties('AWS::EC2::FlowLog', { LogDestinationType: 's3' });
  });

  test('in a VPC with private subnets, the tasks run there without public IPs', () => {
    const { stack } = streambedStack();
    const vpc = new Vpc(stack, 'Vpc', {
      natGateways: 1,
      subnetConfiguration: [
        { name: 'Public', subnetType: SubnetType.PUBLIC },
        { name: 'Private', subnetType: SubnetType.PRIVATE_WITH_EGRESS },
      ],
    }) as IVpc;
    new KafkaEndpoint(stack, 'Kafka', {
      streambed: stack.streambed,
      certificate: Certificate.fromCertificateArn(stack, 'Certificate', CERTIFICATE_ARN),
      vpc,
    });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::ECS::Service', {
      NetworkConfiguration: { AwsvpcConfiguration: Match.objectLike({ AssignPublicIp: 'DISABLED' }) },
    });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internal' });
    // The default allowed CIDR is this VPC's block.
    t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupIngress: [
        Match.objectLike({ CidrIp: { 'Fn::GetAtt': [logicalId(vpc), 'CidrBlock'] }, FromPort: 9094 }),
      ],
    });
  });
});

describe('KafkaEndpoint: the Network Load Balancer', () => {
  test('internal, cross-zone, with access logs to the access log bucket', () => {
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 1);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Type: 'network',
      Scheme: 'internal',
      SecurityGroups: [{ 'Fn::GetAtt': [logicalId(endpoint.loadBalancerSecurityGroup), 'GroupId'] }],
      LoadBalancerAttributes: Match.arrayWith([
        { Key: 'load_balancing.cross_zone.enabled', Value: 'true' },
        { Key: 'access_logs.s3.enabled', Value: 'true' },
        { Key: 'access_logs.s3.bucket', Value: { Ref: logicalId(endpoint.accessLogsBucket) } },
        { Key: 'access_logs.s3.prefix', Value: 'kafka' },
      ]),
    });
  });

  test('one TLS listener on 9094 with the given certificate, forwarding TCP to the tasks on 9092', () => {
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 1);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 9094,
      Protocol: 'TLS',
      Certificates: [{ CertificateArn: CERTIFICATE_ARN }],
      SslPolicy: Match.stringLikeRegexp('^ELBSecurityPolicy-TLS13-'),
    });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Port: 9092,
      Protocol: 'TCP',
      TargetType: 'ip',
      HealthCheckProtocol: 'TCP',
    });
  });

  test('outputs: the bootstrap servers (domain name and 9094) and the load balancer DNS name', () => {
    template.hasOutput('KafkaBootstrapServers', { Value: 'kafka.example.com:9094' });
    template.hasOutput('KafkaLoadBalancerDnsName', {
      Value: { 'Fn::GetAtt': [logicalId(endpoint.loadBalancer), 'DNSName'] },
    });
  });
});

describe('KafkaEndpoint: security groups', () => {
  test('the listener admits only the default VPC CIDR, on 9094; the tasks only the load balancer, on 9092; tasks send HTTPS only', () => {
    const lb = template.toJSON().Resources[logicalId(endpoint.loadBalancerSecurityGroup)];
    assert.deepEqual(lb.Properties.SecurityGroupIngress, [
      {
        CidrIp: '10.0.0.0/16',
        Description: 'Kafka clients (allowed CIDR)',
        FromPort: 9094,
        IpProtocol: 'tcp',
        ToPort: 9094,
      },
    ]);
    const tasks = template.toJSON().Resources[logicalId(endpoint.serviceSecurityGroup)];
    assert.equal(tasks.Properties.SecurityGroupIngress, undefined);
    assert.deepEqual(tasks.Properties.SecurityGroupEgress, [
      {
        CidrIp: '0.0.0.0/0',
        Description: 'AWS APIs over HTTPS',
        FromPort: 443,
        IpProtocol: 'tcp',
        ToPort: 443,
      },
    ]);
    const ingress = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress'));
    assert.deepEqual(
      ingress.map((rule) => rule.Properties),
      [
        {
          Description: 'Kafka connections and health checks from the load balancer',
          FromPort: 9092,
          ToPort: 9092,
          IpProtocol: 'tcp',
          GroupId: { 'Fn::GetAtt': [logicalId(endpoint.serviceSecurityGroup), 'GroupId'] },
          SourceSecurityGroupId: { 'Fn::GetAtt': [logicalId(endpoint.loadBalancerSecurityGroup), 'GroupId'] },
        },
      ],
    );
    // Nothing anywhere admits 0.0.0.0/0.
    assert.doesNotMatch(
      JSON.stringify(template.findResources('AWS::EC2::SecurityGroup')),
      /"CidrIp":"0\.0\.0\.0\/0","Description":"Kafka/,
    );
  });

  test('allowedCidrs and allowedPeers replace the default', () => {
    const { stack } = streambedStack();
    const vpc = new Vpc(stack, 'Vpc', { natGateways: 0 }) as IVpc;
    const clients = new SecurityGroup(stack, 'Clients', { vpc });
    const kafka = new KafkaEndpoint(stack, 'Kafka', {
      streambed: stack.streambed,
      certificate: Certificate.fromCertificateArn(stack, 'Certificate', CERTIFICATE_ARN),
      vpc,
      allowedCidrs: ['192.168.1.0/24'],
      allowedPeers: [clients, Peer.prefixList('pl-12345678')],
      internetFacing: true,
    });
    const t = Template.fromStack(stack);
    const sgId = logicalId(kafka.loadBalancerSecurityGroup);
    const inline = t.toJSON().Resources[sgId].Properties.SecurityGroupIngress as Record<string, unknown>[];
    const separate = Object.values(t.findResources('AWS::EC2::SecurityGroupIngress'))
      .map((rule) => rule.Properties as Record<string, unknown>)
      .filter((rule) => JSON.stringify(rule.GroupId) === JSON.stringify({ 'Fn::GetAtt': [sgId, 'GroupId'] }));
    assert.deepEqual(
      [...inline, ...separate].map((r: Record<string, unknown>) => [
        r.CidrIp ?? r.SourceSecurityGroupId ?? r.SourcePrefixListId,
        r.FromPort,
      ]),
      [
        ['192.168.1.0/24', 9094],
        [{ 'Fn::GetAtt': [logicalId(clients), 'GroupId'] }, 9094],
        ['pl-12345678', 9094],
      ],
    );
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internet-facing' });
  });
});

describe('KafkaEndpoint: scaling', () => {
  test('between 1 and 4 tasks by default', () => {
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      MinCapacity: 1,
      MaxCapacity: 4,
      ScalableDimension: 'ecs:service:DesiredCount',
    });
  });

  test('on CPU: target tracking at 60%', () => {
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: {
        PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' },
        TargetValue: 60,
        ScaleOutCooldown: 60,
        ScaleInCooldown: 300,
      },
    });
  });

  test("on connections: the load balancer's ActiveFlowCount sets k tasks below k × 500 connections", () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter(
      (alarm) => alarm.Properties.MetricName === 'ActiveFlowCount',
    );
    assert.equal(alarms.length, 2);
    for (const alarm of alarms) {
      assert.equal(alarm.Properties.Namespace, 'AWS/NetworkELB');
      assert.equal(alarm.Properties.Period, 60);
      assert.deepEqual(alarm.Properties.Dimensions, [
        {
          Name: 'LoadBalancer',
          Value: { 'Fn::GetAtt': [logicalId(endpoint.loadBalancer), 'LoadBalancerFullName'] },
        },
      ]);
    }
    const policies = Object.values(
      template.findResources('AWS::ApplicationAutoScaling::ScalingPolicy'),
    ).filter((policy) => policy.Properties.PolicyType === 'StepScaling');
    assert.equal(policies.length, 2);
    // Each alarm's threshold plus its steps' bounds: the absolute connection ranges and their task counts.
    const ranges: [number | null, number | null, number][] = [];
    for (const alarm of alarms) {
      const threshold = alarm.Properties.Threshold as number;
      const policyId = alarm.Properties.AlarmActions[0].Ref as string;
      const config = template.toJSON().Resources[policyId].Properties.StepScalingPolicyConfiguration;
      assert.equal(config.AdjustmentType, 'ExactCapacity');
      for (const step of config.StepAdjustments) {
        ranges.push([
          step.MetricIntervalLowerBound === undefined ? null : threshold + step.MetricIntervalLowerBound,
          step.MetricIntervalUpperBound === undefined ? null : threshold + step.MetricIntervalUpperBound,
          step.ScalingAdjustment,
        ]);
      }
    }
    ranges.sort((a, b) => a[2] - b[2]);
    assert.deepEqual(ranges, [
      [null, 500, 1],
      [500, 1000, 2],
      [1000, 1500, 3],
      [1500, null, 4],
    ]);
  });

  test('the connection steps: at most 40, reaching maxTasks', () => {
    assert.deepEqual(connectionSteps(2, 100), [
      { upper: 100, change: 1 },
      { lower: 100, change: 2 },
    ]);
    const many = connectionSteps(100, 10);
    assert.equal(many.length, 40);
    assert.deepEqual(many[0], { upper: 30, change: 3 });
    assert.deepEqual(many.at(-1), { lower: 980, change: 100 });
  });

  test('minTasks = maxTasks: a fixed count, no scaling policy', () => {
    const { stack } = endpointStack({ minTasks: 2, maxTasks: 2 });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      MinCapacity: 2,
      MaxCapacity: 2,
    });
    t.resourceCountIs('AWS::ApplicationAutoScaling::ScalingPolicy', 0);
  });
});

describe('KafkaEndpoint: permissions', () => {
  test('the task role holds exactly the data actions of the topics, produce, fetch and groups functions, on the stack bucket and tables', () => {
    assert.deepEqual(KAFKA_SERVER_HANDLER_GROUPS, ['topics', 'produce', 'fetch', 'groups']);
    const { streambed } = withKafka.stack;
    const names = new Map([
      [logicalId(streambed.bucket), 'bucket'],
      [logicalId(streambed.logTable), 'logTable'],
      [logicalId(streambed.metaTable), 'metaTable'],
    ]);
    const role = logicalId(endpoint.taskDefinition.taskRole);
    const permissions = [...new Set(permissionsOfRole(template, role, names))];
    assert.deepEqual(permissions, [
      'Allow dynamodb:BatchGetItem on logTable.Arn',
      'Allow dynamodb:BatchGetItem on metaTable.Arn',
      'Allow dynamodb:BatchWriteItem on logTable.Arn',
      'Allow dynamodb:BatchWriteItem on metaTable.Arn',
      'Allow dynamodb:ConditionCheckItem on metaTable.Arn',
      'Allow dynamodb:DeleteItem on logTable.Arn',
      'Allow dynamodb:DeleteItem on metaTable.Arn',
      'Allow dynamodb:GetItem on logTable.Arn',
      'Allow dynamodb:GetItem on metaTable.Arn',
      'Allow dynamodb:PutItem on logTable.Arn',
      'Allow dynamodb:PutItem on metaTable.Arn',
      'Allow dynamodb:Query on logTable.Arn',
      'Allow dynamodb:Query on metaTable.Arn',
      'Allow dynamodb:UpdateItem on logTable.Arn',
      'Allow dynamodb:UpdateItem on metaTable.Arn',
      'Allow s3:GetObject on bucket.Arn/topics/*',
      'Allow s3:PutObject on bucket.Arn/topics/*',
    ]);
    // ...which is the union of what the four functions' roles hold on the data (their own log groups aside).
    const functionRoles = [
      streambed.topicsFunction,
      streambed.produceFunction,
      streambed.fetchFunction,
      streambed.groupsFunction,
    ].map((fn) => logicalId(fn.role as never));
    const union = new Set(
      functionRoles
        .flatMap((id) => permissionsOfRole(template, id, names))
        .filter((permission) => !permission.includes(' logs:')),
    );
    assert.deepEqual(permissions, [...union].sort());
  });

  test('the execution role pulls from the CDK asset repository and writes the log group only', () => {
    const role = logicalId(endpoint.taskDefinition.obtainExecutionRole());
    const names = new Map([[logicalId(endpoint.logGroup), 'logGroup']]);
    assert.deepEqual(permissionsOfRole(template, role, names), [
      `Allow ecr:BatchCheckLayerAvailability on ${ASSET_REPOSITORY}`,
      `Allow ecr:BatchGetImage on ${ASSET_REPOSITORY}`,
      'Allow ecr:GetAuthorizationToken on *',
      `Allow ecr:GetDownloadUrlForLayer on ${ASSET_REPOSITORY}`,
      'Allow logs:CreateLogStream on logGroup.Arn',
      'Allow logs:PutLogEvents on logGroup.Arn',
    ]);
  });
});

describe('KafkaEndpoint: the image', () => {
  test('a linux/arm64 Docker image asset of infra/kafka/Dockerfile and the server bundled by esbuild', () => {
    const assets = JSON.parse(readFileSync(join(withKafka.assemblyDir, 'Streambed.assets.json'), 'utf8')) as {
      dockerImages: Record<string, { source: { directory: string; platform?: string } }>;
    };
    const images = Object.values(assets.dockerImages);
    assert.equal(images.length, 1);
    const source = images[0]?.source;
    assert.equal(source?.platform, 'linux/arm64');
    const dir = join(withKafka.assemblyDir, source?.directory ?? '');
    assert.match(readFileSync(join(dir, 'Dockerfile'), 'utf8'), /^FROM node:24-slim$/m);
    const bundle = readFileSync(join(dir, 'main.mjs'), 'utf8');
    assert.match(bundle, /ADVERTISED_HOST/);
    assert.match(bundle, /import\.meta\.main/);
    // The native CRC32C, snappy and LZ4 are installed in the image build at the versions the repository pins.
    const staged = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const root = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    assert.deepEqual(
      staged.dependencies,
      Object.fromEntries(
        ['@node-rs/crc32', 'snappy', 'lz4-napi'].map((name) => [name, root.dependencies[name]]),
      ),
    );
    assert.match(readFileSync(join(dir, 'Dockerfile'), 'utf8'), /^RUN npm install --omit=dev /m);
  });
});

describe('KafkaEndpoint: properties are checked at construction, repeating the bad value', () => {
  const cases: [Partial<KafkaEndpointProps>, RegExp][] = [
    [{ minTasks: 0 }, /KafkaEndpoint: minTasks must be an integer from 1 to 100, got 0/],
    [{ minTasks: 1.5 }, /minTasks must be an integer from 1 to 100, got 1\.5/],
    [{ maxTasks: 101 }, /maxTasks must be an integer from 1 to 100, got 101/],
    [{ minTasks: 3, maxTasks: 2 }, /maxTasks must be at least minTasks \(3\), got 2/],
    [{ cpu: 300 }, /cpu must be one of 256, 512, 1024, 2048, 4096, 8192, 16384 \(CPU units\), got 300/],
    [
      { cpu: 512, memoryMiB: 512 },
      /memoryMiB must be a size Fargate accepts with cpu 512: 1024 to 4096 in steps of 1024 MiB, got 512/,
    ],
    [{ connectionsPerTask: 0 }, /connectionsPerTask must be an integer from 1 to 1000000, got 0/],
    [{ targetCpuPercent: 95 }, /targetCpuPercent must be an integer from 10 to 90, got 95/],
    [
      { allowedCidrs: ['10.0.0.0/33'] },
      /allowedCidrs must hold IPv4 CIDR blocks such as 10\.0\.0\.0\/16, got '10\.0\.0\.0\/33'/,
    ],
    [{ allowedCidrs: ['::/0'] }, /got '::\/0'/],
    [
      { allowedCidrs: [] },
      /allowedCidrs is empty and no allowedPeers are given: no client could connect, got \[\]/,
    ],
    [{ domainName: 'not a host' }, /domainName must be a fully qualified host name .*got 'not a host'/],
    [
      { removalPolicy: 'snapshot' as never },
      /removalPolicy must be RemovalPolicy.RETAIN or RemovalPolicy.DESTROY, got 'snapshot'/,
    ],
    [{ certificate: undefined as never }, /certificate is required/],
    [
      { allowedPrincipals: ['alice'] },
      /allowedPrincipals must hold 12-digit account ids or IAM\/STS ARN patterns .*got 'alice'/,
    ],
    [{ allowedPrincipals: [] }, /allowedPrincipals is empty: no client could authenticate, got \[\]/],
    [{ clusterId: 'a b' }, /clusterId must be 1 to 255 letters, digits, '\.', '_' or '-', got 'a b'/],
  ];
  for (const [props, message] of cases) {
    test(JSON.stringify(props), () => {
      assert.throws(() => endpointStack(props), message);
    });
  }

  test('good sizes are accepted', () => {
    const { stack } = endpointStack({ cpu: 1024, memoryMiB: 3072, minTasks: 2, maxTasks: 10 });
    Template.fromStack(stack).hasResourceProperties('AWS::ECS::TaskDefinition', {
      Cpu: '1024',
      Memory: '3072',
    });
  });
});

describe('KafkaEndpoint: cdk-nag AwsSolutions', () => {
  interface Report {
    pluginReports: { pluginName: string; violations?: { ruleName: string; severity: string }[] }[];
  }

  test('synthesis with the endpoint reports no violation from any plugin', () => {
    const report = JSON.parse(
      readFileSync(join(withKafka.assemblyDir, 'validation-report.json'), 'utf8'),
    ) as Report;
    assert.deepEqual(
      report.pluginReports.flatMap((r) =>
        (r.violations ?? []).map((v) => `${r.pluginName}: ${v.severity} ${v.ruleName}`),
      ),
      [],
    );
  });

  test('the rule pack, run directly on the app, finds nothing; no error or warning annotation', () => {
    const result = new AwsSolutionsChecks().validateScope(withKafka.app);
    assert.deepEqual(
      result.violations.map(
        (v) => `${v.severity} ${v.ruleName} at ${v.violatingResources[0]?.constructPath}`,
      ),
      [],
    );
    const annotations = Annotations.fromStack(withKafka.stack);
    assert.deepEqual(annotations.findError('*', Match.anyValue()), []);
    assert.deepEqual(annotations.findWarning('*', Match.anyValue()), []);
  });

  test("the endpoint's acknowledgments, each with a real reason", () => {
    const bucketId = logicalId(withKafka.stack.streambed.bucket);
    // AwsSolutions only: the CDK acknowledges two CloudFormation-Validate rules on every S3 flow log itself.
    const found = [...acknowledgments(withKafka.app)]
      .filter(([path]) => path.startsWith('Streambed/Kafka/'))
      .map(([path, rules]) => {
        const own = Object.entries(rules).filter(([id]) => id.startsWith('Annotation::AwsSolutions-'));
        return [path, Object.fromEntries(own)] as const;
      })
      .filter(([, rules]) => Object.keys(rules).length > 0);
    assert.deepEqual(
      found.map(([path, rules]) => [path, Object.keys(rules)]),
      [
        ['Streambed/Kafka/AccessLogs', ['Annotation::AwsSolutions-S1']],
        ['Streambed/Kafka/Task', ['Annotation::AwsSolutions-ECS2']],
        [
          'Streambed/Kafka/Task/TaskRole',
          [`Annotation::AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/topics/*]`],
        ],
        ['Streambed/Kafka/Task/ExecutionRole', ['Annotation::AwsSolutions-IAM5[Resource::*]']],
      ],
    );
    for (const [, rules] of found) {
      for (const reason of Object.values(rules)) assert.ok(reason.length >= 100, `too thin: ${reason}`);
    }
  });

  test('in a given VPC, the EC23 acknowledgment covers only its own CIDR token; literal allowedCidrs need none', () => {
    const nag = (props: Partial<KafkaEndpointProps>) => {
      const { stack } = streambedStack();
      const vpc = new Vpc(stack, 'Vpc', { natGateways: 0 }) as IVpc;
      const kafka = new KafkaEndpoint(stack, 'Kafka', {
        streambed: stack.streambed,
        certificate: Certificate.fromCertificateArn(stack, 'Certificate', CERTIFICATE_ARN),
        vpc,
        ...props,
      });
      return acknowledgments(kafka).get(kafka.loadBalancerSecurityGroup.node.path);
    };
    assert.deepEqual(Object.keys(nag({}) ?? {}), ['Annotation::AwsSolutions-EC23']);
    assert.equal(nag({ allowedCidrs: ['10.0.0.0/8'] }), undefined);
  });
});
