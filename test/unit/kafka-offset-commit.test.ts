import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ThrottledError } from '../../lib/core/errors.ts';
import type { KafkaGroupCoordinator } from '../../lib/kafka/groups/coordinator.ts';
import type { OffsetCommitRequest } from '../../lib/kafka/groups/index.ts';
import { MAX_PARTITIONS_PER_FENCED_COMMIT } from '../../lib/kafka/groups/offsets.ts';
import { offsetCommit } from '../../lib/kafka/server/apis/offset-commit.ts';
import type { HandlerContext } from '../../lib/kafka/server/context.ts';

/**
 * A coordinator that commits every partition it is given, except that a call holding a partition in
 * `failing` throws (after nothing of that call landed, as one fenced transaction fails whole).
 */
function coordinator(failing: ReadonlySet<string>) {
  const landed: string[] = [];
  const calls: number[] = [];
  const groups = {
    offsetCommit: async (request: OffsetCommitRequest) => {
      const keys = request.topics.flatMap((t) => t.partitions.map((p) => `${t.name}-${p.partitionIndex}`));
      calls.push(keys.length);
      if (keys.some((k) => failing.has(k))) throw new ThrottledError('DynamoDB is throttling; retry');
      landed.push(...keys);
      return {
        throttleTimeMs: 0,
        topics: request.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: 0 })),
        })),
      };
    },
  } as unknown as KafkaGroupCoordinator;
  return { ctx: { groups } as unknown as HandlerContext, landed, calls };
}

const request = (topics: [string, number][]) => ({
  groupId: 'billing',
  generationIdOrMemberEpoch: 3,
  memberId: 'm',
  groupInstanceId: null,
  topics: topics.map(([name, count]) => ({
    name,
    partitions: Array.from({ length: count }, (_, i) => ({
      partitionIndex: i,
      committedOffset: 10n,
      committedMetadata: null,
    })),
  })),
});

type Answer = { topics: { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[] };
const codes = (answer: Answer) =>
  answer.topics.map((t) => [t.name, [...new Set(t.partitions.map((p) => p.errorCode))]]);

describe('OffsetCommit of several transaction-sized chunks', () => {
  test('when a later topic fails after an earlier one landed, the landed partitions answer NONE and only the failed ones the error', async () => {
    const { ctx, landed } = coordinator(new Set(['invoices-0']));
    const answer = (await offsetCommit.handle(
      request([
        ['orders', 3],
        ['invoices', 2],
      ]),
      9,
      ctx,
    )) as Answer;
    assert.deepEqual(codes(answer), [
      ['orders', [0]],
      ['invoices', [7]],
    ]);
    assert.deepEqual(landed, ['orders-0', 'orders-1', 'orders-2']);
  });

  test(`one topic of more than ${MAX_PARTITIONS_PER_FENCED_COMMIT} partitions: the chunk that landed answers NONE, the failed chunk its error`, async () => {
    const total = MAX_PARTITIONS_PER_FENCED_COMMIT + 5;
    const { ctx, calls } = coordinator(new Set([`orders-${total - 1}`]));
    const answer = (await offsetCommit.handle(request([['orders', total]]), 9, ctx)) as Answer;
    const partitions = answer.topics[0]?.partitions ?? [];
    assert.deepEqual(
      partitions.map((p) => p.partitionIndex),
      Array.from({ length: total }, (_, i) => i),
    );
    assert.ok(partitions.slice(0, MAX_PARTITIONS_PER_FENCED_COMMIT).every((p) => p.errorCode === 0));
    assert.ok(partitions.slice(MAX_PARTITIONS_PER_FENCED_COMMIT).every((p) => p.errorCode === 7));
    assert.deepEqual(calls, [MAX_PARTITIONS_PER_FENCED_COMMIT, 5]);
  });

  test('a commit of one chunk (the usual) is one call; its failure is answered on each of its partitions', async () => {
    const { ctx, calls } = coordinator(new Set(['orders-1']));
    const answer = (await offsetCommit.handle(request([['orders', 3]]), 9, ctx)) as Answer;
    assert.deepEqual(codes(answer), [['orders', [7]]]);
    assert.deepEqual(calls, [3]);
  });
});
