import { randomBytes } from 'node:crypto';
import type { BenchConfig } from '../config.ts';
import { type HeadFigures, watchHead } from '../support/head.ts';
import { count, errorsNamed, failedConditions, retriedByName } from '../support/instrument.ts';
import { ratio, round, runLoad, sum, type Throughput, throughput } from '../support/load.ts';
import { produceRecords } from '../support/records.ts';
import type { BenchStack } from '../support/stack.ts';
import { type ProtocolPoint, protocolCurve } from './protocols.ts';

export type { ProtocolPoint } from './protocols.ts';

/** N producers on one partition, full produce calls (S3 PUT + head update). */
export interface ContentionPoint {
  readonly writers: number;
  readonly recordsPerCommit: number;
  readonly throughput: Throughput;
  /** Commits/s ÷ commits/s with one writer. */
  readonly vsOneWriter: number;
  readonly ddbRequestsPerCommit: number;
  /** (DynamoDB requests − commits) / commits: paging, retries, topic reads. */
  readonly extraDdbRequestsPerCommit: number;
  /** Failed conditions per commit: ConditionalCheckFailed and TransactionCanceled answers. */
  readonly failedConditionsPerCommit: number;
  /** ConditionalCheckFailed answers per commit (full tail, or two flushers at one page). */
  readonly conditionalFailuresPerCommit: number;
  /** ...of which appends refused because the head's tail was full (retried after a sleep). */
  readonly appendFailuresPerCommit: number;
  /** ...of which page trims that lost to another flusher (their page PutItem was a duplicate). */
  readonly pageTrimFailuresPerCommit: number;
  /** ...of which page PutItems that found the page written (a second flusher at the same page). */
  readonly duplicatePagePutsPerCommit: number;
  /** Index page and time-index PutItems per commit (1/32 + 1/256 when each is written once). */
  readonly pagePutsPerCommit: number;
  /** Failed attempts the SDK retried on its own (throttling, 5xx such as a 503), per commit. */
  readonly sdkRetriesPerCommit: number;
  /** The partition head: at the end of the run, and the largest seen while it ran. */
  readonly head: HeadFigures;
  readonly requests: Record<string, number>;
  readonly errors: Record<string, number>;
  /** Failed attempts the SDK retried, by command and error name. */
  readonly retried: Record<string, number>;
  /** Offsets dense and complete: the high watermark equals records acknowledged. */
  readonly dense: boolean;
}

export interface ContentionResults {
  readonly streambed: ContentionPoint[];
  readonly protocols: ProtocolPoint[];
}

/**
 * Contention on one partition. First through Streambed's full produce path (S3 PUT + head update,
 * 10 × 1 KiB records per call) at 1/4/16/32 writers, with the partition head sampled while it runs;
 * then the commit step alone beside the reference protocols (bench/suites/protocols.ts).
 */
export async function contentionSuite(
  config: BenchConfig,
  stack: BenchStack,
  log: (line: string) => void,
): Promise<ContentionResults> {
  const run = randomBytes(2).toString('hex');
  const streambed: ContentionPoint[] = [];
  const { recordsPerCommit, recordBytes } = config.contention;
  const records = produceRecords({ id: 'c', records: recordsPerCommit, valueBytes: recordBytes }, 1, 0);
  for (const writers of config.contention.writers) {
    const engine = stack.engine();
    const topic = `contention-n${writers}-${run}`;
    const created = await engine.createTopic({ name: topic, partitions: 1 });
    const call = async () => {
      await engine.produce({ topic, records });
      return { bytes: recordsPerCommit * recordBytes, records: recordsPerCommit };
    };
    await runLoad({ concurrency: writers, budgetMs: 0, maxCalls: writers }, call);
    stack.instruments.reset();
    const [load, head] = await watchHead(stack, created.id, 0, () =>
      runLoad({ concurrency: writers, budgetMs: config.contention.budgetMs, maxCalls: 1_000_000 }, call),
    );
    const snapshot = stack.instruments.snapshot();
    const { requests, errors } = snapshot;
    const retried = retriedByName(snapshot);
    const commits = load.calls - load.errors;
    const perCommit = (n: number) => round(n / commits, 3);
    const ddb = count(requests, 'ddb:');
    const hw = await engine.listOffsets(topic, 0, 'latest');
    const t = throughput(load);
    const base = streambed[0]?.throughput.callsPerSec ?? t.callsPerSec;
    const point: ContentionPoint = {
      writers,
      recordsPerCommit,
      throughput: t,
      vsOneWriter: ratio(t.callsPerSec, base),
      ddbRequestsPerCommit: perCommit(ddb),
      extraDdbRequestsPerCommit: perCommit(ddb - commits),
      failedConditionsPerCommit: perCommit(failedConditions(errors)),
      conditionalFailuresPerCommit: perCommit(errorsNamed(errors, 'ConditionalCheckFailedException')),
      appendFailuresPerCommit: perCommit(
        errors['ddb:UpdateItem[append]:ConditionalCheckFailedException'] ?? 0,
      ),
      pageTrimFailuresPerCommit: perCommit(
        errors['ddb:UpdateItem[page-trim]:ConditionalCheckFailedException'] ?? 0,
      ),
      duplicatePagePutsPerCommit: perCommit(errors['ddb:PutItem:ConditionalCheckFailedException'] ?? 0),
      pagePutsPerCommit: perCommit(count(requests, 'ddb:', ['PutItem'])),
      sdkRetriesPerCommit: perCommit(sum(Object.values(retried))),
      head,
      requests,
      errors,
      retried,
      dense: hw === (commits + writers) * recordsPerCommit,
    };
    streambed.push(point);
    log(
      `contention n=${writers}: ${t.callsPerSec} commits/s, p99 ${t.p99Ms} ms, ${point.ddbRequestsPerCommit} DynamoDB requests/commit, ` +
        `${point.failedConditionsPerCommit} failed conditions/commit, head ${head.endBytes} B (max ${head.maxBytes} B, ` +
        `tail ≤ ${head.maxTail}), dense=${point.dense}`,
    );
  }
  const protocols = await protocolCurve(config, stack, run, log);
  return { streambed, protocols };
}
