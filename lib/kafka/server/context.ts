import { createHash } from 'node:crypto';
import type { Streambed } from '../../engine/streambed.ts';
import type { SaslSession } from '../auth/session.ts';
import type { KafkaGroupCoordinator } from '../groups/coordinator.ts';
import type { RequestHeader } from '../protocol/api.ts';
import type { KafkaStruct } from '../protocol/schema.ts';

/** What the Kafka door needs of the engine: the same calls every other front door makes. */
export type KafkaEngine = Pick<
  Streambed,
  | 'listTopics'
  | 'describeTopic'
  | 'createTopic'
  | 'deleteTopic'
  | 'produce'
  | 'fetch'
  | 'listOffsets'
  | 'deleteRecords'
  | 'initProducer'
  | 'fetchOffsets'
  | 'listGroups'
>;

/** Time, injectable so long-polling can be tested without waiting. */
export interface Clock {
  now(): number;
  /** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * The real clock.
 *
 * @example await SYSTEM_CLOCK.sleep(50, connection.signal);
 */
export const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted === true) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
    }),
};

/** The one broker this server presents itself as: what Metadata advertises. */
export interface BrokerAddress {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
}

/** The version range of one API the server serves. */
export interface ServedVersions {
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
}

/** Everything a handler may use; one per request. */
export interface HandlerContext {
  readonly engine: KafkaEngine;
  readonly broker: BrokerAddress;
  readonly clusterId: string;
  readonly clock: Clock;
  readonly header: RequestHeader;
  /** What ApiVersions advertises. */
  readonly apis: readonly ServedVersions[];
  /** Aborts when the connection closes: a long poll, a waiting JoinGroup or SyncGroup stops waiting. */
  readonly signal: AbortSignal;
  /** The group coordinator the group APIs (FindCoordinator to ListGroups) call; absent: not served. */
  readonly groups?: KafkaGroupCoordinator;
  /** The client's address as Kafka shows it in DescribeGroups (`/10.0.0.7`). @default '' */
  readonly clientHost?: string;
  /** The connection's SASL state when the server requires authentication (server.ts `auth`). */
  readonly sasl?: SaslSession;
}

/**
 * One Kafka API served (lib/kafka/server/apis/<api>.ts): the versions it serves and what it answers.
 *
 * @example
 * export const heartbeat: KafkaApiHandler = { apiKey: 12, minVersion: 0, maxVersion: 4, handle: async () => ({ errorCode: 0 }) };
 */
export interface KafkaApiHandler {
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
  /** The response body, or null when the request gets no response (Produce with acks=0). */
  handle(request: KafkaStruct, version: number, ctx: HandlerContext): Promise<object | null>;
}

/**
 * Kafka's topic id (a UUID, in its base64url text form) for a Streambed topic: derived from the
 * topic's own id, so every server gives the same answer and a topic created again gets a new one.
 *
 * @example kafkaTopicId({ id: '3f9c0a7e51b2d4c86e10' }) // 'pXk0...' (22 characters, never the zero UUID)
 */
export function kafkaTopicId(topic: { readonly id: string }): string {
  const bytes = createHash('sha256').update(`streambed-topic:${topic.id}`).digest().subarray(0, 16);
  bytes[0] = (bytes[0] as number) | 1;
  return bytes.toString('base64url');
}

/** A number from an int64 field (decoded as bigint); out-of-range values become NaN. */
export function int64(value: unknown): number {
  if (typeof value === 'bigint') {
    return value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)
      ? Number.NaN
      : Number(value);
  }
  return typeof value === 'number' ? value : Number.NaN;
}
