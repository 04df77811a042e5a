import { Duration } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { Construct } from 'constructs';
import { allow, type FunctionDefaults, streambedFunction } from './function.ts';
import { OBJECT_PREFIX, segmentObjectsArn } from './storage.ts';

/** How often the lifecycle sweep runs; its cost at idle is in docs/bench.md. */
export const LIFECYCLE_INTERVAL = Duration.minutes(5);

/**
 * Creates the lifecycle sweep's function (`Sweeper`) directly in `scope`, with the actions the sweep
 * needs. Its schedule is {@link scheduleLifecycle}'s to add.
 */
export function createSweeperFunction(scope: Construct, defaults: FunctionDefaults): NodejsFunction {
  const { bucket, logTable, metaTable } = defaults.storage;
  const sweeper = streambedFunction(scope, defaults, {
    id: 'Sweeper',
    entry: 'sweeper.ts',
    description: 'Streambed: retention, index pages below the log start, unreferenced objects',
    memorySize: 512,
    timeout: Duration.minutes(5),
  });

  // Sweeper (lib/engine/retention.ts, sweep.ts, topic-deletion.ts, compaction.ts, key-compaction.ts,
  // collect.ts, retired.ts; adapters log-start.ts, partition-lifecycle.ts, page-swap.ts, idle-tail.ts,
  // retired.ts, gc-state.ts): lists a topic's objects in time order and deletes the ones below the
  // collection bound, unreferenced ones and every object of a deleted topic (ListBucket, DeleteObject);
  // compaction reads batches and writes their compacted objects (GetObject, PutObject).
  // log: heads and pages (GetItem, Query), the log start move, deletion fences and pending records
  //   (UpdateItem), page swaps and idle tails (transactions of PutItem, DeleteItem, UpdateItem), the gc
  //   state and retired/pending records (PutItem, DeleteItem), pages and time-index items below the log
  //   start and a deleted topic's items (BatchWriteItem of deletes). test/integration/iam-coverage.test.ts
  //   checks every call the sweep makes against this role.
  sweeper.addToRolePolicy(
    new PolicyStatement({
      actions: ['s3:ListBucket'],
      resources: [bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [`${OBJECT_PREFIX}*`] } },
    }),
  );
  allow(sweeper, ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], [segmentObjectsArn(bucket)]);
  allow(
    sweeper,
    [
      'dynamodb:GetItem',
      'dynamodb:Query',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:BatchWriteItem',
    ],
    [logTable.tableArn],
  );
  // meta: topics and deletion tombstones (Query, GetItem); finishing a deletion removes the topic record
  // and then the tombstone (DeleteItem).
  allow(sweeper, ['dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:DeleteItem'], [metaTable.tableArn]);
  return sweeper;
}

/**
 * Runs `sweeper` every {@link LIFECYCLE_INTERVAL} (the `LifecycleSchedule` rule, directly in `scope`). A
 * failed or late sweep is not retried: the next one is an interval away.
 */
export function scheduleLifecycle(scope: Construct, sweeper: NodejsFunction): void {
  sweeper.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: LIFECYCLE_INTERVAL });
  new Rule(scope, 'LifecycleSchedule', {
    description: 'Streambed: retention and garbage collection',
    schedule: Schedule.rate(LIFECYCLE_INTERVAL),
    targets: [new LambdaFunction(sweeper, { retryAttempts: 0, maxEventAge: LIFECYCLE_INTERVAL })],
  });
}
