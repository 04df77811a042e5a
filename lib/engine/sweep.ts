import type { EngineContext } from './context.ts';
import { type SweepTopicOptions, sweepTopic, type TopicSweep } from './retention.ts';
import { finishDeletions } from './topic-deletion.ts';

export interface SweepOptions extends SweepTopicOptions {
  /** Stop starting new work after this time (ms since the epoch). @default 4 minutes from now */
  readonly deadline?: number;
}

export interface SweepReport {
  readonly topics: readonly TopicSweep[];
  /** Topic incarnations (ids) whose deletion this pass finished. */
  readonly deletionsFinished: readonly string[];
  /** Topics the pass could not finish, with why (the next pass tries again). */
  readonly failed: readonly { readonly topic: string; readonly error: string }[];
}

/**
 * One pass of the scheduled sweep: finishes topic deletions, then retention, index pages below the
 * log start and unreferenced segment objects of every topic. One topic failing does not stop the
 * others; what the deadline cuts short is done by the next pass.
 *
 * @example
 * const report = await sweep(ctx, { graceMs: 3_600_000, deadline: Date.now() + 240_000 });
 */
export async function sweep(ctx: EngineContext, options: SweepOptions = {}): Promise<SweepReport> {
  const deadline = options.deadline ?? ctx.now() + 240_000;
  const failed: { topic: string; error: string }[] = [];
  const message = (error: unknown) => (error instanceof Error ? error.message : String(error));
  const deletionsFinished = await finishDeletions(ctx, deadline).catch((error: unknown) => {
    failed.push({ topic: '(deletions)', error: message(error) });
    return [];
  });
  const topics: TopicSweep[] = [];
  for (const topic of await ctx.topics.list()) {
    if (ctx.now() > deadline) break;
    try {
      topics.push(await sweepTopic(ctx, topic, options));
    } catch (error) {
      failed.push({ topic: topic.name, error: message(error) });
    }
  }
  return { topics, deletionsFinished, failed };
}
