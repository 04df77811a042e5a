import { type RemovalPolicy, Token } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
  PayloadFormatVersion,
  type ThrottleSettings,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { type HandlerGroup, ROUTES } from '../functions/routes.ts';
import { allow, type FunctionDefaults, streambedFunction } from './function.ts';
import { type StreambedStorage, segmentObjectsArn } from './storage.ts';

/** The API stage's default throttling. */
const DEFAULT_THROTTLE: Required<ThrottleSettings> = { rateLimit: 1000, burstLimit: 2000 };

/** The function behind each handler group of functions/routes.ts. */
export type ApiFunctions = Readonly<Record<HandlerGroup, NodejsFunction>>;

/** One least-privilege statement of an API function: `actions` on some of the stack's data. */
export interface DataPermission {
  readonly actions: readonly string[];
  readonly resources: readonly string[];
}

/**
 * The S3 and DynamoDB permissions of each handler group's function, statement by statement, in the order
 * they are added to its role. The API functions hold exactly these; another front door to the same log
 * (the Kafka endpoint) is granted the groups it serves through {@link Streambed.grantHandlerGroups}.
 */
export function apiDataPermissions(
  storage: StreambedStorage,
): Record<HandlerGroup, readonly DataPermission[]> {
  const { bucket, logTable, metaTable } = storage;
  const objects = segmentObjectsArn(bucket);
  return {
    // Topics (lib/engine/topics.ts, topic-deletion.ts, delete-records.ts): no S3 access (a deleted topic's
    // objects are removed by the sweeper). Heads (BatchWriteItem at creation, UpdateItem to fence them and
    // for DeleteRecords), the topic record and the deletion tombstone (PutItem, DeleteItem), reads of both
    // tables; Query + BatchWriteItem remove the heads of a creation that lost its race.
    topics: [
      {
        actions: [
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:DeleteItem',
          'dynamodb:UpdateItem',
          'dynamodb:Query',
          'dynamodb:BatchGetItem',
          'dynamodb:BatchWriteItem',
        ],
        resources: [logTable.tableArn, metaTable.tableArn],
      },
    ],
    // Produce (lib/engine/produce.ts, adapters partition-index.ts, idempotent-append.ts, producer-registry.ts):
    // S3: one PutObject per call (never a delete: produce cannot remove data).
    // log: the head update (UpdateItem; idempotent producers: TransactWriteItems of two updates), index
    //   paging and time index (PutItem, UpdateItem), lower bounds of end offsets (BatchGetItem), the head
    //   and pages to find an append whose response was lost (GetItem, Query), producer state (GetItem,
    //   BatchGetItem).
    // meta: the topic and producer registrations (GetItem); POST /producers (TransactWriteItems of Puts,
    //   UpdateItem of the epoch).
    produce: [
      { actions: ['s3:PutObject'], resources: [objects] },
      {
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        resources: [metaTable.tableArn],
      },
      {
        actions: [
          'dynamodb:GetItem',
          'dynamodb:BatchGetItem',
          'dynamodb:Query',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
        ],
        resources: [logTable.tableArn],
      },
    ],
    // Fetch: ranged GETs, the topic lookup, the head and the index pages. Read-only.
    fetch: [
      { actions: ['s3:GetObject'], resources: [objects] },
      { actions: ['dynamodb:GetItem'], resources: [metaTable.tableArn] },
      {
        actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem'],
        resources: [logTable.tableArn],
      },
    ],
    // Groups (lib/engine/groups.ts, membership.ts; adapters group-store.ts, lease-store.ts):
    // meta: the topic record and the group registry (GetItem); the registry entry (PutItem); offsets commits
    //   (UpdateItem, or TransactWriteItems of updates); committed offsets, groups, leases and members
    //   (Query); lease creation and member heartbeats (PutItem); taking, renewing and releasing leases
    //   (UpdateItem); leaving (DeleteItem of the member); member commits (TransactWriteItems of a lease
    //   ConditionCheck and an offset Update per partition).
    //   Resets take pull members' leases (UpdateItem) before the plain commit.
    // log: the partition heads, for lag (BatchGetItem); the index page holding a lagging offset, for its
    //   append time (Query); a reset to a timestamp lists offsets (GetItem of the head, Query of the time
    //   index and pages).
    // S3: a reset to a timestamp reads the batch that holds it (GetObject), as fetch's list offsets does.
    groups: [
      {
        actions: [
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:DeleteItem',
          'dynamodb:Query',
          'dynamodb:ConditionCheckItem',
        ],
        resources: [metaTable.tableArn],
      },
      {
        actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem'],
        resources: [logTable.tableArn],
      },
      { actions: ['s3:GetObject'], resources: [objects] },
    ],
  };
}

/**
 * Creates the functions behind the API's routes (`Topics`, `Produce`, `Fetch`, `Groups`), in that order,
 * each with exactly the actions its routes need ({@link apiDataPermissions}).
 */
export function createApiFunctions(scope: Construct, defaults: FunctionDefaults): ApiFunctions {
  const permissions = apiDataPermissions(defaults.storage);
  const grant = (fn: NodejsFunction, group: HandlerGroup) => {
    for (const { actions, resources } of permissions[group]) allow(fn, [...actions], [...resources]);
  };

  const topics = streambedFunction(scope, defaults, {
    id: 'Topics',
    entry: 'topics.ts',
    description: 'Streambed: create, list, describe and delete topics',
    memorySize: 512,
  });
  grant(topics, 'topics');

  const produce = streambedFunction(scope, defaults, {
    id: 'Produce',
    entry: 'produce.ts',
    description: 'Streambed: produce records',
    memorySize: 1024,
  });
  grant(produce, 'produce');

  const fetch = streambedFunction(scope, defaults, {
    id: 'Fetch',
    entry: 'fetch.ts',
    description: 'Streambed: fetch records and list offsets',
    memorySize: 1024,
  });
  grant(fetch, 'fetch');

  const groups = streambedFunction(scope, defaults, {
    id: 'Groups',
    entry: 'groups.ts',
    description: 'Streambed: consumer-group offsets and membership',
    memorySize: 512,
  });
  grant(groups, 'groups');

  return { topics, produce, fetch, groups };
}

/** Properties of the HTTP API. */
export interface HttpApiProps {
  /** The functions behind the routes. */
  readonly functions: ApiFunctions;
  /** Throttling of the default stage, validated (see {@link apiThrottle}). */
  readonly throttle: Required<ThrottleSettings>;
  /** How long the access logs are kept. */
  readonly logRetention: RetentionDays;
  /** What happens to the access log group when it leaves the stack. */
  readonly removalPolicy: RemovalPolicy;
}

/** The HTTP API and what the construct exposes of it. */
export interface StreambedHttpApi {
  /** The HTTP API. */
  readonly api: HttpApi;
  /** The API's default stage. */
  readonly stage: HttpStage;
  /** The API's base URL, ending in `/`. */
  readonly url: string;
  /** The API's access log group. */
  readonly accessLogGroup: LogGroup;
}

/**
 * Creates the HTTP API (`Api`), its access log group (`ApiAccessLogs`) and throttled default stage
 * (`DefaultStage`) directly in `scope`, with every route of functions/routes.ts behind the IAM authorizer.
 */
export function createHttpApi(scope: Construct, props: HttpApiProps): StreambedHttpApi {
  const api = new HttpApi(scope, 'Api', {
    description: 'Streambed: topics, produce, fetch and consumer groups',
    // Every route requires SigV4-signed requests from principals with execute-api:Invoke. No CORS:
    // browsers are not the intended clients and a preflight cannot carry a signature anyway.
    defaultAuthorizer: new HttpIamAuthorizer(),
    // The default stage is created below, with throttling and access logs.
    createDefaultStage: false,
  });

  const accessLogGroup = new LogGroup(scope, 'ApiAccessLogs', {
    retention: props.logRetention,
    removalPolicy: props.removalPolicy,
  });
  const stage = new HttpStage(scope, 'DefaultStage', {
    httpApi: api,
    stageName: '$default',
    autoDeploy: true,
    throttle: props.throttle,
    accessLogSettings: {
      destination: new LogGroupLogDestination(accessLogGroup),
      format: AccessLogFormat.custom(
        JSON.stringify({
          requestId: '$context.requestId',
          requestTime: '$context.requestTime',
          httpMethod: '$context.httpMethod',
          path: '$context.path',
          routeKey: '$context.routeKey',
          status: '$context.status',
          protocol: '$context.protocol',
          responseLength: '$context.responseLength',
          responseLatency: '$context.responseLatency',
          integrationLatency: '$context.integrationLatency',
          integrationStatus: '$context.integrationStatus',
          integrationError: '$context.integrationErrorMessage',
          errorMessage: '$context.error.message',
          sourceIp: '$context.identity.sourceIp',
          userAgent: '$context.identity.userAgent',
          callerAccountId: '$context.identity.accountId',
          caller: '$context.identity.caller',
          userArn: '$context.identity.userArn',
        }),
      ),
    },
  });

  // The routes come from functions/routes.ts, which the local server wires too: AWS and `npm start` serve
  // the same API. Every route inherits the IAM authorizer.
  const { functions } = props;
  const integrations: Record<HandlerGroup, HttpLambdaIntegration> = {
    topics: new HttpLambdaIntegration('Topics', functions.topics, {
      payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
    }),
    produce: new HttpLambdaIntegration('Produce', functions.produce, {
      payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
    }),
    fetch: new HttpLambdaIntegration('Fetch', functions.fetch, {
      payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
    }),
    groups: new HttpLambdaIntegration('Groups', functions.groups, {
      payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
    }),
  };
  for (const route of ROUTES) {
    api.addRoutes({
      path: route.path,
      methods: [HttpMethod[route.method]],
      integration: integrations[route.group],
    });
  }

  return { api, stage, url: stage.url, accessLogGroup };
}

/**
 * The default stage's throttling: `throttle` over the defaults (1000 requests per second, burst 2000).
 * Throws, repeating the bad value, unless the rate is positive and the burst a positive integer.
 */
export function apiThrottle(throttle: ThrottleSettings | undefined): Required<ThrottleSettings> {
  const resolved = { ...DEFAULT_THROTTLE, ...throttle };
  const { rateLimit, burstLimit } = resolved;
  if (!Token.isUnresolved(rateLimit) && !(Number.isFinite(rateLimit) && rateLimit > 0)) {
    throw new Error(`throttle.rateLimit must be a positive number of requests per second, got ${rateLimit}`);
  }
  if (!Token.isUnresolved(burstLimit) && !(Number.isInteger(burstLimit) && burstLimit > 0)) {
    throw new Error(`throttle.burstLimit must be a positive integer number of requests, got ${burstLimit}`);
  }
  return resolved;
}
