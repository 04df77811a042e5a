import { randomUUID } from 'node:crypto';
import type { KafkaGroupStore } from '../../core/ports.ts';
import { GroupBusyError, GroupErrorCode } from './errors.ts';
import { awaitJoin, type ClientInfo, join } from './join.ts';
import { awaitSync, describe, heartbeat, leave, sync, syncResponse } from './members.ts';
import type {
  DescribeGroupsRequest,
  DescribeGroupsResponse,
  FindCoordinatorRequest,
  FindCoordinatorResponse,
  HeartbeatRequest,
  HeartbeatResponse,
  JoinGroupRequest,
  JoinGroupResponse,
  LeaveGroupRequest,
  LeaveGroupResponse,
  ListGroupsRequest,
  ListGroupsResponse,
  OffsetCommitRequest,
  OffsetCommitResponse,
  OffsetFetchRequest,
  OffsetFetchResponse,
  SyncGroupRequest,
  SyncGroupResponse,
} from './messages.ts';
import { commitOffsets, type GroupEngine, offsetFetch } from './offsets.ts';
import { advance, joinError } from './rebalance.ts';
import { DEFAULT_GROUP_CONFIG, fromStored, type GroupConfig, type GroupState, toStored } from './state.ts';

/** Time, injectable (the server's Clock fits). */
export interface GroupClock {
  now(): number;
  /** Resolves after `ms`, or early when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The broker FindCoordinator names: every server coordinates every group (the state is shared). */
export interface CoordinatorAddress {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
}

export interface GroupCoordinatorOptions {
  readonly store: KafkaGroupStore;
  readonly engine: GroupEngine;
  readonly clock: GroupClock;
  /** Kafka's broker limits; see {@link GroupConfig}. */
  readonly config?: Partial<GroupConfig>;
  /** How often a waiting JoinGroup or SyncGroup reads the group again. @default 100 */
  readonly pollIntervalMs?: number;
  /** The id handed out with MEMBER_ID_REQUIRED. @default `${clientId}-${randomUUID()}`, as Kafka */
  readonly newMemberId?: (clientId: string) => string;
}

/** How many times a transition is retried after losing a conditional write to another server. */
const MAX_ATTEMPTS = 64;

/**
 * Kafka's classic consumer-group coordinator with its state in a {@link KafkaGroupStore}, so several
 * stateless servers agree: each request reads the group, brings it up to now (expiry, a due join
 * barrier), decides with the pure state machine (join.ts, members.ts) and writes the result on
 * condition that nobody wrote since — retried from the read when somebody did. JoinGroup and
 * SyncGroup that must wait poll the stored state; nothing lives in this process between requests.
 * Takes and returns the decoded request and response shapes (messages.ts); the server maps them.
 *
 * @example
 * const groups = new KafkaGroupCoordinator({ store: awsKafkaGroups, engine: log, clock: SYSTEM_CLOCK });
 * const response = await groups.joinGroup(body, version, { clientId: header.clientId ?? '', clientHost: '/10.0.0.7' }, signal);
 */
export class KafkaGroupCoordinator {
  private readonly store: KafkaGroupStore;
  private readonly engine: GroupEngine;
  private readonly clock: GroupClock;
  private readonly config: GroupConfig;
  private readonly pollIntervalMs: number;
  private readonly newMemberId: (clientId: string) => string;

  constructor(options: GroupCoordinatorOptions) {
    this.store = options.store;
    this.engine = options.engine;
    this.clock = options.clock;
    this.config = { ...DEFAULT_GROUP_CONFIG, ...options.config };
    this.pollIntervalMs = options.pollIntervalMs ?? 100;
    this.newMemberId = options.newMemberId ?? ((clientId) => `${clientId.slice(0, 64)}-${randomUUID()}`);
  }

  /**
   * Reads the group, advances it to now, decides, and stores the decision if it changed anything,
   * conditionally on the version read; on a conflict, all over again from the read.
   */
  private async transact<T>(
    group: string,
    decide: (state: GroupState, exists: boolean, now: number) => { state: GroupState; result: T },
  ): Promise<T> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const stored = await this.store.get(group);
      const now = this.clock.now();
      const current = advance(fromStored(group, stored), now, this.config);
      const { state, result } = decide(current, stored !== undefined, now);
      const next = toStored(state, stored?.version);
      const before = toStored(fromStored(group, stored), stored?.version);
      const same =
        next.data === before.data &&
        next.generation === before.generation &&
        next.state === before.state &&
        next.protocolType === before.protocolType;
      if (same) return result;
      if (await this.store.put(next, stored?.version)) return result;
      await this.clock.sleep(Math.floor(Math.random() * 10 * Math.min(attempt + 1, 5)));
    }
    throw new GroupBusyError(`group '${group}': ${MAX_ATTEMPTS} conflicting writes in a row; try again`);
  }

  /**
   * FindCoordinator (v0-6): this server, for every group key (v4+: each of `coordinatorKeys`). Key
   * type 1 (transactions) is refused with INVALID_REQUEST: Streambed has no transactions.
   *
   * @example groups.findCoordinator({ key: 'billing', keyType: 0, coordinatorKeys: [] }, 3, { nodeId: 0, host: '127.0.0.1', port: 9092 })
   */
  findCoordinator(
    request: FindCoordinatorRequest,
    version: number,
    broker: CoordinatorAddress,
  ): FindCoordinatorResponse {
    const refused = request.keyType !== 0;
    const one = (key: string) => ({
      key,
      nodeId: refused ? -1 : broker.nodeId,
      host: refused ? '' : broker.host,
      port: refused ? -1 : broker.port,
      errorCode: refused ? GroupErrorCode.INVALID_REQUEST : GroupErrorCode.NONE,
      errorMessage: refused
        ? `coordinator key type ${request.keyType} is not supported (Streambed has no transactions)`
        : null,
    });
    const keys = version >= 4 ? request.coordinatorKeys : [request.key];
    const { key: _key, ...single } = one(request.key);
    return { throttleTimeMs: 0, ...single, coordinators: keys.map(one) };
  }

  /**
   * JoinGroup (v0-9). Resolves when the member's join is decided: at once for errors and
   * MEMBER_ID_REQUIRED, otherwise once the rebalance's barrier closes (every member rejoined, or the
   * rebalance timeout passed). `signal` (the connection closing) stops the wait.
   *
   * @example const r = await groups.joinGroup(request, 9, { clientId: 'app', clientHost: '/10.0.0.7' });
   */
  async joinGroup(
    request: JoinGroupRequest,
    version: number,
    client: ClientInfo,
    signal?: AbortSignal,
  ): Promise<JoinGroupResponse> {
    const newId = this.newMemberId(client.clientId);
    const decision = await this.transact(request.groupId, (state, _exists, now) => {
      const d = join(state, request, version, client, now, this.config, newId);
      return { state: d.state, result: d };
    });
    if (decision.kind === 'respond') return decision.response;
    const { memberId, after } = decision;
    const limit =
      this.clock.now() +
      2 * Math.max(request.rebalanceTimeoutMs, request.sessionTimeoutMs) +
      this.config.initialRebalanceDelayMs;
    for (;;) {
      const response = await this.transact(request.groupId, (state) => ({
        state,
        result: awaitJoin(state, memberId, after),
      }));
      if (response !== undefined) return response;
      if (signal?.aborted === true || this.clock.now() > limit) {
        return joinError(GroupErrorCode.REBALANCE_IN_PROGRESS, memberId);
      }
      await this.clock.sleep(this.pollIntervalMs, signal);
    }
  }

  /**
   * SyncGroup (v0-5): the leader's assignments are stored and each member gets its own; a follower's
   * call waits until the leader's is stored (or a rebalance or its removal ends the wait).
   *
   * @example const { assignment } = await groups.syncGroup({ groupId, generationId, memberId, assignments: [] , ... }, 5);
   */
  async syncGroup(
    request: SyncGroupRequest,
    _version: number,
    signal?: AbortSignal,
  ): Promise<SyncGroupResponse> {
    const decision = await this.transact(request.groupId, (state, _exists, now) => {
      const d = sync(state, request, now, this.config);
      return { state: d.state, result: d };
    });
    if (decision.kind === 'respond') return decision.response;
    const started = this.clock.now();
    for (;;) {
      await this.clock.sleep(this.pollIntervalMs, signal);
      const response = await this.transact(request.groupId, (state) => ({
        state,
        result: { response: awaitSync(state, request.memberId, request.generationId), state },
      }));
      if (response.response !== undefined) return response.response;
      const member = response.state.members.find((m) => m.memberId === request.memberId);
      const limit = started + Math.max(member?.rebalanceTimeoutMs ?? 0, member?.sessionTimeoutMs ?? 0) * 2;
      if (signal?.aborted === true || this.clock.now() > limit) {
        return syncResponse(response.state, GroupErrorCode.REBALANCE_IN_PROGRESS);
      }
    }
  }

  /**
   * Heartbeat (v0-4): REBALANCE_IN_PROGRESS tells a member to rejoin.
   *
   * @example (await groups.heartbeat({ groupId, generationId: 3, memberId, groupInstanceId: null }, 4)).errorCode
   */
  async heartbeat(request: HeartbeatRequest, _version: number): Promise<HeartbeatResponse> {
    const errorCode = await this.transact(request.groupId, (state, _exists, now) => {
      const d = heartbeat(state, request, now);
      return { state: d.state, result: d.errorCode };
    });
    return { throttleTimeMs: 0, errorCode };
  }

  /**
   * LeaveGroup (v0-5; v3+ a batch of members): those that leave start a rebalance of the rest.
   *
   * @example await groups.leaveGroup({ groupId, memberId: '', members: [{ memberId, groupInstanceId: null }] }, 5)
   */
  async leaveGroup(request: LeaveGroupRequest, version: number): Promise<LeaveGroupResponse> {
    const { errorCode, members } = await this.transact(request.groupId, (state, _exists, now) => {
      const d = leave(state, request, version, now, this.config);
      return { state: d.state, result: d };
    });
    return { throttleTimeMs: 0, errorCode, members };
  }

  /**
   * OffsetCommit (v2-9): into the same committed offsets as the HTTP API and the SDK, fenced by the
   * Kafka generation in the same DynamoDB transaction (see offsets.ts).
   *
   * @example await groups.offsetCommit({ groupId, generationIdOrMemberEpoch: 3, memberId, groupInstanceId: null, topics }, 9)
   */
  offsetCommit(request: OffsetCommitRequest, _version: number): Promise<OffsetCommitResponse> {
    return commitOffsets(request, {
      store: this.store,
      engine: this.engine,
      fence: (generation, memberId, check) =>
        this.transact(request.groupId, (state, exists) => ({
          state,
          result: check(state, exists, generation, memberId),
        })),
    });
  }

  /**
   * OffsetFetch (v1-9; v8+ several groups): the group's committed offsets, as `Streambed.fetchOffsets`
   * returns them (-1 where none).
   *
   * @example await groups.offsetFetch({ groupId: 'billing', topics: null, groups: [], requireStable: false }, 7)
   */
  offsetFetch(request: OffsetFetchRequest, version: number): Promise<OffsetFetchResponse> {
    return offsetFetch(this.engine, request, version);
  }

  /**
   * DescribeGroups (v0-5). A group no Kafka client joined is 'Empty' if it has committed offsets over
   * another door, else 'Dead', as Kafka answers for an unknown group.
   *
   * @example (await groups.describeGroups({ groups: ['billing'], includeAuthorizedOperations: false }, 5)).groups[0].groupState
   */
  async describeGroups(request: DescribeGroupsRequest, _version: number): Promise<DescribeGroupsResponse> {
    const others = new Set(await this.engine.listGroups());
    const groups = await Promise.all(
      request.groups.map((group) =>
        this.transact(group, (state, exists) => ({
          state,
          result: describe(state, exists || others.has(group)),
        })),
      ),
    );
    return { throttleTimeMs: 0, groups };
  }

  /**
   * ListGroups (v0-5): Kafka groups with their state, and groups that only committed offsets over
   * another door (protocol type '', Empty). `statesFilter` (v4+) and `typesFilter` (v5+) apply.
   *
   * @example (await groups.listGroups({ statesFilter: ['Stable'], typesFilter: [] }, 5)).groups
   */
  async listGroups(request: ListGroupsRequest, _version: number): Promise<ListGroupsResponse> {
    const [kafka, others] = await Promise.all([this.store.list(), this.engine.listGroups()]);
    const known = new Set(kafka.map((g) => g.group));
    const now = this.clock.now();
    const all = [
      ...kafka.map((stored) => {
        // Up to date as of now (a group whose members all expired is Empty), in memory only: the next
        // request that touches the group writes the transition.
        const g = advance(fromStored(stored.group, stored), now, this.config);
        return {
          groupId: g.group,
          protocolType: g.protocolType ?? '',
          groupState: g.phase,
          groupType: 'classic',
        };
      }),
      ...others
        .filter((g) => !known.has(g))
        .map((g) => ({ groupId: g, protocolType: '', groupState: 'Empty', groupType: 'classic' })),
    ];
    const states = request.statesFilter.map((s) => s.toLowerCase());
    const types = request.typesFilter.map((t) => t.toLowerCase());
    const groups = all
      .filter((g) => states.length === 0 || states.includes(g.groupState.toLowerCase()))
      .filter((g) => types.length === 0 || types.includes(g.groupType))
      .sort((a, b) => a.groupId.localeCompare(b.groupId));
    return { throttleTimeMs: 0, errorCode: GroupErrorCode.NONE, groups };
  }
}
