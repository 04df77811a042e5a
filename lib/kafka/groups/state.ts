import type { StoredKafkaGroup } from '../../core/ports.ts';

/*
 * A Kafka consumer group's state, as the coordinator decides on it and stores it (one DynamoDB item
 * per group, see lib/adapters/dynamodb/kafka-groups.ts):
 *
 *   Empty ──join──▶ PreparingRebalance ──barrier closes──▶ CompletingRebalance ──leader syncs──▶ Stable
 *                        ▲   (all members rejoined, or the         │                              │
 *                        │    rebalance deadline passed)           │ join (new member or leader), │
 *                        └─────────────────────────────────────────┴─ leave, session expiry ──────┘
 *
 * Bytes (protocol metadata, assignments) are kept base64 in the JSON `data` attribute.
 */

/** Kafka's classic group states (DescribeGroups/ListGroups show these names). */
export type GroupPhase = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable';

/** One protocol a member supports: its name (e.g. 'range') and metadata (base64). */
export interface MemberProtocol {
  readonly name: string;
  readonly metadata: string;
}

export interface GroupMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  /** The last heartbeat (or join, sync, leave of another) that kept it alive, ms since the epoch. */
  readonly heartbeatAt: number;
  readonly protocols: readonly MemberProtocol[];
  /** Its assignment of the current generation (base64), '' until the leader has synced. */
  readonly assignment: string;
  /** It has (re)joined the rebalance in progress. */
  readonly awaitingJoin: boolean;
  /** The generation whose join it took part in (-1: none yet). */
  readonly joinedGeneration: number;
}

/** A member id handed out with MEMBER_ID_REQUIRED and not used yet. */
export interface PendingMember {
  readonly memberId: string;
  readonly expiresAt: number;
}

export interface GroupState {
  readonly group: string;
  readonly phase: GroupPhase;
  readonly generation: number;
  /** e.g. 'consumer'; null while the group has never had members. */
  readonly protocolType: string | null;
  /** The protocol chosen for the generation (e.g. 'range'); null when Empty. */
  readonly protocolName: string | null;
  readonly leader: string | null;
  /** In join order: the first is the leader unless the leader stays. */
  readonly members: readonly GroupMember[];
  readonly pending: readonly PendingMember[];
  /** PreparingRebalance: the join barrier closes at this time whoever has not rejoined. */
  readonly joinDeadline: number;
  /** PreparingRebalance: the barrier does not close before this (Kafka's initial rebalance delay). */
  readonly joinNotBefore: number;
}

/** The coordinator's limits; Kafka's broker settings where there is one. */
export interface GroupConfig {
  /** Kafka's group.min.session.timeout.ms. @default 6_000 */
  readonly minSessionTimeoutMs: number;
  /** Kafka's group.max.session.timeout.ms. @default 1_800_000 */
  readonly maxSessionTimeoutMs: number;
  /** Kafka's group.initial.rebalance.delay.ms: how long a new group waits for more members. @default 3_000 */
  readonly initialRebalanceDelayMs: number;
  /** Kafka's group.max.size, bounded by the item size. @default 256 */
  readonly maxMembers: number;
  /** The largest encoded state (`data`) stored; see {@link MAX_GROUP_STATE_BYTES}. */
  readonly maxStateBytes: number;
}

/**
 * The bound of a group's encoded state. DynamoDB items hold at most 400 KB (409,600 bytes, names and
 * values). The item is `data` (this bound) + `memberIds` (≤ maxMembers × ≤ 101-character generated
 * ids ≈ 26 KB at 256 members) + a few small attributes, so 360,000 bytes leaves room to spare. Every
 * member costs its ids, client id, host and timeouts (~300 bytes) plus its protocol metadata and
 * assignment × 4/3 (base64): 256 members with 800 bytes of metadata + assignment each fit.
 */
export const MAX_GROUP_STATE_BYTES = 360_000;

export const DEFAULT_GROUP_CONFIG: GroupConfig = {
  minSessionTimeoutMs: 6_000,
  maxSessionTimeoutMs: 1_800_000,
  initialRebalanceDelayMs: 3_000,
  maxMembers: 256,
  maxStateBytes: MAX_GROUP_STATE_BYTES,
};

/**
 * A group nobody has joined: the state of a group without an item.
 *
 * @example emptyGroup('billing').phase // 'Empty'
 */
export function emptyGroup(group: string): GroupState {
  return {
    group,
    phase: 'Empty',
    generation: 0,
    protocolType: null,
    protocolName: null,
    leader: null,
    members: [],
    pending: [],
    joinDeadline: 0,
    joinNotBefore: 0,
  };
}

type Encoded = Omit<GroupState, 'group' | 'phase' | 'generation' | 'protocolType'>;

/**
 * The encoded rest of the state (`StoredKafkaGroup.data`); its length is what the item bound counts.
 *
 * @example encodeData(emptyGroup('g')).length // a few dozen bytes
 */
export function encodeData(state: GroupState): string {
  const { group: _g, phase: _p, generation: _n, protocolType: _t, ...rest } = state;
  return JSON.stringify(rest satisfies Encoded);
}

/**
 * The stored form of a state decided on top of `version` (the write goes with `version + 1`).
 *
 * @example await store.put(toStored(next, read.version), read.version);
 */
export function toStored(state: GroupState, version: number | undefined): StoredKafkaGroup {
  return {
    group: state.group,
    version: (version ?? 0) + 1,
    generation: state.generation,
    state: state.phase,
    protocolType: state.protocolType ?? '',
    memberIds: state.members.map((m) => m.memberId),
    data: encodeData(state),
  };
}

/**
 * The state an item holds (an absent item: an empty group).
 *
 * @example fromStored('billing', await store.get('billing')).generation
 */
export function fromStored(group: string, stored: StoredKafkaGroup | undefined): GroupState {
  if (stored === undefined) return emptyGroup(group);
  const rest = JSON.parse(stored.data) as Encoded;
  return {
    ...rest,
    group,
    phase: stored.state as GroupPhase,
    generation: stored.generation,
    protocolType: stored.protocolType === '' ? null : stored.protocolType,
  };
}

const textEncoder = new TextEncoder();

/** Bytes of the encoded state (UTF-8): what counts against {@link GroupConfig.maxStateBytes}. */
export function stateBytes(state: GroupState): number {
  return textEncoder.encode(encodeData(state)).length;
}

/** Base64 of bytes, for the JSON state. */
export const toBase64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
/** Bytes of a base64 string from the JSON state. */
export const fromBase64 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64'));
