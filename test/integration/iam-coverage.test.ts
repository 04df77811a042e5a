import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Template } from 'aws-cdk-lib/assertions';
import { Template as Templates } from 'aws-cdk-lib/assertions';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { StreambedStack } from '../../infra/stack.ts';
import { awsPorts } from '../../lib/adapters/aws.ts';
import { localClients } from '../../lib/adapters/clients.ts';
import { DynamoSubscriptionStore } from '../../lib/adapters/dynamodb/subscription-store.ts';
import { Dispatcher } from '../../lib/engine/dispatcher.ts';
import { InProcessInvoker } from '../../lib/engine/in-process-invoker.ts';
import { Streambed } from '../../lib/engine/streambed.ts';
import { endpointsFromEnv } from '../../lib/harness/services.ts';
import { logicalId, permissionsOfRole, streambedStack } from '../infra/support.ts';
import { bytes, type TestStack, testStack } from '../support/stack.ts';

const MIN = 60_000;

/**
 * Records the IAM action and resource of every request a client sends: `s3:GetObject on objects`,
 * `dynamodb:PutItem on log`. A transaction needs the action of each of its items (AWS authorizes
 * TransactWriteItems by PutItem, UpdateItem, DeleteItem and ConditionCheckItem).
 */
class ActionRecorder {
  readonly seen = new Set<string>();

  private readonly tables: { log: string; meta: string };

  constructor(tables: { log: string; meta: string }) {
    this.tables = tables;
  }

  private table(name: string | undefined): string {
    return name === this.tables.log ? 'log' : name === this.tables.meta ? 'meta' : `unknown table ${name}`;
  }

  attach(client: S3Client | DynamoDBClient, service: 's3' | 'dynamodb'): this {
    const stack = client.middlewareStack as S3Client['middlewareStack'];
    stack.add(
      (next, context) => async (args) => {
        this.note(service, (context.commandName ?? '').replace(/Command$/, ''), args.input as Input);
        return await next(args);
      },
      { step: 'initialize', name: `actionRecorder${Math.random()}` },
    );
    return this;
  }

  private note(service: 's3' | 'dynamodb', command: string, input: Input): void {
    if (service === 's3') {
      const action = S3_ACTIONS[command] ?? command;
      this.seen.add(`s3:${action} on ${action === 'ListBucket' ? 'bucket' : 'objects'}`);
      return;
    }
    if (command === 'TransactWriteItems') {
      for (const item of input.TransactItems ?? []) {
        for (const [kind, body] of Object.entries(item)) {
          const action = {
            Put: 'PutItem',
            Update: 'UpdateItem',
            Delete: 'DeleteItem',
            ConditionCheck: 'ConditionCheckItem',
          }[kind];
          this.seen.add(`dynamodb:${action} on ${this.table((body as Input).TableName)}`);
        }
      }
      return;
    }
    const tables = input.RequestItems === undefined ? [input.TableName] : Object.keys(input.RequestItems);
    for (const table of tables) this.seen.add(`dynamodb:${command} on ${this.table(table)}`);
  }
}

interface Input {
  readonly TableName?: string;
  readonly RequestItems?: Record<string, unknown>;
  readonly TransactItems?: Record<string, unknown>[];
}

const S3_ACTIONS: Record<string, string> = {
  ListObjectsV2: 'ListBucket',
  DeleteObjects: 'DeleteObject',
  HeadObject: 'GetObject',
};

/** What a function's role allows, in the recorder's terms. */
function granted(template: Template, stack: StreambedStack, fn: NodejsFunction): Set<string> {
  const { streambed } = stack;
  const resources = template.toJSON().Resources;
  const roleId = resources[logicalId(fn)].Properties.Role['Fn::GetAtt'][0] as string;
  const names = new Map([
    [logicalId(streambed.bucket), 'bucket'],
    [logicalId(streambed.logTable), 'logTable'],
    [logicalId(streambed.metaTable), 'metaTable'],
  ]);
  const out = new Set<string>();
  for (const permission of permissionsOfRole(template, roleId, names)) {
    const match = /^Allow (s3|dynamodb):(\w+) on (\S+)/.exec(permission);
    if (match === null) continue;
    const [, service, action, resource] = match;
    const on =
      resource === 'bucket.Arn/topics/*'
        ? 'objects'
        : resource === 'bucket.Arn'
          ? 'bucket'
          : resource === 'logTable.Arn'
            ? 'log'
            : resource === 'metaTable.Arn'
              ? 'meta'
              : resource;
    out.add(`${service}:${action} on ${on}`);
  }
  return out;
}

describe('IAM: every call a function makes is allowed by its role', () => {
  let stack: TestStack;
  let template: Template;
  let infra: StreambedStack;
  before(async () => {
    stack = await testStack();
    const synthesized = streambedStack();
    infra = synthesized.stack;
    template = Templates.fromStack(infra);
  });
  after(() => stack.close());

  /** An engine whose calls are recorded, on its own clients, with a clock `offset` ahead. */
  function recorded(clock: { offset: number }) {
    const endpoints = endpointsFromEnv();
    assert.ok(endpoints);
    const { s3, dynamodb } = localClients(endpoints);
    const recorder = new ActionRecorder(stack.tables).attach(s3, 's3').attach(dynamodb, 'dynamodb');
    const log = new Streambed(
      awsPorts({ ...stack.config, s3, dynamodb, engine: { now: () => Date.now() + clock.offset } }),
    );
    return { log, recorder };
  }

  function assertCovered(recorder: ActionRecorder, fn: NodejsFunction, name: string) {
    const allowed = granted(template, infra, fn);
    const missing = [...recorder.seen].filter((call) => !allowed.has(call)).sort();
    assert.deepEqual(missing, [], `${name} calls what its role does not allow`);
    assert.ok(recorder.seen.size >= 3, [...recorder.seen].join(', '));
  }

  test('the sweeper: retention, DeleteRecords leftovers, both compactions, retired and pending objects, collection, topic deletion', async () => {
    const clock = { offset: 0 };
    const writer = new Streambed(
      awsPorts({ ...stack.config, engine: { now: () => Date.now() + clock.offset } }),
    );
    await writer.createTopic({
      name: 'iam-kept',
      partitions: 2,
      config: { retentionMs: 10 * MIN, targetObjectBytes: 64 * 1024 },
    });
    await writer.createTopic({
      name: 'iam-keyed',
      partitions: 1,
      config: { cleanupPolicy: 'compact', deleteRetentionMs: 0 },
    });
    await writer.createTopic({ name: 'iam-gone', partitions: 1 });
    const round = async (tag: string) => {
      for (let i = 0; i < 6; i++) {
        await writer.produce({
          topic: 'iam-kept',
          records: [
            { value: bytes(`${tag}${i}`), partition: 0 },
            { value: bytes(`${tag}${i}`), partition: 1 },
          ],
        });
        await writer.produce({
          topic: 'iam-keyed',
          records: [{ key: bytes(`k${i % 3}`), value: i === 5 ? null : bytes(tag) }],
        });
      }
      await writer.produce({ topic: 'iam-gone', records: [{ value: bytes(tag) }] });
    };
    await round('a');
    const { log, recorder } = recorded(clock);
    for (let pass = 0; pass < 6; pass++) {
      clock.offset += 10 * MIN;
      if (pass === 1) await round('b');
      if (pass === 2) await writer.deleteTopic('iam-gone');
      const report = await log.sweep({ graceMs: 2 * MIN });
      assert.deepEqual(report.failed, []);
    }
    for (const call of [
      's3:GetObject on objects',
      's3:PutObject on objects',
      'dynamodb:PutItem on log',
      'dynamodb:DeleteItem on log',
    ]) {
      assert.ok(recorder.seen.has(call), `the scenario made ${call}`);
    }
    assertCovered(recorder, infra.streambed.sweeperFunction, 'the sweeper');
  });

  test('the topics, produce and fetch functions', async () => {
    const topics = recorded({ offset: 0 });
    await topics.log.createTopic({ name: 'iam-api', partitions: 2 });
    await topics.log.describeTopic('iam-api');
    await topics.log.listTopics();
    const produce = recorded({ offset: 0 });
    await produce.log.produce({ topic: 'iam-api', records: [{ value: bytes('x'), partition: 0 }] });
    const producer = await produce.log.initProducer({ transactionalId: 'iam-txn' });
    await produce.log.produce({
      topic: 'iam-api',
      records: [{ value: bytes('y'), partition: 1 }],
      producer: { producerId: producer.producerId, epoch: producer.epoch, sequences: 0 },
    });
    const fetch = recorded({ offset: 0 });
    await fetch.log.fetch({ topic: 'iam-api', partition: 0, offset: 0 });
    await fetch.log.listOffsets('iam-api', 0, { timestamp: 0 });
    await topics.log.deleteRecords('iam-api', 0, 1);
    await topics.log.deleteTopic('iam-api');
    assertCovered(topics.recorder, infra.streambed.topicsFunction, 'the topics function');
    assertCovered(produce.recorder, infra.streambed.produceFunction, 'the produce function');
    assertCovered(fetch.recorder, infra.streambed.fetchFunction, 'the fetch function');
  });
  test('the groups function: commits, lag, resets (to a timestamp too), members', async () => {
    const setup = recorded({ offset: 0 });
    await setup.log.createTopic({ name: 'iam-groups', partitions: 2 });
    await setup.log.produce({
      topic: 'iam-groups',
      records: [0, 1, 2].map((i) => ({ value: bytes(`g${i}`), partition: 0 })),
    });
    const groups = recorded({ offset: 0 });
    await groups.log.commitOffsets({
      group: 'iam-g',
      topic: 'iam-groups',
      offsets: [{ partition: 0, offset: 1 }],
    });
    await groups.log.fetchOffsets('iam-g', 'iam-groups');
    await groups.log.describeGroupOffsets('iam-g', 'iam-groups');
    await groups.log.listGroups();
    for (const to of ['earliest', 'latest', { timestamp: Date.now() - 60_000 }, { offset: 2 }] as const) {
      await groups.log.resetOffsets({ group: 'iam-g', topic: 'iam-groups', to });
    }
    const member = await groups.log.joinGroup('iam-m', 'iam-groups', { memberId: 'm-1' });
    await groups.log.heartbeat('iam-m', 'iam-groups', 'm-1');
    await groups.log.commitAsMember(
      'iam-m',
      'iam-groups',
      'm-1',
      member.assignments.map((a) => ({ partition: a.partition, offset: 1, leaseCounter: a.leaseCounter })),
    );
    await groups.log.resetOffsets({ group: 'iam-m', topic: 'iam-groups', to: 'earliest', force: true });
    await groups.log.leaveGroup('iam-m', 'iam-groups', 'm-1');
    assertCovered(groups.recorder, infra.streambed.groupsFunction, 'the groups function');
  });

  test('the dispatcher: subscribing, delivering with outputs and an on-failure topic, the sweep', async () => {
    const setup = recorded({ offset: 0 });
    for (const name of ['iam-in', 'iam-out', 'iam-dlq']) await setup.log.createTopic({ name, partitions: 1 });
    const endpoints = endpointsFromEnv();
    assert.ok(endpoints);
    const { s3, dynamodb } = localClients(endpoints);
    const recorder = new ActionRecorder(stack.tables).attach(s3, 's3').attach(dynamodb, 'dynamodb');
    const invoker = new InProcessInvoker();
    invoker.register('iam-fn', async (event) => {
      if (event.Records.some((r) => r.offset === 1)) throw new Error('poison');
      return { produce: event.Records.map(() => ({ topic: 'iam-out', value: 'out' })) };
    });
    const dispatcher = new Dispatcher({
      deps: awsPorts({ ...stack.config, s3, dynamodb }),
      subscriptions: new DynamoSubscriptionStore({ client: dynamodb, table: stack.tables.meta }),
      invoker,
      retryBaseMs: 1,
      retryMaxMs: 2,
    });
    await dispatcher.subscribe({
      group: 'iam-d',
      topic: 'iam-in',
      target: 'iam-fn',
      startingPosition: 'earliest',
      maxRetryAttempts: 0,
      onFailure: { topic: 'iam-dlq' },
    });
    await setup.log.produce({ topic: 'iam-in', records: [0, 1, 2].map((i) => ({ value: bytes(`d${i}`) })) });
    await dispatcher.sweep(Date.now() + 20_000);
    assert.equal((await setup.log.fetchOffsets('iam-d', 'iam-in'))[0]?.offset, 3);
    await dispatcher.unsubscribe('iam-d');
    assertCovered(recorder, infra.streambed.dispatcherFunction, 'the dispatcher');
  });
});
