import { InvalidArgumentError, StaleGenerationError, UnknownTopicError } from '../../core/errors.ts';
import type { KafkaGroupStore } from '../../core/ports.ts';
import type { Streambed } from '../../engine/streambed.ts';
import { GroupBusyError, GroupErrorCode } from './errors.ts';
import { validGroupId } from './join.ts';
import { commitRefusal } from './members.ts';
import type {
  FetchedTopic,
  OffsetCommitRequest,
  OffsetCommitResponse,
  OffsetFetchRequest,
  OffsetFetchResponse,
} from './messages.ts';

/** What the group APIs need of the engine: the same calls every other front door makes. */
export type GroupEngine = Pick<Streambed, 'describeTopic' | 'fetchOffsets' | 'listTopics' | 'listGroups'>;

/** The engine's limit on a committed offset's metadata (lib/engine/groups.ts). */
export const MAX_OFFSET_METADATA = 4096;
/** TransactWriteItems holds 100 actions: the fence check and 99 offsets. */
export const MAX_PARTITIONS_PER_FENCED_COMMIT = 99;
const MAX_ATTEMPTS = 16;

export interface CommitDeps {
  readonly store: KafkaGroupStore;
  readonly engine: GroupEngine;
  /**
   * Reads the group, brings it up to now (storing expiry), and returns `check`'s verdict on it: the
   * coordinator's transaction over the stored state.
   */
  fence(generation: number, memberId: string, check: typeof commitRefusal): Promise<number>;
}

interface Resolved {
  readonly name: string;
  readonly topicId: string;
  readonly offsets: { partition: number; offset: number; metadata: string }[];
}

/**
 * Kafka's OffsetCommit into Streambed's committed offsets of the group: per partition, UNKNOWN_TOPIC_OR_PARTITION,
 * OFFSET_METADATA_TOO_LARGE (> 4096 characters, the engine's limit) or INVALID_COMMIT_OFFSET_SIZE
 * (not an offset); the rest is committed only while the group is at the request's generation with
 * the member (generation -1: while it has no members), checked in the same transaction as the
 * writes (KafkaGroupStore.commitFenced). When the check fails the group is read again and the
 * request refused with Kafka's code for what changed (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID,
 * REBALANCE_IN_PROGRESS). More than 99 partitions of a topic are several transactions, each fenced.
 *
 * @example await commitOffsets(request, { store, engine, fence })
 */
export async function commitOffsets(
  request: OffsetCommitRequest,
  deps: CommitDeps,
): Promise<OffsetCommitResponse> {
  const codes = new Map<string, number>();
  const key = (topic: string, partition: number) => `${partition}@${topic}`;
  const resolved: Resolved[] = [];
  const validGroup = validGroupId(request.groupId);
  for (const topic of request.topics) {
    let record: { id: string; partitions: number } | undefined;
    if (validGroup) {
      try {
        record = await deps.engine.describeTopic(topic.name);
      } catch (error) {
        if (!(error instanceof UnknownTopicError || error instanceof InvalidArgumentError)) throw error;
      }
    }
    const offsets = new Map<number, { partition: number; offset: number; metadata: string }>();
    for (const p of topic.partitions) {
      const offset = Number(p.committedOffset);
      const metadata = p.committedMetadata ?? '';
      let code: number = GroupErrorCode.NONE;
      if (!validGroup) code = GroupErrorCode.INVALID_GROUP_ID;
      else if (record === undefined || !(p.partitionIndex >= 0 && p.partitionIndex < record.partitions)) {
        code = GroupErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      } else if (metadata.length > MAX_OFFSET_METADATA) code = GroupErrorCode.OFFSET_METADATA_TOO_LARGE;
      else if (!Number.isSafeInteger(offset) || offset < 0) code = GroupErrorCode.INVALID_COMMIT_OFFSET_SIZE;
      else offsets.set(p.partitionIndex, { partition: p.partitionIndex, offset, metadata });
      codes.set(key(topic.name, p.partitionIndex), code);
    }
    if (record !== undefined && offsets.size > 0) {
      resolved.push({ name: topic.name, topicId: record.id, offsets: [...offsets.values()] });
    }
  }
  const setAll = (offsets: readonly { partition: number }[], topic: string, code: number) => {
    for (const o of offsets) codes.set(key(topic, o.partition), code);
  };
  const fence = {
    group: request.groupId,
    generation: request.generationIdOrMemberEpoch,
    memberId: request.memberId,
  };
  let done = resolved.length === 0;
  for (let attempt = 0; !done && attempt < MAX_ATTEMPTS; attempt++) {
    const refused = await deps.fence(fence.generation, fence.memberId, commitRefusal);
    if (refused !== GroupErrorCode.NONE) {
      for (const t of resolved) setAll(t.offsets, t.name, refused);
      done = true;
      break;
    }
    done = true;
    for (const t of resolved) {
      for (let i = 0; done && i < t.offsets.length; i += MAX_PARTITIONS_PER_FENCED_COMMIT) {
        const chunk = t.offsets.slice(i, i + MAX_PARTITIONS_PER_FENCED_COMMIT);
        try {
          // false: the group changed since it was checked; check again (and commit again: idempotent).
          if (!(await deps.store.commitFenced(fence, t.name, t.topicId, chunk))) done = false;
        } catch (error) {
          if (!(error instanceof StaleGenerationError)) throw error;
          setAll(chunk, t.name, GroupErrorCode.ILLEGAL_GENERATION);
        }
      }
      if (!done) break;
    }
  }
  if (!done)
    throw new GroupBusyError(`group '${request.groupId}' kept changing while committing offsets; try again`);
  return {
    throttleTimeMs: 0,
    topics: request.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p.partitionIndex,
        errorCode: codes.get(key(t.name, p.partitionIndex)) ?? GroupErrorCode.NONE,
      })),
    })),
  };
}

/** One group's committed offsets of the requested topics (null: every topic it has offsets of). */
async function fetchGroup(
  engine: GroupEngine,
  group: string,
  topics: readonly { readonly name: string; readonly partitionIndexes: readonly number[] }[] | null,
): Promise<FetchedTopic[]> {
  const committed = async (topic: string) => {
    try {
      return await engine.fetchOffsets(group, topic);
    } catch (error) {
      if (error instanceof UnknownTopicError || error instanceof InvalidArgumentError) return [];
      throw error;
    }
  };
  const fetched = (offset: number, metadata: string | null) => ({
    committedOffset: BigInt(offset),
    committedLeaderEpoch: -1,
    metadata,
    errorCode: GroupErrorCode.NONE,
  });
  if (topics === null) {
    // No engine call lists a group's topics: every topic is asked (one query each).
    const all = await engine.listTopics();
    const out = await Promise.all(
      all.map(async (t) => ({
        name: t.name,
        partitions: (await committed(t.name)).map((c) => ({
          partitionIndex: c.partition,
          ...fetched(c.offset, c.metadata),
        })),
      })),
    );
    return out.filter((t) => t.partitions.length > 0);
  }
  return Promise.all(
    topics.map(async (t) => {
      const byPartition = new Map((await committed(t.name)).map((c) => [c.partition, c]));
      return {
        name: t.name,
        partitions: t.partitionIndexes.map((p) => {
          const c = byPartition.get(p);
          return {
            partitionIndex: p,
            ...(c === undefined ? fetched(-1, '') : fetched(c.offset, c.metadata)),
          };
        }),
      };
    }),
  );
}

/**
 * Kafka's OffsetFetch from Streambed's committed offsets: offset -1 (and metadata '') where the group
 * has none, as Kafka; an unknown topic or group has none.
 *
 * @example await offsetFetch(engine, { groupId: 'billing', topics: [{ name: 'orders', partitionIndexes: [0] }], groups: [], requireStable: false }, 7)
 */
export async function offsetFetch(
  engine: GroupEngine,
  request: OffsetFetchRequest,
  version: number,
): Promise<OffsetFetchResponse> {
  if (version >= 8) {
    const groups = await Promise.all(
      request.groups.map(async (g) => ({
        groupId: g.groupId,
        topics: await fetchGroup(engine, g.groupId, g.topics),
        errorCode: GroupErrorCode.NONE,
      })),
    );
    return { throttleTimeMs: 0, topics: [], errorCode: GroupErrorCode.NONE, groups };
  }
  const topics = await fetchGroup(engine, request.groupId, request.topics);
  return { throttleTimeMs: 0, topics, errorCode: GroupErrorCode.NONE, groups: [] };
}
