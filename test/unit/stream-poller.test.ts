import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DynamoDBClient,
  GetItemCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient, _Record as StreamRecord } from '@aws-sdk/client-dynamodb-streams';
import type { S3Client } from '@aws-sdk/client-s3';
import { watchCommits, writesTo } from '../../functions/local/commit-watch.ts';
import { DEFAULT_POLL_SCHEDULE, discoveryDue, pollDelay } from '../../lib/adapters/dynamodb/poll-schedule.ts';
import { StreamPoller } from '../../lib/adapters/dynamodb/stream-poller.ts';

test('after activity the pause doubles from activeMs up to idleMs, and stays there', () => {
  const schedule = { activeMs: 10, idleMs: 200 };
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 7, 50, Number.POSITIVE_INFINITY].map((n) => pollDelay(n, schedule)),
    [0, 10, 20, 40, 80, 160, 200, 200, 200, 200],
  );
  assert.deepEqual(DEFAULT_POLL_SCHEDULE, schedule);
});

test('an idle poller pauses idleMs after every round: the read rate of a fixed 200 ms pause', () => {
  // A poller starts idle (infinitely many empty rounds) and stays idle until records or a wake.
  for (const n of [Number.POSITIVE_INFINITY, 6, 100, 10_000])
    assert.equal(pollDelay(n, DEFAULT_POLL_SCHEDULE), 200);
  // activePollMs = pollMs is the old fixed pause; a zero idle pause reads back to back.
  for (const n of [1, 2, 9]) assert.equal(pollDelay(n, { activeMs: 200, idleMs: 200 }), 200);
  for (const n of [0, 1, 9]) assert.equal(pollDelay(n, { activeMs: 0, idleMs: 0 }), 0);
  // A zero start still grows into a pause instead of reading back to back forever.
  assert.equal(pollDelay(9, { activeMs: 0, idleMs: 200 }), 200);
});

test('the fast reads after one burst of activity are few: five pauses before the idle one', () => {
  const pauses: number[] = [];
  for (let n = 1; pollDelay(n, DEFAULT_POLL_SCHEDULE) < DEFAULT_POLL_SCHEDULE.idleMs; n++)
    pauses.push(pollDelay(n, DEFAULT_POLL_SCHEDULE));
  assert.deepEqual(pauses, [10, 20, 40, 80, 160]);
});

test('shard discovery needs both the rounds and the time, so fast reads never make it more frequent', () => {
  const every = { everyRounds: 10, everyMs: 2_000 };
  assert.equal(discoveryDue({ rounds: 10, sinceMs: 2_000 }, every), true);
  assert.equal(discoveryDue({ rounds: 9, sinceMs: 5_000 }, every), false);
  assert.equal(discoveryDue({ rounds: 40, sinceMs: 400 }, every), false);
});

test('writes to the log table count as commits; reads and other tables do not', () => {
  const log = 'streambed-log';
  assert.equal(writesTo('UpdateItemCommand', { TableName: log }, log), true);
  assert.equal(writesTo('PutItemCommand', { TableName: log }, log), true);
  assert.equal(writesTo('DeleteItemCommand', { TableName: log }, log), true);
  assert.equal(writesTo('UpdateItemCommand', { TableName: 'streambed-meta' }, log), false);
  assert.equal(writesTo('GetItemCommand', { TableName: log }, log), false);
  assert.equal(writesTo('QueryCommand', { TableName: log }, log), false);
  const transaction = (table: string) => ({
    TransactItems: [{ ConditionCheck: { TableName: log } }, { Update: { TableName: table } }],
  });
  assert.equal(writesTo('TransactWriteItemsCommand', transaction(log), log), true);
  // A transaction that only checks the log table writes elsewhere.
  assert.equal(writesTo('TransactWriteItemsCommand', transaction('streambed-meta'), log), false);
  assert.equal(writesTo('BatchWriteItemCommand', { RequestItems: { [log]: [] } }, log), true);
  assert.equal(writesTo('BatchWriteItemCommand', { RequestItems: { other: [] } }, log), false);
  assert.equal(writesTo('UpdateItemCommand', undefined, log), false);
});

/** A DynamoDB client answering every request in memory (`fail`: with an error), sending nothing. */
function offlineClient(fail: (input: unknown) => boolean): DynamoDBClient {
  const client = new DynamoDBClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
  (client.middlewareStack as unknown as S3Client['middlewareStack']).add(
    (_next, context) => async (args) => {
      if (fail(args.input)) throw new Error(`${context.commandName} refused`);
      return { output: { $metadata: {} } as never, response: {} };
    },
    { step: 'initialize', name: 'offline', priority: 'low' },
  );
  return client;
}

test('watchCommits calls back after each successful write to the table, never for a failed one, until detached', async () => {
  const log = 'streambed-log';
  const client = offlineClient((input) => (input as { Key?: unknown }).Key === 'refuse');
  let commits = 0;
  const unwatch = watchCommits(client, log, () => commits++);
  await client.send(new UpdateItemCommand({ TableName: log, Key: {} }));
  await client.send(
    new TransactWriteItemsCommand({
      TransactItems: [{ Update: { TableName: log, Key: {}, UpdateExpression: '' } }],
    }),
  );
  await client.send(new GetItemCommand({ TableName: log, Key: {} }));
  await client.send(new UpdateItemCommand({ TableName: 'streambed-meta', Key: {} }));
  await assert.rejects(client.send(new UpdateItemCommand({ TableName: log, Key: 'refuse' as never })));
  assert.equal(commits, 2);
  unwatch();
  await client.send(new UpdateItemCommand({ TableName: log, Key: {} }));
  assert.equal(commits, 2);
});

test('a listener that throws never makes a committed write look failed', async () => {
  const client = offlineClient(() => false);
  watchCommits(client, 'streambed-log', () => {
    throw new Error('listener bug');
  });
  await client.send(new UpdateItemCommand({ TableName: 'streambed-log', Key: {} }));
});

/** Streams and table clients in memory: one shard; `records` is what the next GetRecords returns. */
function fakeStream() {
  const state = {
    getRecords: 0,
    records: [] as StreamRecord[],
    /** Holds GetRecords until released, when set. */
    gate: undefined as Promise<void> | undefined,
  };
  const streams = {
    send: async (command: { constructor: { name: string } }) => {
      switch (command.constructor.name) {
        case 'DescribeStreamCommand':
          return { StreamDescription: { Shards: [{ ShardId: 'shard-1' }] } };
        case 'GetShardIteratorCommand':
          return { ShardIterator: 'iterator' };
        case 'GetRecordsCommand': {
          state.getRecords++;
          await state.gate;
          const records = state.records;
          state.records = [];
          return { Records: records, NextShardIterator: 'iterator' };
        }
        default:
          throw new Error(`unexpected ${command.constructor.name}`);
      }
    },
  } as unknown as DynamoDBStreamsClient;
  const dynamodb = {
    send: async () => ({ Table: { LatestStreamArn: 'arn:stream' } }),
  } as unknown as DynamoDBClient;
  return { state, streams, dynamodb };
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 1));
}

test('a wake ends an idle pause: the record is read now, not after pollMs', { timeout: 20_000 }, async () => {
  const { state, streams, dynamodb } = fakeStream();
  const delivered: StreamRecord[][] = [];
  // A pause of ten minutes: only the wake can lead to a second read within the test's timeout.
  const poller = new StreamPoller({
    dynamodb,
    streams,
    table: 'log',
    pollMs: 600_000,
    activePollMs: 600_000,
    onRecords: async (records) => {
      delivered.push(records);
    },
  });
  await poller.start();
  await until(() => state.getRecords === 1);
  state.records = [{ eventID: 'a' }];
  poller.wake();
  await until(() => delivered.length === 1);
  assert.deepEqual(delivered, [[{ eventID: 'a' }]]);
  await poller.stop(); // also ends the pause at once
});

test('wakes during a read lead to one more read, not one each', { timeout: 20_000 }, async () => {
  const { state, streams, dynamodb } = fakeStream();
  const poller = new StreamPoller({
    dynamodb,
    streams,
    table: 'log',
    pollMs: 600_000,
    activePollMs: 600_000,
    onRecords: async () => {},
  });
  let release = () => {};
  state.gate = new Promise((resolve) => {
    release = resolve;
  });
  await poller.start();
  await until(() => state.getRecords === 1);
  for (let i = 0; i < 5; i++) poller.wake();
  state.gate = undefined;
  release();
  await until(() => state.getRecords === 2);
  // The read after the wakes was empty: the poller is in its (long) pause now.
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(state.getRecords, 2);
  await poller.stop();
});
