import { awsPorts, type StreambedAwsConfig } from '../adapters/aws.ts';
import { MAX_RECORDS_PER_CALL } from '../core/produce-plan.ts';
import { Streambed } from '../engine/streambed.ts';
import { transportResultOf } from './binary-codec.ts';
import { normalizeEngineError } from './errors.ts';
import type {
  CommitRequest,
  CreateTopicRequest,
  GroupPartitionOffset,
  MemberCommitOffset,
  Membership,
  OffsetSpec,
  RecordOffset,
  ResetOffsetsRequest,
  ResetOffsetsResult,
  TopicDescription,
  TopicRecord,
  Transport,
  TransportFetchRequest,
  TransportFetchResult,
  TransportLimits,
  TransportProduceRequest,
} from './transport.ts';

/**
 * Where the direct transport's engine keeps its data: your S3 and DynamoDB clients (with IAM access
 * to the bucket and both tables), the bucket and the table names of the deployed stack.
 */
export type DirectTransportOptions = Pick<StreambedAwsConfig, 's3' | 'dynamodb' | 'bucket' | 'tables'>;

const DIRECT_LIMITS: TransportLimits = {
  maxRecordsPerRequest: MAX_RECORDS_PER_CALL,
  maxRequestPayloadBytes: 16 * 1024 * 1024,
  maxPartitionsPerCommit: 50,
};

/**
 * The engine in-process as a {@link Transport}: calls go straight to S3 and DynamoDB with the
 * caller's clients (no API Gateway or Lambda per call). It answers as the HTTP API does: the same
 * typed errors, AWS throttling as a retryable `Throttled`, anything unexpected as `InternalError`.
 * The SDK clients stay yours: `close()` does not destroy them.
 *
 * @example
 * const transport = new DirectTransport({
 *   s3: new S3Client({}), dynamodb: new DynamoDBClient({}),
 *   bucket: 'my-streambed', tables: { log: 'streambed-log', meta: 'streambed-meta' },
 * });
 */
export class DirectTransport implements Transport {
  readonly limits = DIRECT_LIMITS;
  private readonly engine: Streambed;

  constructor(options: DirectTransportOptions | { readonly engine: Streambed }) {
    this.engine =
      'engine' in options
        ? options.engine
        : new Streambed(
            awsPorts({
              s3: options.s3,
              dynamodb: options.dynamodb,
              bucket: options.bucket,
              tables: options.tables,
            }),
          );
  }

  private async run<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw normalizeEngineError(error);
    }
  }

  createTopic(request: CreateTopicRequest): Promise<TopicRecord> {
    return this.run(() => this.engine.createTopic(request));
  }

  listTopics(): Promise<TopicRecord[]> {
    return this.run(() => this.engine.listTopics());
  }

  describeTopic(topic: string): Promise<TopicDescription> {
    return this.run(() => this.engine.describeTopic(topic));
  }

  deleteTopic(topic: string): Promise<void> {
    return this.run(() => this.engine.deleteTopic(topic));
  }

  initProducer(
    request: { readonly transactionalId?: string } = {},
  ): Promise<{ producerId: string; epoch: number }> {
    return this.run(async () => {
      const issued = await this.engine.initProducer(request);
      return { producerId: issued.producerId, epoch: issued.epoch };
    });
  }

  produce(request: TransportProduceRequest): Promise<{ offsets: RecordOffset[] }> {
    return this.run(async () => ({ offsets: [...(await this.engine.produce(request)).offsets] }));
  }

  fetch(request: TransportFetchRequest): Promise<TransportFetchResult> {
    return this.run(async () => transportResultOf(await this.engine.fetch(request)));
  }

  listOffsets(topic: string, partition: number, spec: OffsetSpec): Promise<number | null> {
    return this.run(() => this.engine.listOffsets(topic, partition, spec));
  }

  deleteRecords(topic: string, partition: number, before: number): Promise<{ logStartOffset: number }> {
    return this.run(() => this.engine.deleteRecords(topic, partition, before));
  }

  listGroups(): Promise<string[]> {
    return this.run(() => this.engine.listGroups());
  }

  groupOffsets(group: string, topic: string): Promise<GroupPartitionOffset[]> {
    return this.run(async () =>
      (await this.engine.describeGroupOffsets(group, topic)).map(
        ({ partition, offset, metadata, highWatermark, lagRecords, lagSeconds }) => ({
          partition,
          offset,
          metadata,
          highWatermark,
          lagRecords,
          lagSeconds,
        }),
      ),
    );
  }

  commitOffsets(request: CommitRequest): Promise<void> {
    return this.run(() => this.engine.commitOffsets(request));
  }

  resetOffsets(request: ResetOffsetsRequest): Promise<ResetOffsetsResult> {
    return this.run(() => this.engine.resetOffsets(request));
  }

  joinGroup(
    group: string,
    topic: string,
    options: { readonly memberId?: string; readonly sessionTimeoutMs?: number } = {},
  ): Promise<Membership> {
    return this.run(() => this.engine.joinGroup(group, topic, options));
  }

  heartbeat(group: string, topic: string, memberId: string, sessionTimeoutMs?: number): Promise<Membership> {
    return this.run(() => this.engine.heartbeat(group, topic, memberId, sessionTimeoutMs));
  }

  leaveGroup(group: string, topic: string, memberId: string): Promise<void> {
    return this.run(() => this.engine.leaveGroup(group, topic, memberId));
  }

  commitAsMember(
    group: string,
    topic: string,
    memberId: string,
    offsets: readonly MemberCommitOffset[],
  ): Promise<void> {
    return this.run(() => this.engine.commitAsMember(group, topic, memberId, offsets));
  }

  async close(): Promise<void> {}
}
