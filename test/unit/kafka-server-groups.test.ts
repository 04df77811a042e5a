import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { KafkaCommitFence, KafkaGroupStore, StoredKafkaGroup } from '../../lib/core/ports.ts';
import { ApiKey, decodeResponse, encodeRequest } from '../../lib/kafka/protocol/api.ts';
import { FrameSplitter, frame } from '../../lib/kafka/protocol/framing.ts';
import type { KafkaEngine } from '../../lib/kafka/server/context.ts';
import { type KafkaServer, startKafkaServer } from '../../lib/kafka/server/server.ts';

/** The group store's contract in memory (conditional puts on the version), counting reads. */
class MemoryStore implements KafkaGroupStore {
  readonly items = new Map<string, StoredKafkaGroup>();
  reads = 0;
  async get(group: string) {
    this.reads++;
    return this.items.get(group);
  }
  async put(next: StoredKafkaGroup, expected: number | undefined) {
    if (this.items.get(next.group)?.version !== expected) return false;
    this.items.set(next.group, next);
    return true;
  }
  async list() {
    return [...this.items.values()];
  }
  async commitFenced(_fence: KafkaCommitFence) {
    return true;
  }
}

const engine = {
  listTopics: async () => [],
  listGroups: async () => [],
  fetchOffsets: async () => ({ offsets: [] }),
} as unknown as KafkaEngine;

/** A raw Kafka connection: send requests (pipelined), read responses in arrival order. */
class RawClient {
  private readonly socket: Socket;
  private readonly frames = new FrameSplitter();
  private readonly received: Uint8Array[] = [];
  private waiter: (() => void) | undefined;
  private next = 1;
  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.received.push(...this.frames.push(chunk));
      this.waiter?.();
    });
  }
  static open(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }
  /** Sends a request; returns its correlation id. */
  send(apiKey: number, apiVersion: number, body: object): number {
    const correlationId = this.next++;
    this.socket.write(frame(encodeRequest({ apiKey, apiVersion, correlationId, clientId: 'raw' }, body)));
    return correlationId;
  }
  /** The next response, decoded as `apiKey` v`apiVersion`; rejects after `timeoutMs`. */
  async receive(apiKey: number, apiVersion: number, timeoutMs = 5_000) {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length === 0) {
      if (Date.now() > deadline) throw new Error('no response');
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 20);
      });
    }
    return decodeResponse(apiKey, apiVersion, this.received.shift() as Uint8Array);
  }
  get pending(): number {
    return this.received.length;
  }
  close(): void {
    this.socket.destroy();
  }
}

function joinBody(memberId: string) {
  return {
    groupId: 'g',
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 10_000,
    memberId,
    groupInstanceId: null,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: new Uint8Array([0, 1]) }],
  };
}

describe('the Kafka server with a group coordinator', () => {
  let server: KafkaServer;
  let bare: KafkaServer;
  const store = new MemoryStore();

  before(async () => {
    server = await startKafkaServer({
      engine,
      port: 0,
      nodeId: 0,
      groups: { store, config: { initialRebalanceDelayMs: 1_000 }, pollIntervalMs: 10 },
    });
    bare = await startKafkaServer({ engine, port: 0 });
  });
  after(async () => {
    await server.close();
    await bare.close();
  });

  test('ApiVersions lists the group APIs with the versions served, and only when the server has a coordinator', async () => {
    const expected = [
      [ApiKey.OffsetCommit, 2, 9],
      [ApiKey.OffsetFetch, 1, 9],
      [ApiKey.FindCoordinator, 0, 6],
      [ApiKey.JoinGroup, 0, 9],
      [ApiKey.Heartbeat, 0, 4],
      [ApiKey.LeaveGroup, 0, 5],
      [ApiKey.SyncGroup, 0, 5],
      [ApiKey.DescribeGroups, 0, 5],
      [ApiKey.ListGroups, 0, 5],
    ];
    for (const [s, listed] of [
      [server, true],
      [bare, false],
    ] as const) {
      const client = await RawClient.open(s.broker.port);
      try {
        client.send(ApiKey.ApiVersions, 3, { clientSoftwareName: 'raw', clientSoftwareVersion: '1' });
        const { body } = await client.receive(ApiKey.ApiVersions, 3);
        const apis = body.apiKeys as { apiKey: number; minVersion: number; maxVersion: number }[];
        for (const [apiKey, min, max] of expected) {
          const found = apis.find((a) => a.apiKey === apiKey);
          if (listed) assert.deepEqual([found?.minVersion, found?.maxVersion], [min, max], `API ${apiKey}`);
          else assert.equal(found, undefined, `API ${apiKey} listed without a coordinator`);
        }
      } finally {
        client.close();
      }
    }
  });

  test('FindCoordinator names this broker, as Metadata does', async () => {
    const client = await RawClient.open(server.broker.port);
    try {
      client.send(ApiKey.FindCoordinator, 2, { key: 'g', keyType: 0 });
      const { body } = await client.receive(ApiKey.FindCoordinator, 2);
      assert.deepEqual(
        [body.errorCode, body.nodeId, body.host, body.port],
        [0, 0, '127.0.0.1', server.broker.port],
      );
    } finally {
      client.close();
    }
  });

  test('a waiting JoinGroup holds up only its own connection, whose next response comes after it; closing the connection stops the wait', async () => {
    const a = await RawClient.open(server.broker.port);
    const b = await RawClient.open(server.broker.port);
    try {
      a.send(ApiKey.JoinGroup, 5, joinBody(''));
      const required = await a.receive(ApiKey.JoinGroup, 5);
      assert.equal(required.body.errorCode, 79); // MEMBER_ID_REQUIRED
      const memberId = required.body.memberId as string;
      // A new group waits the initial rebalance delay (1 s here) before the join is answered.
      const started = Date.now();
      const join = a.send(ApiKey.JoinGroup, 5, joinBody(memberId));
      const behind = a.send(ApiKey.ListGroups, 3, {});
      // Another connection is answered meanwhile.
      b.send(ApiKey.ListGroups, 3, {});
      const listed = await b.receive(ApiKey.ListGroups, 3);
      assert.ok(Date.now() - started < 900, 'the other connection waited for the join');
      assert.equal(listed.body.errorCode, 0);
      assert.equal(a.pending, 0);
      const joined = await a.receive(ApiKey.JoinGroup, 5);
      assert.equal(joined.correlationId, join);
      assert.equal(joined.body.errorCode, 0);
      assert.equal(joined.body.leader, memberId);
      assert.ok(Date.now() - started >= 900);
      const next = await a.receive(ApiKey.ListGroups, 3);
      assert.equal(next.correlationId, behind);

      // A second member's join starts a rebalance that waits for the first to rejoin: closing the
      // second member's connection ends its wait (the store stops being polled for it).
      const c = await RawClient.open(server.broker.port);
      c.send(ApiKey.JoinGroup, 5, joinBody(''));
      const other = (await c.receive(ApiKey.JoinGroup, 5)).body.memberId as string;
      c.send(ApiKey.JoinGroup, 5, joinBody(other));
      await new Promise((r) => setTimeout(r, 100));
      const readsWaiting = store.reads;
      await new Promise((r) => setTimeout(r, 100));
      assert.ok(store.reads > readsWaiting, 'the join is not waiting');
      c.close();
      await new Promise((r) => setTimeout(r, 100));
      const readsAfterClose = store.reads;
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(store.reads, readsAfterClose, 'the closed connection still polls the group');
    } finally {
      a.close();
      b.close();
    }
  });
});
