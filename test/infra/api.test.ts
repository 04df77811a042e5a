import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { ROUTES, routeKey } from '../../functions/routes.ts';
import { logicalId, SKIP_BUNDLING, type Synthesized, synthesizeApp } from './support.ts';

let synthesized: Synthesized;
let template: Template;
before(() => {
  // Only the template matters here; functions.test.ts and nag.test.ts synthesize with bundling.
  synthesized = synthesizeApp(SKIP_BUNDLING);
  template = synthesized.template;
});

/** Route key → the handler group that serves it, from the route table the local server uses too. */
const EXPECTED_ROUTES = Object.fromEntries(ROUTES.map((route) => [routeKey(route), route.group]));

describe('HTTP API', () => {
  test('one HTTP API, without CORS', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'HTTP',
      CorsConfiguration: Match.absent(),
    });
  });

  test('the route table has unique route keys, the membership routes on the groups function', () => {
    assert.equal(new Set(ROUTES.map(routeKey)).size, ROUTES.length);
    for (const key of [
      'POST /groups/{group}/members',
      'POST /groups/{group}/members/{member}/heartbeat',
      'DELETE /groups/{group}/members/{member}',
      'PUT /groups/{group}/members/{member}/offsets',
    ]) {
      assert.equal(EXPECTED_ROUTES[key], 'groups', key);
    }
  });

  test('DeleteRecords is a topics route (the function that holds no S3 permission); no route reaches the sweeper', () => {
    assert.equal(EXPECTED_ROUTES['DELETE /topics/{topic}/partitions/{partition}/records'], 'topics');
    assert.equal(EXPECTED_ROUTES['GET /topics/{topic}/partitions/{partition}/records'], 'fetch');
    assert.deepEqual([...new Set(Object.values(EXPECTED_ROUTES))].sort(), [
      'fetch',
      'groups',
      'produce',
      'topics',
    ]);
  });

  test('exactly the routes of functions/routes.ts, each on its handler group, payload format 2.0', () => {
    const { streambed } = synthesized.stack;
    const functionIds = {
      topics: logicalId(streambed.topicsFunction),
      produce: logicalId(streambed.produceFunction),
      fetch: logicalId(streambed.fetchFunction),
      groups: logicalId(streambed.groupsFunction),
    };
    const routes = template.findResources('AWS::ApiGatewayV2::Route');
    const integrations = template.findResources('AWS::ApiGatewayV2::Integration');
    const served: Record<string, string> = {};
    for (const route of Object.values(routes)) {
      const integrationId = route.Properties.Target['Fn::Join'][1][1].Ref as string;
      const integration = integrations[integrationId]?.Properties;
      assert.ok(integration, `route ${route.Properties.RouteKey} has no integration`);
      assert.equal(integration.IntegrationType, 'AWS_PROXY');
      assert.equal(integration.PayloadFormatVersion, '2.0');
      const functionId = integration.IntegrationUri['Fn::GetAtt'][0] as string;
      const group = Object.entries(functionIds).find(([, id]) => id === functionId)?.[0];
      served[route.Properties.RouteKey] = group ?? functionId;
    }
    assert.deepEqual(served, EXPECTED_ROUTES);
  });

  test('every route requires IAM authorization (SigV4)', () => {
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route'));
    assert.equal(routes.length, ROUTES.length);
    for (const route of routes) {
      assert.equal(route.Properties.AuthorizationType, 'AWS_IAM', route.Properties.RouteKey);
    }
    for (const route of ROUTES) {
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: routeKey(route),
        AuthorizationType: 'AWS_IAM',
      });
    }
    template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 0);
  });

  test('API Gateway may invoke each function only from this API, route by route', () => {
    const apiId = logicalId(synthesized.stack.streambed.api);
    const permissions = Object.values(
      template.findResources('AWS::Lambda::Permission', {
        Properties: { Principal: 'apigateway.amazonaws.com' },
      }),
    );
    assert.equal(permissions.length, ROUTES.length);
    for (const permission of permissions) {
      assert.deepEqual(permission.Properties.SourceArn['Fn::Join'][1][7], { Ref: apiId });
    }
  });

  test('one $default stage: auto-deployed, throttled, with JSON access logs kept one month', () => {
    const { streambed } = synthesized.stack;
    template.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      ApiId: { Ref: logicalId(streambed.api) },
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000 },
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [logicalId(streambed.accessLogGroup), 'Arn'] },
        Format: Match.anyValue(),
      },
    });
    const stage = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'))[0];
    const format = JSON.parse(stage?.Properties.AccessLogSettings.Format) as Record<string, string>;
    for (const field of ['requestId', 'routeKey', 'status', 'caller', 'userArn', 'sourceIp']) {
      assert.match(format[field] ?? '', /^\$context\./, field);
    }
    assert.equal(format.requestId, '$context.requestId');
    const logGroup = template.toJSON().Resources[logicalId(streambed.accessLogGroup)];
    assert.equal(logGroup.Properties.RetentionInDays, 30);
  });

  test('the URL is an output', () => {
    template.hasOutput('ApiUrl', {
      Value: {
        'Fn::Join': [
          '',
          [
            'https://',
            { Ref: logicalId(synthesized.stack.streambed.api) },
            '.execute-api.',
            { Ref: 'AWS::Region' },
            '.',
            { Ref: 'AWS::URLSuffix' },
            '/',
          ],
        ],
      },
    });
  });
});
