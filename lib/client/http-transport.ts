import { CorruptSegmentError, InvalidArgumentError } from '../core/errors.ts';
import { BATCH_REFS_TYPE, type BatchRefs, readBatchRefs, recordsOfRefs } from '../core/wire/batch-refs.ts';
import { binaryCodec, transportResultOf } from './binary-codec.ts';
import { DirectReadError, DirectReadsGate, readReferencedBatches } from './direct-reads.ts';
import { type ErrorContext, errorFromResponse, networkError } from './errors.ts';
import {
  DIRECT_READ_FAILURES,
  HTTP_LIMITS,
  type HttpTransportOptions,
  MAX_DIRECT_READS_PAUSE_MS,
} from './http-options.ts';
import type { BodyCodec } from './json-codec.ts';
import { type FetchAnswer, type FetchLike, nodeFetch } from './node-fetch.ts';
import { type RequestSigner, sigv4Signer } from './sigv4.ts';
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
  TransportProduceRequest,
} from './transport.ts';

export type { HttpTransportOptions } from './http-options.ts';

interface Call {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly path: string;
  readonly query?: Readonly<Record<string, string>>;
  readonly json?: unknown;
  readonly body?: { readonly contentType: string; readonly data: string | Uint8Array };
  readonly accept?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly context?: ErrorContext;
}

const seg = encodeURIComponent;

/**
 * The HTTP API as a {@link Transport}: `fetch`-based, one attempt per call, errors mapped back to
 * the engine's typed errors (`code`, `retryable`, {@link retryAfterMs} from `Retry-After`). Requests
 * are signed with SigV4 when `auth: 'sigv4'`.
 *
 * @example
 * const local = new HttpTransport({ endpoint: 'http://127.0.0.1:8080', auth: 'none' });
 * const aws = new HttpTransport({ endpoint: 'https://abc.execute-api.eu-west-1.amazonaws.com', auth: 'sigv4' });
 */
export class HttpTransport implements Transport {
  readonly limits = HTTP_LIMITS;
  private readonly base: URL;
  private readonly signer: RequestSigner | undefined;
  private readonly codec: BodyCodec;
  private readonly timeoutMs: number;
  private readonly fetchImpl: FetchLike;
  /** Closes the keep-alive connections of the default fetch (none when `fetch` was given). */
  private readonly closeFetch: () => void;
  private readonly headers: Readonly<Record<string, string>>;
  private closed = false;
  private readonly directReads: boolean;
  /** Whether fetches ask for batch references, from how direct reads went lately. */
  private readonly directGate: DirectReadsGate;

  constructor(options: HttpTransportOptions) {
    let base: URL;
    try {
      base = new URL(options.endpoint);
    } catch {
      throw new InvalidArgumentError(`endpoint must be a URL, got '${options.endpoint}'`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new InvalidArgumentError(`endpoint must be http(s), got '${options.endpoint}'`);
    }
    if (options.auth !== 'none' && options.auth !== 'sigv4') {
      throw new InvalidArgumentError(`auth must be 'none' or 'sigv4', got '${String(options.auth)}'`);
    }
    this.base = base;
    this.signer =
      options.signer ??
      (options.auth === 'sigv4'
        ? sigv4Signer({
            ...(options.region === undefined ? {} : { region: options.region }),
            ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
          })
        : undefined);
    this.codec = options.codec ?? binaryCodec;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    const own = options.fetch === undefined ? nodeFetch() : undefined;
    this.fetchImpl = options.fetch ?? (own as FetchLike);
    this.closeFetch = () => own?.close();
    this.headers = options.headers ?? {};
    this.directReads = options.directReads ?? true;
    const pauseMs = options.directReadsPauseMs ?? 60_000;
    if (!Number.isSafeInteger(pauseMs) || pauseMs < 0) {
      throw new InvalidArgumentError(
        `directReadsPauseMs must be a non-negative integer, got ${String(options.directReadsPauseMs)}`,
      );
    }
    this.directGate = new DirectReadsGate({
      failuresInARow: DIRECT_READ_FAILURES,
      pauseMs,
      maxPauseMs: MAX_DIRECT_READS_PAUSE_MS,
    });
  }

  private url(path: string, query: Readonly<Record<string, string>> = {}): URL {
    const url = new URL(this.base.href);
    url.pathname = `${this.base.pathname.replace(/\/+$/, '')}${path}`;
    url.search = new URLSearchParams(query).toString();
    return url;
  }

  /** One request: the answer's bytes and content type, or the typed error it carried. */
  private async call(call: Call): Promise<{ status: number; contentType: string | null; bytes: Uint8Array }> {
    if (this.closed) throw new InvalidArgumentError('the transport is closed');
    const url = this.url(call.path, call.query);
    let headers: Record<string, string> = {
      ...this.headers,
      ...call.headers,
      accept: call.accept ?? 'application/json',
    };
    let body: string | Uint8Array | undefined;
    if (call.json !== undefined) {
      body = JSON.stringify(call.json);
      headers['content-type'] = 'application/json';
    } else if (call.body !== undefined) {
      body = call.body.data;
      headers['content-type'] = call.body.contentType;
    }
    if (this.signer !== undefined) {
      headers = await this.signer.sign({
        method: call.method,
        url,
        headers,
        ...(body === undefined ? {} : { body }),
      });
    }
    const { host: _, ...sent } = headers;
    const signal = AbortSignal.timeout(this.timeoutMs);
    let response: FetchAnswer;
    let bytes: Uint8Array;
    try {
      response = await this.fetchImpl(url, {
        method: call.method,
        headers: sent,
        signal,
        ...(body === undefined ? {} : { body }),
      });
      bytes = new Uint8Array(await response.arrayBuffer());
    } catch (error) {
      throw networkError(error, signal.aborted);
    }
    if (response.status >= 200 && response.status < 300) {
      return { status: response.status, contentType: response.headers.get('content-type'), bytes };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
    } catch {
      parsed = undefined;
    }
    throw errorFromResponse(
      response.status,
      parsed,
      response.headers.get('retry-after'),
      call.context ?? {},
      response.headers.get('x-amzn-errortype'),
    );
  }

  private async json<T>(call: Call): Promise<T> {
    const { bytes } = await this.call(call);
    return (bytes.length === 0 ? undefined : JSON.parse(Buffer.from(bytes).toString('utf8'))) as T;
  }

  async createTopic(request: CreateTopicRequest): Promise<TopicRecord> {
    return await this.json({
      method: 'POST',
      path: '/topics',
      json: request,
      context: { topic: request.name },
    });
  }

  async listTopics(): Promise<TopicRecord[]> {
    return (await this.json<{ topics: TopicRecord[] }>({ method: 'GET', path: '/topics' })).topics;
  }

  async describeTopic(topic: string): Promise<TopicDescription> {
    return await this.json({ method: 'GET', path: `/topics/${seg(topic)}`, context: { topic } });
  }

  async deleteTopic(topic: string): Promise<void> {
    await this.call({ method: 'DELETE', path: `/topics/${seg(topic)}`, context: { topic } });
  }

  async initProducer(
    request: { readonly transactionalId?: string } = {},
  ): Promise<{ producerId: string; epoch: number }> {
    const issued = await this.json<{ producerId: string; producerEpoch: number }>({
      method: 'POST',
      path: '/producers',
      json: request,
    });
    return { producerId: issued.producerId, epoch: issued.producerEpoch };
  }

  async produce(request: TransportProduceRequest): Promise<{ offsets: RecordOffset[] }> {
    const encoded = this.codec.encodeProduce(request);
    const reply = await this.json<{ offsets: RecordOffset[] }>({
      method: 'POST',
      path: `/topics/${seg(request.topic)}/records`,
      body: { contentType: encoded.contentType, data: encoded.body },
      ...(encoded.headers === undefined ? {} : { headers: encoded.headers }),
      context: { topic: request.topic },
    });
    return { offsets: encoded.toRequestOrder?.(reply.offsets) ?? reply.offsets };
  }

  async fetch(request: TransportFetchRequest): Promise<TransportFetchResult> {
    if (!this.readsDirectly()) return await this.fetchFramed(request);
    // The one fetch trying the bucket after a pause must say how it went, whatever happens to it.
    const probe = this.directGate.probing;
    let told = false;
    try {
      const answer = await this.fetchThroughApi(request, `${BATCH_REFS_TYPE}, ${this.codec.fetchAccept}`);
      if (!('refs' in answer)) return answer;
      request.onNextOffset?.({
        nextOffset: answer.refs.nextOffset,
        highWatermark: answer.refs.highWatermark,
      });
      let bytes: Uint8Array[];
      try {
        bytes = await readReferencedBatches(this.fetchImpl, answer.refs, this.timeoutMs);
      } catch (error) {
        if (!(error instanceof DirectReadError)) throw error;
        // The bucket is out of reach, the object gone or the URL stale: the API reads it (or says
        // where the log is now). After a few failures in a row, stop asking for references for a while.
        this.directGate.failed();
        told = true;
        return await this.fetchFramed(request);
      }
      this.directGate.succeeded();
      told = true;
      return transportResultOf(
        recordsOfRefs(
          answer.refs,
          bytes,
          {
            offset: request.offset,
            ...(request.maxRecords === undefined ? {} : { maxRecords: request.maxRecords }),
          },
          request.partition,
        ),
      );
    } finally {
      if (probe && !told) this.directGate.abandonProbe();
    }
  }

  /** Whether fetches ask for batch references: binary bodies, `directReads`, and the gate open. */
  private readsDirectly(): boolean {
    return this.directReads && this.codec === binaryCodec && this.directGate.open();
  }

  /** A fetch answered with the records themselves (the codec's frame or JSON). */
  private async fetchFramed(request: TransportFetchRequest): Promise<TransportFetchResult> {
    const answer = await this.fetchThroughApi(request, this.codec.fetchAccept);
    if ('refs' in answer)
      throw new CorruptSegmentError('the server answered batch references nobody asked for');
    return answer;
  }

  /** One fetch request through the API; a references answer comes back parsed, not followed. */
  private async fetchThroughApi(
    request: TransportFetchRequest,
    accept: string,
  ): Promise<TransportFetchResult | { readonly refs: BatchRefs }> {
    const { contentType, bytes } = await this.call({
      method: 'GET',
      path: `/topics/${seg(request.topic)}/partitions/${request.partition}/records`,
      query: {
        offset: String(request.offset),
        ...(request.maxRecords === undefined ? {} : { maxRecords: String(request.maxRecords) }),
        ...(request.maxBytes === undefined ? {} : { maxBytes: String(request.maxBytes) }),
      },
      accept,
      context: { topic: request.topic, partition: request.partition, offset: request.offset },
    });
    if (contentType?.split(';')[0]?.trim().toLowerCase() === BATCH_REFS_TYPE) {
      return { refs: readBatchRefs(JSON.parse(Buffer.from(bytes).toString('utf8'))) };
    }
    return this.codec.decodeFetch(contentType, bytes, request);
  }

  async listOffsets(topic: string, partition: number, spec: OffsetSpec): Promise<number | null> {
    const at = typeof spec === 'string' ? spec : String(spec.timestamp);
    const reply = await this.json<{ offset: number | null }>({
      method: 'GET',
      path: `/topics/${seg(topic)}/partitions/${partition}/offsets`,
      query: { at },
      context: { topic, partition },
    });
    return reply.offset;
  }

  async deleteRecords(topic: string, partition: number, before: number): Promise<{ logStartOffset: number }> {
    return await this.json({
      method: 'DELETE',
      path: `/topics/${seg(topic)}/partitions/${partition}/records`,
      query: { before: String(before) },
      context: { topic, partition, offset: before },
    });
  }

  async listGroups(): Promise<string[]> {
    return (await this.json<{ groups: string[] }>({ method: 'GET', path: '/groups' })).groups;
  }

  async groupOffsets(group: string, topic: string): Promise<GroupPartitionOffset[]> {
    const reply = await this.json<{ offsets: GroupPartitionOffset[] }>({
      method: 'GET',
      path: `/groups/${seg(group)}/offsets`,
      query: { topic },
      context: { group, topic },
    });
    return reply.offsets.map(({ partition, offset, metadata, highWatermark, lagRecords, lagSeconds }) => ({
      partition,
      offset,
      metadata,
      highWatermark,
      lagRecords,
      lagSeconds,
    }));
  }

  async commitOffsets(request: CommitRequest): Promise<void> {
    const { group, ...body } = request;
    await this.call({
      method: 'PUT',
      path: `/groups/${seg(group)}/offsets`,
      json: body,
      context: { group, topic: request.topic },
    });
  }

  async resetOffsets(request: ResetOffsetsRequest): Promise<ResetOffsetsResult> {
    const { group, ...body } = request;
    return await this.json({
      method: 'POST',
      path: `/groups/${seg(group)}/offsets/reset`,
      json: body,
      context: { group, topic: request.topic },
    });
  }

  async joinGroup(
    group: string,
    topic: string,
    options: { readonly memberId?: string; readonly sessionTimeoutMs?: number } = {},
  ): Promise<Membership> {
    return await this.json({
      method: 'POST',
      path: `/groups/${seg(group)}/members`,
      json: { topic, ...options },
      context: { group, topic },
    });
  }

  async heartbeat(
    group: string,
    topic: string,
    memberId: string,
    sessionTimeoutMs?: number,
  ): Promise<Membership> {
    return await this.json({
      method: 'POST',
      path: `/groups/${seg(group)}/members/${seg(memberId)}/heartbeat`,
      json: { topic, ...(sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs }) },
      context: { group, topic },
    });
  }

  async leaveGroup(group: string, topic: string, memberId: string): Promise<void> {
    await this.call({
      method: 'DELETE',
      path: `/groups/${seg(group)}/members/${seg(memberId)}`,
      query: { topic },
      context: { group, topic },
    });
  }

  async commitAsMember(
    group: string,
    topic: string,
    memberId: string,
    offsets: readonly MemberCommitOffset[],
  ): Promise<void> {
    await this.call({
      method: 'PUT',
      path: `/groups/${seg(group)}/members/${seg(memberId)}/offsets`,
      json: { topic, offsets },
      context: { group, topic },
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.closeFetch();
  }
}
