import { setTimeout as sleep } from 'node:timers/promises';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';

export interface StreamPollerOptions {
  readonly dynamodb: DynamoDBClient;
  readonly streams: DynamoDBStreamsClient;
  readonly table: string;
  /** Called with each non-empty batch of records, in shard order; errors are reported and retried. */
  readonly onRecords: (records: StreamRecord[]) => Promise<void>;
  readonly onError?: (error: unknown) => void;
  /** @default 200 */
  readonly pollMs?: number;
}

/**
 * Reads a table's DynamoDB stream and hands its records to `onRecords` — what a Lambda event source
 * mapping does on AWS, for local stacks on DynamoDB Local. Starts at the stream's latest position;
 * follows shard splits. A batch whose handler fails is retried from the same position.
 *
 * @example
 * const poller = new StreamPoller({ dynamodb, streams, table: 'streambed-log', onRecords });
 * poller.start(); ... await poller.stop();
 */
export class StreamPoller {
  private readonly options: StreamPollerOptions;
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly iterators = new Map<string, string | undefined>();

  constructor(options: StreamPollerOptions) {
    this.options = options;
  }

  /** Resolves once the current shards are positioned, so records written after it are seen. */
  async start(): Promise<void> {
    this.running = true;
    await this.discover('LATEST');
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
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
    let sinceDiscovery = 0;
    while (this.running) {
      let idle = true;
      for (const [shard, iterator] of this.iterators) {
        if (iterator === undefined || !this.running) continue;
        try {
          const out = await this.options.streams.send(
            new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }),
          );
          const records = out.Records ?? [];
          if (records.length > 0) {
            idle = false;
            await this.options.onRecords(records);
          }
          this.iterators.set(shard, out.NextShardIterator);
        } catch (error) {
          this.options.onError?.(error);
        }
      }
      if (++sinceDiscovery >= 10) {
        sinceDiscovery = 0;
        await this.discover('TRIM_HORIZON').catch((error: unknown) => this.options.onError?.(error));
      }
      if (idle) await sleep(this.options.pollMs ?? 200);
    }
  }
}
