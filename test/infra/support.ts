/**
 * Shared set-up of the infrastructure tests: synthesizes the app as `cdk synth` does (cdk.json's context,
 * cdk-nag wired by infra/app.ts), into a temporary directory, and reads the template back.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { createApp } from '../../infra/app.ts';
import { StreambedStack, type StreambedStackProps } from '../../infra/stack.ts';

const CDK_JSON = new URL('../../cdk.json', import.meta.url);

/** The context of cdk.json (feature flags), so that tests synthesize what `cdk synth` does. */
export function cdkJsonContext(): Record<string, unknown> {
  const parsed = JSON.parse(readFileSync(CDK_JSON, 'utf8')) as { context?: Record<string, unknown> };
  return parsed.context ?? {};
}

/** Context that skips asset bundling, for tests that only look at the template. */
export const SKIP_BUNDLING = { 'aws:cdk:bundling-stacks': [] } as const;

const outdirs: string[] = [];
process.once('exit', () => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

/** A temporary cloud assembly directory, removed when the test process exits. */
export function tempOutdir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'streambed-infra-'));
  outdirs.push(dir);
  return dir;
}

export interface Synthesized {
  readonly app: App;
  readonly stack: StreambedStack;
  readonly template: Template;
  /** The cloud assembly directory (templates, assets, validation-report.json), removed at exit. */
  readonly assemblyDir: string;
}

/** Synthesizes infra/app.ts's app, as `cdk synth` would, with extra context on top of cdk.json's. */
export function synthesizeApp(extraContext: Record<string, unknown> = {}): Synthesized {
  const { app, stack } = createApp({
    outdir: tempOutdir(),
    context: { ...cdkJsonContext(), ...extraContext },
  });
  const assembly = app.synth();
  return {
    app,
    stack,
    template: Template.fromStack(stack),
    assemblyDir: assembly.directory,
  };
}

/**
 * A bare app with cdk.json's context (no bundling, no cdk-nag plugin) and one StreambedStack, for
 * property variants. Call `app.synth()` or `Template.fromStack(stack)` yourself.
 */
export function streambedStack(props: StreambedStackProps = {}): { app: App; stack: StreambedStack } {
  const app = new App({
    outdir: tempOutdir(),
    context: { ...cdkJsonContext(), ...SKIP_BUNDLING },
  });
  return { app, stack: new StreambedStack(app, 'Streambed', props) };
}

/** The logical id of a construct's CloudFormation resource (its default child, or itself). */
export function logicalId(construct: IConstruct): string {
  const element = (construct.node.defaultChild ?? construct) as CfnElement;
  return Stack.of(construct).getLogicalId(element);
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * Renders an IAM resource as a readable string: `{"Fn::GetAtt": [<bucket id>, "Arn"]}` becomes
 * `bucket.Arn`, a `Fn::Join` is joined, `{"Ref": "AWS::Partition"}` becomes `${AWS::Partition}`.
 */
export function renderResource(value: Json, names: ReadonlyMap<string, string>): string {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const getAtt = value['Fn::GetAtt'];
    if (Array.isArray(getAtt)) {
      const [id, attribute] = getAtt as [string, string];
      return `${names.get(id) ?? id}.${attribute}`;
    }
    const ref = value.Ref;
    if (typeof ref === 'string') return names.get(ref) ?? `\${${ref}}`;
    const join = value['Fn::Join'];
    if (Array.isArray(join)) {
      const [separator, parts] = join as [string, Json[]];
      return parts.map((part) => renderResource(part, names)).join(separator);
    }
  }
  return JSON.stringify(value);
}

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: Json;
  Condition?: Json;
  NotAction?: Json;
  NotResource?: Json;
  Principal?: Json;
}

/**
 * Every permission a role holds, one `Effect action on resource [if condition]` string each, sorted:
 * its inline policies plus every AWS::IAM::Policy attached to it. Fails on NotAction/NotResource, which
 * the comparison could not see through.
 */
export function permissionsOfRole(
  template: Template,
  roleLogicalId: string,
  names: ReadonlyMap<string, string>,
): string[] {
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties?: Json }>;
  const documents: Json[] = [];
  const role = resources[roleLogicalId];
  if (role?.Type !== 'AWS::IAM::Role') throw new Error(`${roleLogicalId} is not a role`);
  const roleProperties = role.Properties as { Policies?: { PolicyDocument: Json }[] };
  for (const policy of roleProperties.Policies ?? []) documents.push(policy.PolicyDocument);
  for (const resource of Object.values(resources)) {
    if (resource.Type !== 'AWS::IAM::Policy') continue;
    const properties = resource.Properties as { Roles?: Json[]; PolicyDocument: Json };
    if ((properties.Roles ?? []).some((r) => JSON.stringify(r) === JSON.stringify({ Ref: roleLogicalId }))) {
      documents.push(properties.PolicyDocument);
    }
  }
  const permissions: string[] = [];
  for (const document of documents) {
    for (const statement of (document as unknown as { Statement: Statement[] }).Statement) {
      if (statement.NotAction !== undefined || statement.NotResource !== undefined) {
        throw new Error(`unexpected NotAction/NotResource in ${JSON.stringify(statement)}`);
      }
      const actions = Array.isArray(statement.Action) ? statement.Action : [statement.Action];
      const resourceList = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
      const condition = statement.Condition === undefined ? '' : ` if ${JSON.stringify(statement.Condition)}`;
      for (const action of actions) {
        for (const resource of resourceList) {
          permissions.push(`${statement.Effect} ${action} on ${renderResource(resource, names)}${condition}`);
        }
      }
    }
  }
  return permissions.sort();
}

/** Every acknowledgment (cdk-nag via Validations) under `root`: construct path → rule id → reason. */
export function acknowledgments(root: IConstruct): Map<string, Record<string, string>> {
  const found = new Map<string, Record<string, string>>();
  for (const construct of root.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      found.set(construct.node.path, { ...found.get(construct.node.path), ...(entry.data as object) });
    }
  }
  return found;
}
