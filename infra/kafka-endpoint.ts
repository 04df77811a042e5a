import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import { AdjustmentType } from 'aws-cdk-lib/aws-applicationautoscaling';
import type { ICertificate } from 'aws-cdk-lib/aws-certificatemanager';
import {
  FlowLogDestination,
  GatewayVpcEndpointAwsService,
  type IPeer,
  IpAddresses,
  type IVpc,
  Peer,
  Port,
  SecurityGroup,
  type SubnetSelection,
  SubnetType,
  Vpc,
} from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import {
  type CfnService,
  Cluster,
  ContainerImage,
  ContainerInsights,
  CpuArchitecture,
  FargatePlatformVersion,
  FargateService,
  FargateTaskDefinition,
  type ICluster,
  LogDrivers,
  OperatingSystemFamily,
  Protocol as PortProtocol,
} from 'aws-cdk-lib/aws-ecs';
import {
  ListenerCertificate,
  type NetworkListener,
  NetworkLoadBalancer,
  Protocol,
} from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type CfnBucket,
  type IBucket,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { buildSync } from 'esbuild';
import type { HandlerGroup } from '../functions/routes.ts';
import { NATIVE_MODULES } from './function.ts';
import { OBJECT_PREFIX } from './storage.ts';
import type { Streambed } from './streambed.ts';

/** The repository root: the server's entry point is found from here. */
const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The port of the TLS listener: MSK's port for TLS. */
export const KAFKA_TLS_PORT = 9094;

/** The port the server listens on in its container (plaintext, behind the listener). */
export const KAFKA_CONTAINER_PORT = 9092;

/**
 * The handler groups whose data permissions the server needs: what `KafkaEngine`
 * (lib/kafka/server/context.ts) calls — topics (list, describe, create, delete, DeleteRecords), produce
 * (with InitProducerId), fetch and list offsets. Add `groups` when the server serves the group APIs.
 */
export const KAFKA_SERVER_HANDLER_GROUPS: readonly HandlerGroup[] = ['topics', 'produce', 'fetch', 'groups'];

/** The CIDR block of the VPC created when none is given (CDK's default, written out for the rules). */
export const DEFAULT_VPC_CIDR = '10.0.0.0/16';

/** The container's name in the task definition. */
const CONTAINER_NAME = 'Server';

/**
 * ESM bundles that contain CommonJS code (parts of the AWS SDK) call `require`, which ES modules do not
 * have (as infra/function.ts does for the functions).
 */
const ESM_REQUIRE_BANNER =
  "import { createRequire as __streambedCreateRequire } from 'node:module'; const require = __streambedCreateRequire(import.meta.url);";

/** Fargate's CPU units and, for each, the memory sizes it accepts (MiB). */
const FARGATE_SIZES: ReadonlyMap<number, readonly number[]> = new Map([
  [256, [512, 1024, 2048]],
  [512, range(1024, 4096, 1024)],
  [1024, range(2048, 8192, 1024)],
  [2048, range(4096, 16384, 1024)],
  [4096, range(8192, 30720, 1024)],
  [8192, range(16384, 61440, 4096)],
  [16384, range(32768, 122880, 8192)],
]);

function range(from: number, to: number, step: number): number[] {
  const values: number[] = [];
  for (let value = from; value <= to; value += step) values.push(value);
  return values;
}

/** Properties of a {@link KafkaEndpoint}. */
export interface KafkaEndpointProps {
  /** The Streambed whose bucket and tables the server works on. */
  readonly streambed: Streambed;

  /**
   * The ACM certificate of the TLS listener. Kafka clients check that it names the host they connect
   * to (the advertised host): give a certificate for `domainName`, and point that name at the load
   * balancer (a CNAME or alias record to {@link KafkaEndpoint.loadBalancer}'s DNS name). ACM cannot issue
   * a certificate for the load balancer's own `elb.amazonaws.com` name.
   */
  readonly certificate: ICertificate;

  /**
   * The host name clients use, advertised in Metadata (with port 9094); the certificate must cover it.
   *
   * @default - the load balancer's DNS name (clients must then skip host name verification, as no
   * ACM certificate can name it)
   */
  readonly domainName?: string;

  /**
   * Who may connect (every client authenticates with SASL OAUTHBEARER or PLAIN and a presigned STS
   * GetCallerIdentity token, `createKafkaAuthToken` / `streambed kafka-token`): account ids
   * (`123456789012`) and principal ARN patterns with `*` (`arn:aws:iam::123456789012:role/app-*`; an
   * assumed-role session matches as its role).
   *
   * @default - the principals of this stack's account
   */
  readonly allowedPrincipals?: readonly string[];

  /**
   * The cluster id tokens are bound to (clients sign it: `createKafkaAuthToken({ clusterId })`), and
   * that Metadata reports.
   *
   * @default - the advertised host: `domainName`, or the load balancer's DNS name
   */
  readonly clusterId?: string;

  /**
   * The VPC of the load balancer and the tasks. Tasks run in its private subnets with egress when it has
   * some, else in its public subnets with a public IP (for ECR and CloudWatch Logs; S3 and DynamoDB
   * are reached through gateway endpoints in the default VPC).
   *
   * @default - a new VPC: two Availability Zones, public subnets only (no NAT gateway), gateway endpoints
   * for S3 and DynamoDB, flow logs to the access log bucket
   */
  readonly vpc?: IVpc;

  /**
   * Whether the load balancer has public IP addresses. Access is still limited to `allowedCidrs` and
   * `allowedPeers`.
   *
   * @default false - an internal load balancer, reachable from the VPC (and networks routed to it)
   */
  readonly internetFacing?: boolean;

  /**
   * IPv4 CIDR blocks allowed to connect to port 9094. Only these (and `allowedPeers`) reach the
   * listener; the tasks accept connections from the load balancer only.
   *
   * @default - the VPC's CIDR block only (never 0.0.0.0/0)
   */
  readonly allowedCidrs?: readonly string[];

  /**
   * Security groups or prefix lists allowed to connect to port 9094, besides `allowedCidrs`.
   *
   * @default - none
   */
  readonly allowedPeers?: readonly IPeer[];

  /**
   * The fewest tasks running, from 1.
   *
   * @default 1
   */
  readonly minTasks?: number;

  /**
   * The most tasks running, at least `minTasks`, at most 100.
   *
   * @default 4, or `minTasks` if that is more
   */
  readonly maxTasks?: number;

  /**
   * Active connections (the load balancer's ActiveFlowCount) per task: the service runs
   * `ceil(connections / connectionsPerTask)` tasks, between `minTasks` and `maxTasks` (or more if CPU
   * asks for more). A positive integer.
   *
   * @default 500
   */
  readonly connectionsPerTask?: number;

  /**
   * Average CPU utilization of the tasks that the service scales to keep, in percent (10–90).
   *
   * @default 60
   */
  readonly targetCpuPercent?: number;

  /**
   * CPU units of each task (1024 = 1 vCPU): 256, 512, 1024, 2048, 4096, 8192 or 16384.
   *
   * @default 512
   */
  readonly cpu?: number;

  /**
   * Memory of each task in MiB, a size Fargate accepts with `cpu` (for example 1024–4096 with 512).
   *
   * @default 1024
   */
  readonly memoryMiB?: number;

  /**
   * How long the server's logs are kept; the load balancer's access logs and the VPC flow logs expire
   * after as many days.
   *
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;

  /**
   * What happens to the log group and the access log bucket when they leave the stack: `RETAIN` or
   * `DESTROY` (the bucket is deleted only if empty).
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The Kafka protocol on AWS, opt-in: the Kafka server (lib/kafka/server, entry point main.ts) as an
 * arm64 ECS Fargate service behind a Network Load Balancer whose TLS listener (port 9094, the
 * certificate you give) forwards TCP to the tasks. Every task is the same stateless broker, advertised at
 * `domainName` (or the load balancer's DNS name) and port 9094; topics, offsets and producer state are
 * the Streambed's, shared with the HTTP API.
 *
 * - Scaling: between `minTasks` and `maxTasks`, on CPU (target tracking) and on active connections
 *   (the load balancer's ActiveFlowCount, step scaling to exact task counts).
 * - Permissions: the task role holds the S3 and DynamoDB actions of the API functions that serve the
 *   same operations (topics, produce, fetch, and groups for the Kafka group coordinator) ({@link KAFKA_SERVER_HANDLER_GROUPS}, through `Streambed.grantHandlerGroups`), on the
 *   Streambed's bucket and tables only.
 * - Logs: the server's to CloudWatch Logs (`logRetention`); the listener's TLS access logs and the
 *   default VPC's flow logs to an access log bucket.
 * - Security: TLS in transit from the client to the load balancer; the listener is open only to
 *   `allowedCidrs` and `allowedPeers` (by default the VPC's CIDR block), the tasks only to the load
 *   balancer. Every client authenticates (SASL_SSL, mechanism OAUTHBEARER or PLAIN) with a presigned
 *   STS GetCallerIdentity token bound to `clusterId` (`createKafkaAuthToken`, `streambed kafka-token`);
 *   the server has STS verify it and admits the principals of this account, or `allowedPrincipals`
 *   (docs/design.md §12). Authorization is all or nothing: an admitted principal may produce, fetch,
 *   create and delete topics.
 *
 * The container image is built from infra/kafka/Dockerfile (node:24-slim, linux/arm64) and main.mjs,
 * the server bundled by esbuild at synthesis. Synthesis needs no Docker engine: it only stages the
 * build context in the cloud assembly; `cdk deploy` builds and pushes the image (and needs Docker, or
 * another engine through `CDK_DOCKER`, able to build for linux/arm64).
 *
 * Idle cost: unlike the rest of Streambed, this runs all the time — `minTasks` Fargate tasks and one
 * Network Load Balancer (plus public IPv4 addresses in the default VPC). Leave it out and nothing of it
 * exists.
 *
 * @example
 * const log = new Streambed(this, 'Log');
 * const kafka = new KafkaEndpoint(this, 'Kafka', {
 *   streambed: log,
 *   certificate: Certificate.fromCertificateArn(this, 'Cert', certificateArn),
 *   domainName: 'kafka.example.com',
 *   vpc,
 *   maxTasks: 8,
 * });
 * new CfnOutput(this, 'KafkaBootstrapServers', { value: kafka.bootstrapServers });
 */
export class KafkaEndpoint extends Construct {
  /** The VPC of the load balancer and the tasks. */
  readonly vpc: IVpc;
  /** The ECS cluster (Container Insights on). */
  readonly cluster: Cluster;
  /** The task definition: one arm64 container running the server. */
  readonly taskDefinition: FargateTaskDefinition;
  /** The Fargate service. */
  readonly service: FargateService;
  /** The Network Load Balancer. */
  readonly loadBalancer: NetworkLoadBalancer;
  /** The TLS listener on port 9094. */
  readonly listener: NetworkListener;
  /** The load balancer's security group: ingress on 9094 from the allowed networks only. */
  readonly loadBalancerSecurityGroup: SecurityGroup;
  /** The tasks' security group: ingress on 9092 from the load balancer only, egress to HTTPS. */
  readonly serviceSecurityGroup: SecurityGroup;
  /** The server's log group. */
  readonly logGroup: LogGroup;
  /** The load balancer's access logs (`kafka/`) and the default VPC's flow logs (`vpc-flow-logs/`). */
  readonly accessLogsBucket: Bucket;
  /** The cluster id clients' tokens must be made for (`createKafkaAuthToken({ clusterId })`). */
  readonly clusterId: string;
  /** The host Metadata advertises: `domainName`, or the load balancer's DNS name. */
  readonly advertisedHost: string;
  /** What Kafka clients are given as `bootstrap.servers`: `<advertised host>:9094`. */
  readonly bootstrapServers: string;

  constructor(scope: Construct, id: string, props: KafkaEndpointProps) {
    super(scope, id);
    const settings = validateKafkaEndpointProps(props);
    const { streambed, certificate } = props;

    this.accessLogsBucket = new Bucket(this, 'AccessLogs', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      // Load balancer access logs can only be written to SSE-S3 buckets.
      encryption: BucketEncryption.S3_MANAGED,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      ...(settings.logRetention === RetentionDays.INFINITE
        ? {}
        : { lifecycleRules: [{ expiration: Duration.days(settings.logRetention) }] }),
      removalPolicy: settings.removalPolicy,
    });
    Validations.of(this.accessLogsBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This bucket receives the Kafka load balancer access logs and the VPC flow logs, written by the ' +
        'log delivery service only. Server access logs of a log bucket would log the log deliveries ' +
        'themselves, one line per delivered file, without new information; reads of the logs by account ' +
        "principals are the account's CloudTrail's to record.",
    });

    this.vpc =
      props.vpc ??
      (new Vpc(this, 'Vpc', {
        ipAddresses: IpAddresses.cidr(DEFAULT_VPC_CIDR),
        maxAzs: 2,
        // No NAT gateway (the cost of one would run all the time): tasks get public IPs for ECR and
        // CloudWatch Logs, and reach S3 and DynamoDB through the gateway endpoints, at no charge.
        natGateways: 0,
        subnetConfiguration: [{ name: 'Public', subnetType: SubnetType.PUBLIC, cidrMask: 24 }],
        gatewayEndpoints: {
          S3: { service: GatewayVpcEndpointAwsService.S3 },
          DynamoDB: { service: GatewayVpcEndpointAwsService.DYNAMODB },
        },
        flowLogs: {
          FlowLogs: {
            destination: FlowLogDestination.toS3(this.accessLogsBucket as IBucket, 'vpc-flow-logs/'),
          },
        },
        // Nothing is placed in the default security group (each resource has its own); restricting it
        // would add a custom resource and its Lambda function to the stack.
        restrictDefaultSecurityGroup: false,
      }) as IVpc);
    const vpc = this.vpc;
    const hasPrivate = vpc.privateSubnets.length > 0;
    if (!hasPrivate && vpc.publicSubnets.length === 0) {
      throw new Error(
        'KafkaEndpoint: vpc must have private subnets with egress or public subnets (the tasks pull their ' +
          'image from ECR), got neither',
      );
    }
    const taskSubnets: SubnetSelection = {
      subnetType: hasPrivate ? SubnetType.PRIVATE_WITH_EGRESS : SubnetType.PUBLIC,
    };
    const loadBalancerSubnets: SubnetSelection = settings.internetFacing
      ? { subnetType: SubnetType.PUBLIC }
      : taskSubnets;

    this.logGroup = new LogGroup(this, 'Logs', {
      retention: settings.logRetention,
      removalPolicy: settings.removalPolicy,
    });

    this.cluster = new Cluster(this, 'Cluster', { vpc, containerInsightsV2: ContainerInsights.ENABLED });

    this.taskDefinition = new FargateTaskDefinition(this, 'Task', {
      cpu: settings.cpu,
      memoryLimitMiB: settings.memoryMiB,
      runtimePlatform: {
        cpuArchitecture: CpuArchitecture.ARM64,
        operatingSystemFamily: OperatingSystemFamily.LINUX,
      },
    });
    // The server needs what the API functions serving the same operations hold, nothing more.
    streambed.grantHandlerGroups(this.taskDefinition.taskRole, KAFKA_SERVER_HANDLER_GROUPS);
    const bucketLogicalId = Stack.of(this).resolve(
      (streambed.bucket.node.defaultChild as CfnBucket).logicalId,
    );
    Validations.of(this.taskDefinition.taskRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/${OBJECT_PREFIX}*]`,
      reason:
        'Segment objects are created at run time under topics/<topic name>/<topic id>/<object id>.sbs, so ' +
        'object-level actions can only name the topics/ prefix. The prefix holds nothing but segments; ' +
        'the Kafka server gets the object actions of the produce and fetch functions (PutObject, GetObject).',
    });

    this.loadBalancerSecurityGroup = new SecurityGroup(this, 'LoadBalancerSecurityGroup', {
      vpc,
      description: `Kafka clients to the Streambed TLS listener (${KAFKA_TLS_PORT})`,
      allowAllOutbound: false,
    });
    const allowedCidrs = settings.allowedCidrs ?? [
      props.vpc === undefined ? DEFAULT_VPC_CIDR : vpc.vpcCidrBlock,
    ];
    if (settings.allowedCidrs === undefined && allowedCidrs.some((cidr) => Token.isUnresolved(cidr))) {
      // cdk-nag cannot resolve the CIDR block of a VPC given as a token (the rule throws); it is the VPC's
      // own, never 0.0.0.0/0. Explicit allowedCidrs are literals, and checked.
      Validations.of(this.loadBalancerSecurityGroup).acknowledge({
        id: 'AwsSolutions-EC23',
        reason:
          "The only CIDR ingress rule admits the VPC's own CIDR block (a CloudFormation reference that " +
          'cdk-nag cannot resolve, so the rule cannot evaluate it), on the TLS port only; never 0.0.0.0/0. ' +
          'Passing allowedCidrs as literals removes this acknowledgment.',
      });
    }
    const allowed: { peer: IPeer; description: string }[] = [
      ...allowedCidrs.map((cidr) => ({
        peer: Peer.ipv4(cidr),
        description: 'Kafka clients (allowed CIDR)',
      })),
      ...settings.allowedPeers.map((peer) => ({ peer, description: 'Kafka clients (allowed peer)' })),
    ];
    for (const { peer, description } of allowed) {
      this.loadBalancerSecurityGroup.addIngressRule(peer, Port.tcp(KAFKA_TLS_PORT), description);
    }

    this.loadBalancer = new NetworkLoadBalancer(this, 'LoadBalancer', {
      vpc,
      internetFacing: settings.internetFacing,
      vpcSubnets: loadBalancerSubnets,
      crossZoneEnabled: true,
      securityGroups: [this.loadBalancerSecurityGroup],
    });
    this.advertisedHost = props.domainName ?? this.loadBalancer.loadBalancerDnsName;
    this.bootstrapServers = `${this.advertisedHost}:${KAFKA_TLS_PORT}`;
    this.clusterId = props.clusterId ?? this.advertisedHost;

    this.taskDefinition.addContainer(CONTAINER_NAME, {
      image: ContainerImage.fromAsset(stageImage(Stack.of(this).bundlingRequired), {
        platform: Platform.LINUX_ARM64,
      }),
      logging: LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: 'kafka' }),
      environment: {
        STREAMBED_BUCKET: streambed.bucket.bucketName,
        STREAMBED_LOG_TABLE: streambed.logTable.tableName,
        STREAMBED_META_TABLE: streambed.metaTable.tableName,
        KAFKA_PORT: String(KAFKA_CONTAINER_PORT),
        ADVERTISED_HOST: this.advertisedHost,
        ADVERTISED_PORT: String(KAFKA_TLS_PORT),
        // Client authentication by STS (lib/kafka/server/main.ts); tasks reach STS on 443.
        STREAMBED_KAFKA_AUTH: 'sts',
        STREAMBED_KAFKA_CLUSTER_ID: this.clusterId,
        ...(props.allowedPrincipals === undefined
          ? { STREAMBED_AWS_ACCOUNT: Stack.of(this).account }
          : { STREAMBED_KAFKA_ALLOWED_PRINCIPALS: props.allowedPrincipals.join(',') }),
      },
      portMappings: [{ containerPort: KAFKA_CONTAINER_PORT, protocol: PortProtocol.TCP }],
      readonlyRootFilesystem: true,
      // SIGTERM closes the listener and the connections at once; clients reconnect to another task.
      stopTimeout: Duration.seconds(30),
    });
    // The execution role (ECS's, to start the task) pulls the image and writes the log group; ECR's
    // GetAuthorizationToken has no resource-level permissions.
    Validations.of(this.taskDefinition.obtainExecutionRole()).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'ecr:GetAuthorizationToken, added by ECS to the task execution role to pull the image, does not ' +
        "support resource-level permissions and can only be granted on '*'. The pull itself is limited to " +
        "the CDK's container asset repository, and log writes to the server's log group.",
    });
    Validations.of(this.taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason:
        'The environment holds no secret: the bucket and table names, the listening port and the ' +
        'advertised host and port. Credentials come from the task role, never from the environment.',
    });

    this.serviceSecurityGroup = new SecurityGroup(this, 'ServiceSecurityGroup', {
      vpc,
      description: 'Streambed Kafka server tasks: from the load balancer only; HTTPS out to AWS APIs',
      allowAllOutbound: false,
    });
    // S3, DynamoDB, ECR and CloudWatch Logs are all HTTPS.
    this.serviceSecurityGroup.addEgressRule(Peer.anyIpv4(), Port.tcp(443), 'AWS APIs over HTTPS');
    this.serviceSecurityGroup.connections.allowFrom(
      this.loadBalancerSecurityGroup,
      Port.tcp(KAFKA_CONTAINER_PORT),
      'Kafka connections and health checks from the load balancer',
    );

    this.service = new FargateService(this, 'Service', {
      cluster: this.cluster as ICluster,
      taskDefinition: this.taskDefinition,
      platformVersion: FargatePlatformVersion.LATEST,
      vpcSubnets: taskSubnets,
      assignPublicIp: !hasPrivate,
      securityGroups: [this.serviceSecurityGroup],
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { rollback: true },
    });

    this.listener = this.loadBalancer.addListener('Tls', {
      port: KAFKA_TLS_PORT,
      protocol: Protocol.TLS,
      certificates: [ListenerCertificate.fromCertificateManager(certificate)],
    });
    this.listener.addTargets('Tasks', {
      port: KAFKA_CONTAINER_PORT,
      protocol: Protocol.TCP,
      targets: [
        this.service.loadBalancerTarget({
          containerName: CONTAINER_NAME,
          containerPort: KAFKA_CONTAINER_PORT,
        }),
      ],
      // Connections are long-lived; a task leaving the service stops taking new ones and is stopped soon.
      deregistrationDelay: Duration.seconds(30),
      healthCheck: {
        protocol: Protocol.TCP,
        interval: Duration.seconds(10),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 2,
      },
    });
    logTlsConnections(this.loadBalancer, this.accessLogsBucket, 'kafka');
    // The service resource DependsOn the listener and its target group (ECS refuses a target group that is
    // not attached to a load balancer yet); the target group half is also implied by the Ref in
    // LoadBalancers, which cfn-lint reports as W3005. Redundant and harmless: silenced on this resource only.
    (this.service.node.defaultChild as CfnService).addMetadata('cfn-lint', {
      config: { ignore_checks: ['W3005'] },
    });

    const scaling = this.service.autoScaleTaskCount({
      minCapacity: settings.minTasks,
      maxCapacity: settings.maxTasks,
    });
    if (settings.maxTasks > settings.minTasks) {
      scaling.scaleOnCpuUtilization('Cpu', {
        targetUtilizationPercent: settings.targetCpuPercent,
        scaleOutCooldown: Duration.minutes(1),
        scaleInCooldown: Duration.minutes(5),
      });
      scaling.scaleOnMetric('Connections', {
        metric: this.loadBalancer.metrics.activeFlowCount({
          period: Duration.minutes(1),
          statistic: 'Average',
        }),
        scalingSteps: connectionSteps(settings.maxTasks, settings.connectionsPerTask),
        adjustmentType: AdjustmentType.EXACT_CAPACITY,
        cooldown: Duration.minutes(1),
      });
    }
  }
}

/**
 * Turns on the load balancer's access logs (one line per TLS connection) into `bucket` under `prefix`,
 * with the bucket policy of the Network Load Balancer documentation: the log delivery service may write
 * under the prefix for this account and read the bucket's ACL. (`logAccessLogs` also grants the Application
 * Load Balancer's regional account, which needs the region at synthesis; this stack is region-agnostic.)
 */
function logTlsConnections(loadBalancer: NetworkLoadBalancer, bucket: Bucket, prefix: string): void {
  const { account } = Stack.of(loadBalancer);
  loadBalancer.setAttribute('access_logs.s3.enabled', 'true');
  loadBalancer.setAttribute('access_logs.s3.bucket', bucket.bucketName);
  loadBalancer.setAttribute('access_logs.s3.prefix', prefix);
  const delivery = new ServicePrincipal('delivery.logs.amazonaws.com');
  bucket.addToResourcePolicy(
    new PolicyStatement({
      principals: [delivery],
      actions: ['s3:PutObject'],
      resources: [bucket.arnForObjects(`${prefix}/AWSLogs/${account}/*`)],
      conditions: {
        StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control', 'aws:SourceAccount': account },
      },
    }),
  );
  bucket.addToResourcePolicy(
    new PolicyStatement({
      principals: [delivery],
      actions: ['s3:GetBucketAcl'],
      resources: [bucket.bucketArn],
      conditions: { StringEquals: { 'aws:SourceAccount': account } },
    }),
  );
  // The load balancer checks that it may write when the attribute is set: the policy must exist first.
  const policy = bucket.policy?.node.defaultChild;
  if (policy !== undefined) loadBalancer.node.addDependency(policy);
}

/** The properties with their defaults, checked. */
interface KafkaEndpointSettings {
  readonly internetFacing: boolean;
  readonly allowedCidrs: readonly string[] | undefined;
  readonly allowedPeers: readonly IPeer[];
  readonly minTasks: number;
  readonly maxTasks: number;
  readonly connectionsPerTask: number;
  readonly targetCpuPercent: number;
  readonly cpu: number;
  readonly memoryMiB: number;
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/** Fills in the defaults; throws, naming the property and repeating its bad value. */
function validateKafkaEndpointProps(props: KafkaEndpointProps): KafkaEndpointSettings {
  const fail = (message: string): never => {
    throw new Error(`KafkaEndpoint: ${message}`);
  };
  const integer = (name: string, value: number, min: number, max: number) => {
    if (!Token.isUnresolved(value) && !(Number.isInteger(value) && value >= min && value <= max)) {
      fail(`${name} must be an integer from ${min} to ${max}, got ${value}`);
    }
  };
  for (const principal of props.allowedPrincipals ?? []) {
    if (Token.isUnresolved(principal)) continue;
    if (!/^\d{12}$/.test(principal) && !/^arn:[^:]+:(iam|sts)::(\d{12}|\*):.+$/.test(principal)) {
      fail(
        `allowedPrincipals must hold 12-digit account ids or IAM/STS ARN patterns such as arn:aws:iam::123456789012:role/app-*, got '${principal}'`,
      );
    }
  }
  if (props.allowedPrincipals !== undefined && props.allowedPrincipals.length === 0) {
    fail('allowedPrincipals is empty: no client could authenticate, got []');
  }
  if (
    props.clusterId !== undefined &&
    !Token.isUnresolved(props.clusterId) &&
    !/^[A-Za-z0-9._-]{1,255}$/.test(props.clusterId)
  ) {
    fail(`clusterId must be 1 to 255 letters, digits, '.', '_' or '-', got '${props.clusterId}'`);
  }
  if (props.certificate === undefined) {
    fail('certificate is required: the listener is TLS only (give an ACM certificate for domainName)');
  }
  const domainName = props.domainName;
  if (
    domainName !== undefined &&
    !Token.isUnresolved(domainName) &&
    !/^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/.test(domainName)
  ) {
    fail(`domainName must be a fully qualified host name such as kafka.example.com, got '${domainName}'`);
  }
  const minTasks = props.minTasks ?? 1;
  integer('minTasks', minTasks, 1, 100);
  const maxTasks = props.maxTasks ?? Math.max(4, minTasks);
  integer('maxTasks', maxTasks, 1, 100);
  if (maxTasks < minTasks) fail(`maxTasks must be at least minTasks (${minTasks}), got ${maxTasks}`);
  const connectionsPerTask = props.connectionsPerTask ?? 500;
  integer('connectionsPerTask', connectionsPerTask, 1, 1_000_000);
  const targetCpuPercent = props.targetCpuPercent ?? 60;
  integer('targetCpuPercent', targetCpuPercent, 10, 90);
  const cpu = props.cpu ?? 512;
  const memoryMiB = props.memoryMiB ?? 1024;
  const memories = FARGATE_SIZES.get(cpu);
  if (memories === undefined) {
    fail(`cpu must be one of ${[...FARGATE_SIZES.keys()].join(', ')} (CPU units), got ${cpu}`);
  } else if (!memories.includes(memoryMiB)) {
    fail(
      `memoryMiB must be a size Fargate accepts with cpu ${cpu}: ${memories[0]} to ${memories.at(-1)} in ` +
        `steps of ${(memories[1] ?? 0) - (memories[0] ?? 0)} MiB, got ${memoryMiB}`,
    );
  }
  for (const cidr of props.allowedCidrs ?? []) {
    if (Token.isUnresolved(cidr)) continue;
    const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
    const valid =
      match?.slice(1, 5).every((octet) => Number(octet) <= 255) === true && Number(match?.[5]) <= 32;
    if (!valid) fail(`allowedCidrs must hold IPv4 CIDR blocks such as 10.0.0.0/16, got '${cidr}'`);
  }
  if (
    props.allowedCidrs !== undefined &&
    props.allowedCidrs.length === 0 &&
    (props.allowedPeers ?? []).length === 0
  ) {
    fail('allowedCidrs is empty and no allowedPeers are given: no client could connect, got []');
  }
  const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
  if (removalPolicy !== RemovalPolicy.RETAIN && removalPolicy !== RemovalPolicy.DESTROY) {
    fail(`removalPolicy must be RemovalPolicy.RETAIN or RemovalPolicy.DESTROY, got '${removalPolicy}'`);
  }
  return {
    internetFacing: props.internetFacing ?? false,
    allowedCidrs: props.allowedCidrs,
    allowedPeers: props.allowedPeers ?? [],
    minTasks,
    maxTasks,
    connectionsPerTask,
    targetCpuPercent,
    cpu,
    memoryMiB,
    logRetention: props.logRetention ?? RetentionDays.ONE_MONTH,
    removalPolicy,
  };
}

/**
 * Step scaling to exact task counts on the total active connections: `k` tasks for fewer than
 * `k × perTask` connections, `maxTasks` above. At most 40 steps (Application Auto Scaling's limit), so
 * past 40 tasks each step adds several.
 */
export function connectionSteps(
  maxTasks: number,
  perTask: number,
): { lower?: number; upper?: number; change: number }[] {
  const steps = Math.min(maxTasks, 40);
  return Array.from({ length: steps }, (_, i) => {
    const tasks = Math.ceil(((i + 1) * maxTasks) / steps);
    const lowerTasks = Math.ceil((i * maxTasks) / steps);
    return {
      ...(i === 0 ? {} : { lower: lowerTasks * perTask }),
      ...(i === steps - 1 ? {} : { upper: tasks * perTask }),
      change: tasks,
    };
  });
}

let staged: string | undefined;
let placeholder: string | undefined;

/**
 * The image's build context: infra/kafka/Dockerfile and main.mjs, lib/kafka/server/main.ts bundled by
 * the local esbuild (never in Docker), once per process. When the stack is not being bundled
 * (`cdk synth` of another stack, template-only tests), main.mjs is a stub that exits with an error.
 */
/** Native modules only the Kafka door loads: snappy and LZ4 records sections (lib/kafka/protocol/compression.ts). */
const KAFKA_NATIVE_MODULES = ['snappy', 'lz4-napi'] as const;

/**
 * The image's package.json: only the native modules the bundle loads at run time (esbuild cannot bundle
 * them), at the versions the repository's package.json pins. The Dockerfile installs them during the
 * linux/arm64 image build, so npm takes that platform's binary.
 */
export function imagePackageJson(): {
  name: string;
  private: true;
  type: 'module';
  dependencies: Record<string, string>;
} {
  const root = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  const dependencies: Record<string, string> = {};
  for (const name of [...NATIVE_MODULES, ...KAFKA_NATIVE_MODULES]) {
    const version = root.dependencies?.[name];
    if (version === undefined) throw new Error(`package.json has no dependency ${name}`);
    dependencies[name] = version;
  }
  return { name: 'streambed-kafka-endpoint', private: true, type: 'module', dependencies };
}

function stageImage(bundle: boolean): string {
  if (bundle && staged !== undefined) return staged;
  if (!bundle && placeholder !== undefined) return placeholder;
  const dir = mkdtempSync(join(tmpdir(), 'streambed-kafka-image-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(PROJECT_ROOT, 'infra/kafka/Dockerfile'), join(dir, 'Dockerfile'));
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(imagePackageJson(), null, 2)}\n`);
  if (!bundle) {
    writeFileSync(
      join(dir, 'main.mjs'),
      "console.error('not bundled: synthesize this stack'); process.exit(1);\n",
    );
    writeFileSync(join(dir, 'main.mjs.map'), '{}\n');
    placeholder = dir;
    return dir;
  }
  // Bundled as if into infra/kafka/.bundle/, so that the source map's relative paths (and so the asset
  // hash) do not depend on the temporary directory.
  const virtualOut = join(PROJECT_ROOT, 'infra/kafka/.bundle/main.mjs');
  const result = buildSync({
    absWorkingDir: PROJECT_ROOT,
    entryPoints: [join(PROJECT_ROOT, 'lib/kafka/server/main.ts')],
    outfile: virtualOut,
    write: false,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    legalComments: 'none',
    mainFields: ['module', 'main'],
    banner: { js: ESM_REQUIRE_BANNER },
    logLevel: 'silent',
  });
  for (const file of result.outputFiles) {
    const name = file.path.endsWith('.map') ? 'main.mjs.map' : 'main.mjs';
    writeFileSync(join(dir, name), file.contents);
  }
  staged = dir;
  return dir;
}
