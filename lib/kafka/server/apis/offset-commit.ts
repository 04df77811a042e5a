import type { OffsetCommitRequest, OffsetCommitResponse } from '../../groups/index.ts';
import { MAX_PARTITIONS_PER_FENCED_COMMIT } from '../../groups/offsets.ts';
import { ApiKey } from '../../protocol/api.ts';
import type { HandlerContext, KafkaApiHandler } from '../context.ts';
import { toKafkaError } from '../error-codes.ts';
import { coordinatorOf } from '../groups.ts';

type CommitTopic = OffsetCommitRequest['topics'][number];
type TopicResult = OffsetCommitResponse['topics'][number];

/**
 * OffsetCommit (key 8), v2-9 (v0-1 are ZooKeeper-era and unused by current clients): into the same
 * committed offsets the HTTP API and the SDK read, fenced by the Kafka generation.
 *
 * The coordinator writes a commit in fenced transactions of at most
 * {@link MAX_PARTITIONS_PER_FENCED_COMMIT} partitions of one topic. So that every partition reports
 * its own outcome — a chunk that landed NONE even when a later one failed — a request of several such
 * chunks is committed chunk by chunk, each a request of its own: a chunk whose commit throws answers
 * that error on its own partitions only (the response has no top-level error code). A request of one
 * chunk (the usual: one topic) is one call, as before.
 *
 * @example offsetCommit.handle({ groupId: 'billing', generationIdOrMemberEpoch: 3, memberId, topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 42n, ... }] }] }, 5, ctx)
 */
export const offsetCommit: KafkaApiHandler = {
  apiKey: ApiKey.OffsetCommit,
  minVersion: 2,
  maxVersion: 9,
  handle: async (request, version, ctx) => {
    const body = request as unknown as OffsetCommitRequest;
    const chunks = body.topics.map((topic) => chunksOf(topic));
    if (chunks.flat().length <= 1) return await commitChunk(ctx, body, body.topics, version);
    const topics: TopicResult[] = [];
    for (const [i, topic] of body.topics.entries()) {
      const partitions: TopicResult['partitions'][number][] = [];
      for (const chunk of chunks[i] ?? []) {
        const answered = await commitChunk(ctx, body, [chunk], version);
        partitions.push(...(answered.topics[0]?.partitions ?? []));
      }
      topics.push({ name: topic.name, partitions });
    }
    return { throttleTimeMs: 0, topics };
  },
};

/** A topic's partitions in the coordinator's transaction-sized pieces (one empty piece for none). */
function chunksOf(topic: CommitTopic): CommitTopic[] {
  const out: CommitTopic[] = [];
  for (let i = 0; i < topic.partitions.length; i += MAX_PARTITIONS_PER_FENCED_COMMIT) {
    out.push({ ...topic, partitions: topic.partitions.slice(i, i + MAX_PARTITIONS_PER_FENCED_COMMIT) });
  }
  return out.length === 0 ? [topic] : out;
}

/** Commits `topics` of the request; a failure is answered on each of their partitions. */
async function commitChunk(
  ctx: HandlerContext,
  body: OffsetCommitRequest,
  topics: readonly CommitTopic[],
  version: number,
): Promise<OffsetCommitResponse> {
  try {
    return await coordinatorOf(ctx).offsetCommit({ ...body, topics }, version);
  } catch (error) {
    const { errorCode } = toKafkaError(error);
    return {
      throttleTimeMs: 0,
      topics: topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })),
      })),
    };
  }
}
