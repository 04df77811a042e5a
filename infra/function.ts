import { fileURLToPath } from 'node:url';
import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, type CfnFunction, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { StreambedStorage } from './storage.ts';

/** The repository root: the handlers' entries and the lock file are found from here. */
const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * ESM bundles that contain CommonJS code (parts of the AWS SDK) call `require`, which ES modules
 * do not have. The alias keeps the banner from clashing with a bundled `createRequire` import.
 */
const ESM_REQUIRE_BANNER =
  "import { createRequire as __streambedCreateRequire } from 'node:module'; const require = __streambedCreateRequire(import.meta.url);";

/** Native modules installed beside every function's bundle (see lib/core/segment/crc.ts). */
export const NATIVE_MODULES = ['@node-rs/crc32'] as const;

/** What every Streambed function shares: the data it works on, where it logs, and tracing. */
export interface FunctionDefaults {
  /** The bucket and tables, passed to every function in its environment. */
  readonly storage: StreambedStorage;
  /** How long the function's log group keeps its logs. */
  readonly logRetention: RetentionDays;
  /** What happens to the function's log group when it leaves the stack. */
  readonly removalPolicy: RemovalPolicy;
  /** AWS X-Ray tracing of the function. */
  readonly tracing: Tracing;
}

/** What differs between the functions. */
export interface FunctionSpec {
  /** Construct id prefix, e.g. `Topics`. */
  readonly id: string;
  /** Entry file under `functions/`. */
  readonly entry: string;
  /** The function's description, `Streambed: <what it does>`. */
  readonly description: string;
  /** Memory in MB. */
  readonly memorySize: number;
  /** @default - 29 seconds, below the HTTP API's 30-second integration limit */
  readonly timeout?: Duration;
  /** Variables beyond the common ones. @default - none */
  readonly environment?: Readonly<Record<string, string>>;
  /** Why the role holds an action on "*" (the cdk-nag IAM5 acknowledgment). @default - it holds none */
  readonly anyResourceReason?: string;
}

/**
 * Creates one function directly in `scope`: its log group (`<id>Logs`), its role (`<id>Role`, which may
 * write to that log group only) and the function (`<id>Function`), bundled from `functions/<entry>` as an
 * ESM arm64 Node.js 24 bundle. The role gets no other permission here; see {@link allow}.
 */
export function streambedFunction(
  scope: Construct,
  defaults: FunctionDefaults,
  spec: FunctionSpec,
): NodejsFunction {
  const { storage, logRetention, removalPolicy, tracing } = defaults;
  const logGroup = new LogGroup(scope, `${spec.id}Logs`, { retention: logRetention, removalPolicy });
  // An explicit role instead of the default one, which carries the AWSLambdaBasicExecutionRole managed
  // policy (logs on every log group): this one may write to its own log group only.
  const role = new Role(scope, `${spec.id}Role`, {
    assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
    description: `Streambed ${spec.id.toLowerCase()} function`,
  });
  role.addToPrincipalPolicy(
    new PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [logGroup.logGroupArn],
    }),
  );
  const fn = new NodejsFunction(scope, `${spec.id}Function`, {
    entry: `${PROJECT_ROOT}functions/${spec.entry}`,
    handler: 'handler',
    projectRoot: PROJECT_ROOT,
    depsLockFilePath: `${PROJECT_ROOT}package-lock.json`,
    description: spec.description,
    runtime: Runtime.NODEJS_24_X,
    architecture: Architecture.ARM_64,
    memorySize: spec.memorySize,
    // API functions: below the HTTP API's 30 s integration limit, so that the function, not the API,
    // reports a timeout.
    timeout: spec.timeout ?? Duration.seconds(29),
    role,
    logGroup,
    tracing,
    environment: {
      STREAMBED_BUCKET: storage.bucket.bucketName,
      STREAMBED_LOG_TABLE: storage.logTable.tableName,
      STREAMBED_META_TABLE: storage.metaTable.tableName,
      POWERTOOLS_SERVICE_NAME: 'streambed',
      POWERTOOLS_METRICS_NAMESPACE: 'Streambed',
      NODE_OPTIONS: '--enable-source-maps',
      ...spec.environment,
    },
    bundling: {
      forceDockerBundling: false,
      format: OutputFormat.ESM,
      target: 'node24',
      minify: true,
      sourceMap: true,
      sourcesContent: false,
      mainFields: ['module', 'main'],
      // Bundle the AWS SDK too: the functions run the versions package-lock.json pins and the tests
      // exercised, not whatever the Lambda runtime happens to include.
      externalModules: [],
      // The native CRC32C (lib/core/segment/crc.ts) cannot be bundled by esbuild: installed beside the
      // bundle instead, at package-lock.json's version, for Lambda's platform (npm takes the optional
      // linux-arm64-gnu binary package when told the target's cpu/os/libc, whatever the build host is).
      nodeModules: [...NATIVE_MODULES],
      environment: { npm_config_cpu: 'arm64', npm_config_os: 'linux', npm_config_libc: 'glibc' },
      banner: ESM_REQUIRE_BANNER,
    },
  });
  // The Function construct makes its resource DependsOn its role and the role's policy (so that the
  // permissions exist before the function can run); the role half is also implied by the Fn::GetAtt of
  // its ARN, which cfn-lint reports as W3005. Redundant and harmless: silenced on this resource only.
  (fn.node.defaultChild as CfnFunction).addMetadata('cfn-lint', { config: { ignore_checks: ['W3005'] } });
  const anyResource = [
    ...(spec.anyResourceReason === undefined ? [] : [spec.anyResourceReason]),
    ...(tracing === Tracing.DISABLED
      ? []
      : [
          'Added by Lambda for X-Ray tracing (xray:PutTraceSegments, xray:PutTelemetryRecords): X-Ray ' +
            'does not support resource-level permissions, so these actions can only be granted on "*".',
        ]),
  ];
  if (anyResource.length > 0) {
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: anyResource.join(' '),
    });
  }
  return fn;
}

/**
 * Adds one Allow statement to `fn`'s role. The least-privilege grants are written out with this rather
 * than with bucket.grant*() or table.grant*(), which add actions these functions never use (the
 * s3:GetObject* and s3:DeleteObject* families, s3:Abort*, dynamodb:DescribeTable, whole-bucket objects).
 */
export function allow(fn: NodejsFunction, actions: string[], resources: string[]): void {
  fn.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions, resources }));
}
