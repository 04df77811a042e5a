import { createServer, type Server, type Socket } from 'node:net';
import type { KafkaGroupStore } from '../../core/ports.ts';
import { type KafkaAuthOptions, SaslSession } from '../auth/session.ts';
import { KafkaGroupCoordinator } from '../groups/coordinator.ts';
import type { GroupConfig } from '../groups/state.ts';
import { ApiKey } from '../protocol/api.ts';
import { FrameSplitter, frame } from '../protocol/framing.ts';
import { ALL_APIS, SASL_APIS } from './apis/index.ts';
import {
  type BrokerAddress,
  type Clock,
  type KafkaApiHandler,
  type KafkaEngine,
  SYSTEM_CLOCK,
} from './context.ts';
import { type ConnectionContext, dispatch, servedVersions } from './dispatch.ts';
import { GROUP_API_KEYS } from './groups.ts';

/*
 * The Kafka door: a TCP server speaking Kafka's protocol on top of lib/engine. It keeps no state of
 * its own (topics, offsets, producer state are the engine's, in S3 and DynamoDB), so any number of
 * them may serve the same log. Each connection is read as size-prefixed frames (framing.ts); its
 * requests are handled one at a time, in order, and answered in that order, as a Kafka broker does
 * (pipelined idempotent produce batches must reach the engine in the order they were sent). A request
 * that waits (a Fetch long poll, a JoinGroup until its rebalance's barrier closes, a follower's
 * SyncGroup) holds up only its own connection; each connection has its own queue, and closing it
 * aborts what waits (HandlerContext.signal).
 */

/** Where the group coordinator keeps group state, and its limits. */
export interface KafkaGroupOptions {
  /** e.g. `new DynamoKafkaGroupStore({ client: config.dynamodb, table: config.tables.meta })`. */
  readonly store: KafkaGroupStore;
  /** Kafka's broker group settings; `initialRebalanceDelayMs` defaults to Kafka's 3000. */
  readonly config?: Partial<GroupConfig>;
  /** How often a waiting JoinGroup or SyncGroup reads the group again. @default 100 */
  readonly pollIntervalMs?: number;
}

export interface KafkaServerOptions {
  readonly engine: KafkaEngine;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** 0 picks a free port. @default 9092 */
  readonly port?: number;
  /** The address Metadata gives clients. @default the host and the port bound */
  readonly advertised?: { readonly host: string; readonly port: number };
  /** @default 0 */
  readonly nodeId?: number;
  /** @default 'streambed' */
  readonly clusterId?: string;
  /**
   * @default every API in lib/kafka/server/apis (less the group APIs without `groups`); the SASL APIs
   * are added when `auth` is given, and only then
   */
  readonly handlers?: readonly KafkaApiHandler[];
  /** Consumer groups (FindCoordinator, JoinGroup, ..., OffsetCommit): served only when given. */
  readonly groups?: KafkaGroupOptions;
  /**
   * Client authentication (SASL OAUTHBEARER or PLAIN with a presigned STS GetCallerIdentity token,
   * docs/design.md §12): when given, a connection must authenticate before any request but
   * ApiVersions. @default none: every connection is served (npm start without --auth)
   */
  readonly auth?: KafkaAuthOptions;
  readonly clock?: Clock;
  /** Connection-level failures (closed connections), for the operator. @default nothing */
  readonly log?: (line: string) => void;
}

export interface KafkaServer {
  /** What Metadata advertises. */
  readonly broker: BrokerAddress;
  close(): Promise<void>;
}

/** The SASL APIs: served (and listed by ApiVersions) only when authentication is required. */
const SASL_API_KEYS: ReadonlySet<number> = new Set([ApiKey.SaslHandshake, ApiKey.SaslAuthenticate]);

/**
 * The most a connection may send before it first authenticates, in bytes not yet handled (Kafka's
 * `sasl.server.max.receive.size`, 512 KiB): an unauthenticated peer cannot make the server buffer a
 * 100 MiB frame.
 */
const MAX_UNAUTHENTICATED_BYTES = 512 * 1024;

/** Requests read ahead of the one being handled before the socket stops being read. */
const MAX_QUEUED = 64;

/**
 * Starts serving the Kafka protocol.
 *
 * @example
 * const kafka = await startKafkaServer({ engine: createStreambed(config), port: 9092 });
 * console.log(`Kafka protocol: ${kafka.broker.host}:${kafka.broker.port}`);
 * await kafka.close();
 */
export async function startKafkaServer(options: KafkaServerOptions): Promise<KafkaServer> {
  const host = options.host ?? '127.0.0.1';
  const handlers = [
    ...(options.handlers ?? ALL_APIS).filter(
      (h) => (options.groups !== undefined || !GROUP_API_KEYS.has(h.apiKey)) && !SASL_API_KEYS.has(h.apiKey),
    ),
    ...(options.auth === undefined ? [] : SASL_APIS),
  ];
  const clock = options.clock ?? SYSTEM_CLOCK;
  const groups =
    options.groups === undefined
      ? undefined
      : new KafkaGroupCoordinator({
          store: options.groups.store,
          engine: options.engine,
          clock,
          ...(options.groups.config === undefined ? {} : { config: options.groups.config }),
          ...(options.groups.pollIntervalMs === undefined
            ? {}
            : { pollIntervalMs: options.groups.pollIntervalMs }),
        });
  const byKey = new Map(handlers.map((h) => [h.apiKey, h]));
  const apis = servedVersions(handlers);
  const sockets = new Set<Socket>();
  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 9092, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : (options.port ?? 9092);
  const broker: BrokerAddress = {
    nodeId: options.nodeId ?? 0,
    host: options.advertised?.host ?? host,
    port: options.advertised?.port ?? port,
  };
  const base = {
    engine: options.engine,
    broker,
    clusterId: options.clusterId ?? 'streambed',
    clock,
    apis,
    ...(groups === undefined ? {} : { groups }),
  };
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    const sasl = options.auth === undefined ? undefined : new SaslSession(options.auth, base.clusterId);
    serveConnection(socket, byKey, sasl === undefined ? base : { ...base, sasl }, options.log ?? (() => {}));
  });
  return {
    broker,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

function serveConnection(
  socket: Socket,
  handlers: ReadonlyMap<number, KafkaApiHandler>,
  base: Omit<ConnectionContext, 'signal' | 'clientHost'>,
  log: (line: string) => void,
): void {
  const abort = new AbortController();
  const ctx: ConnectionContext = {
    ...base,
    signal: abort.signal,
    clientHost: `/${socket.remoteAddress ?? ''}`,
  };
  const frames = new FrameSplitter();
  let queued = 0;
  /** The bytes of the requests queued and not yet handled. */
  let unhandled = 0;
  /** Set once a response that ends the connection was written: later requests are not read. */
  let ending = false;
  let chain: Promise<void> = Promise.resolve();
  const close = (reason: string) => {
    if (socket.destroyed) return;
    log(`kafka: closing connection from ${socket.remoteAddress}:${socket.remotePort}: ${reason}`);
    socket.destroy();
  };
  socket.on('error', () => {});
  socket.once('close', () => abort.abort());
  socket.on('data', (chunk: Buffer) => {
    let messages: Uint8Array[];
    try {
      messages = frames.push(chunk);
    } catch (error) {
      close(error instanceof Error ? error.message : String(error));
      return;
    }
    if (
      ctx.sasl !== undefined &&
      ctx.sasl.caller === undefined &&
      frames.buffered + unhandled + messages.reduce((n, m) => n + m.length, 0) > MAX_UNAUTHENTICATED_BYTES
    ) {
      close(`more than ${MAX_UNAUTHENTICATED_BYTES} bytes before authentication`);
      return;
    }
    for (const message of messages) {
      queued++;
      unhandled += message.length;
      if (queued >= MAX_QUEUED) socket.pause();
      chain = chain
        .then(async () => {
          try {
            if (socket.destroyed || ending) return;
            const outcome = await dispatch(message, handlers, ctx);
            if (socket.destroyed) return;
            if (outcome.kind === 'respond') {
              socket.write(frame(outcome.bytes));
              if (outcome.close !== undefined) {
                // The failure's response first, then the close (Kafka sends it before closing).
                log(
                  `kafka: closing connection from ${socket.remoteAddress}:${socket.remotePort}: ${outcome.close}`,
                );
                ending = true;
                socket.end(() => socket.destroy());
              }
            } else if (outcome.kind === 'close') close(outcome.reason);
          } finally {
            queued--;
            unhandled -= message.length;
            if (queued < MAX_QUEUED / 2 && socket.isPaused() && !socket.destroyed) socket.resume();
          }
        })
        .catch((error: unknown) => close(error instanceof Error ? error.message : String(error)));
    }
  });
}
