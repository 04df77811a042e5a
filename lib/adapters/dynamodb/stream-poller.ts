import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import { DEFAULT_POLL_SCHEDULE, discoveryDue, type PollSchedule, pollDelay } from './poll-schedule.ts';

export interface StreamPollerOptions {
  readonly dynamodb: DynamoDBClient;
  readonly streams: DynamoDBStreamsClient;
  readonly table: string;
  /** Called with each non-empty batch of records, in shard order; errors are reported and retried. */
  readonly onRecords: (records: StreamRecord[]) => Promise<void>;
  readonly onError?: (error: unknown) => void;
  /** The pause after an empty round once idle: the poller's idle read rate. @default 200 */
  readonly pollMs?: number;
  /**
   * The pause after the first empty round that follows records or a {@link StreamPoller.wake}; each
   * further empty round doubles it, up to `pollMs`. Equal to `pollMs`: a fixed pause. @default 10
   */
  readonly activePollMs?: number;
}

/** Shards are looked for at most every this many rounds, and never more often than this many idle pauses. */
const DISCOVERY_ROUNDS = 10;

/**
 * Reads a table's DynamoDB stream and hands its records to `onRecords` — what a Lambda event source
 * mapping does on AWS, for local stacks on DynamoDB Local. Starts at the stream's latest position;
 * follows shard splits. A batch whose handler fails is retried from the same position.
 *
 * Idle, it reads every shard once per `pollMs` (as it always has). After records, or after
 * {@link wake} (a writer in this process saying it just committed), it reads at once and then backs off
 * from `activePollMs` to `pollMs` ({@link pollDelay}). A wake only shortens a wait: what is delivered is
 * always what the stream returns, and a commit nobody announces is read at the next poll.
 *
 * @example
 * const poller = new StreamPoller({ dynamodb, streams, table: 'streambed-log', onRecords });
 * await poller.start(); ... poller.wake(); ... await poller.stop();
 */
export class StreamPoller {
  private readonly options: StreamPollerOptions;
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly iterators = new Map<string, string | undefined>();
  private readonly schedule: PollSchedule;
  /** Empty rounds in a row since records or a wake; idle from the start, so starting adds no reads. */
  private emptyRounds = Number.POSITIVE_INFINITY;
  /** A wake came during the current round: read again without a pause. */
  private woken = false;
  /** Ends the current pause early. */
  private interrupt: (() => void) | undefined;

  constructor(options: StreamPollerOptions) {
    this.options = options;
    const idleMs = options.pollMs ?? DEFAULT_POLL_SCHEDULE.idleMs;
    this.schedule = { idleMs, activeMs: options.activePollMs ?? DEFAULT_POLL_SCHEDULE.activeMs };
  }

  /** Resolves once the current shards are positioned, so records written after it are seen. */
  async start(): Promise<void> {
    this.running = true;
    await this.discover('LATEST');
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.interrupt?.();
    await this.loop;
  }

  /**
   * Something was probably just written to the table: read the stream now (or right after the read in
   * flight) and keep reading fast for a moment, since the change may not be on the stream yet. Cheap
   * to call often: wakes that come together lead to one read.
   *
   * @example
   * await log.produce(request); // through a client whose writes call poller.wake()
   */
  wake(): void {
    this.emptyRounds = 0;
    this.woken = true;
    this.interrupt?.();
  }

  private async streamArn(): Promise<string> {
    const table = await this.options.dynamodb.send(
      new DescribeTableCommand({ TableName: this.options.table }),
    );
    const arn = table.Table?.LatestStreamArn;
    if (arn === undefined) throw new Error(`table ${this.options.table} has no stream`);
    return arn;
  }

  /** Finds shards not yet followed; new ones (children of split shards) start at their beginning. */
  private async discover(position: 'LATEST' | 'TRIM_HORIZON'): Promise<void> {
    const arn = await this.streamArn();
    let exclusiveStart: string | undefined;
    do {
      const out = await this.options.streams.send(
        new DescribeStreamCommand({ StreamArn: arn, ExclusiveStartShardId: exclusiveStart }),
      );
      for (const shard of out.StreamDescription?.Shards ?? []) {
        if (shard.ShardId === undefined || this.iterators.has(shard.ShardId)) continue;
        const iterator = await this.options.streams.send(
          new GetShardIteratorCommand({
            StreamArn: arn,
            ShardId: shard.ShardId,
            ShardIteratorType: position,
          }),
        );
        this.iterators.set(shard.ShardId, iterator.ShardIterator);
      }
      exclusiveStart = out.StreamDescription?.LastEvaluatedShardId;
    } while (exclusiveStart !== undefined);
  }

  private async run(): Promise<void> {
    let roundsSinceDiscovery = 0;
    let lastDiscovery = performance.now();
    while (this.running) {
      this.woken = false;
      const found = await this.round();
      if (
        discoveryDue(
          { rounds: ++roundsSinceDiscovery, sinceMs: performance.now() - lastDiscovery },
          { everyRounds: DISCOVERY_ROUNDS, everyMs: DISCOVERY_ROUNDS * this.schedule.idleMs },
        )
      ) {
        roundsSinceDiscovery = 0;
        lastDiscovery = performance.now();
        await this.discover('TRIM_HORIZON').catch((error: unknown) => this.options.onError?.(error));
      }
      if (found) this.emptyRounds = 0;
      else if (!this.woken) this.emptyRounds++;
      const delay = this.woken ? 0 : pollDelay(this.emptyRounds, this.schedule);
      if (delay > 0 && this.running) await this.pause(delay);
      // With no pause (pollMs 0, or records again), still let timers and I/O run between rounds.
      else await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** One GetRecords per followed shard; true when records were handed over (and handled). */
  private async round(): Promise<boolean> {
    let found = false;
    for (const [shard, iterator] of this.iterators) {
      if (iterator === undefined || !this.running) continue;
      try {
        const out = await this.options.streams.send(
          new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }),
        );
        const records = out.Records ?? [];
        if (records.length > 0) {
          await this.options.onRecords(records);
          found = true;
        }
        this.iterators.set(shard, out.NextShardIterator);
      } catch (error) {
        // The same position is read again after a (growing) pause.
        this.options.onError?.(error);
      }
    }
    return found;
  }

  /** Sleeps `ms`, or less when {@link wake} or {@link stop} is called meanwhile. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.interrupt = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.interrupt = done;
    });
  }
}
