import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { SweepReport } from '../lib/engine/sweep.ts';
import { logger, MetricUnit, metrics } from './api/handler.ts';
import { engineFromEnv } from './api/runtime.ts';

/** `STREAMBED_GC_GRACE_MS`, when set: how long unreferenced objects are kept (docs/design.md §9). */
function graceMs(): number | undefined {
  const value = process.env.STREAMBED_GC_GRACE_MS;
  if (value === undefined || value === '') return undefined;
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 0)
    throw new Error(`STREAMBED_GC_GRACE_MS is not a duration: ${value}`);
  return parsed;
}

/**
 * The scheduled lifecycle sweep (an EventBridge rule every few minutes): retention, index pages
 * below the log start, unreferenced segment objects. A topic that fails is logged and tried again
 * on the next run; the others are not held up.
 */
export const handler = middy(async (_event: unknown, context: Context): Promise<SweepReport> => {
  const grace = graceMs();
  // Leave a minute for the work in hand when the deadline passes.
  const deadline = Date.now() + Math.max(10_000, context.getRemainingTimeInMillis() - 60_000);
  const report = await engineFromEnv().sweep({
    deadline,
    ...(grace === undefined ? {} : { graceMs: grace }),
  });
  let retired = 0;
  let objects = 0;
  for (const topic of report.topics) {
    retired += topic.recordsRetired;
    objects += topic.objectsDeleted;
  }
  metrics.addMetric('RecordsRetired', MetricUnit.Count, retired);
  metrics.addMetric('ObjectsDeleted', MetricUnit.Count, objects);
  metrics.addMetric('SweepFailures', MetricUnit.Count, report.failed.length);
  for (const failure of report.failed) logger.error('sweep of a topic failed', failure);
  logger.info('sweep done', {
    topics: report.topics.length,
    retired,
    objects,
    deletionsFinished: report.deletionsFinished.length,
    failed: report.failed.length,
  });
  return report;
})
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
