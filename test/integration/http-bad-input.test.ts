import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { localClients } from '../../lib/adapters/clients.ts';
import { call, localApi } from '../support/http.ts';

interface Case {
  readonly name: string;
  readonly method: string;
  readonly path: string;
  readonly json?: unknown;
  readonly raw?: string | Buffer;
  readonly contentType?: string | null;
  readonly status: number;
  readonly code: string;
  /** A part of the message (the field it names). */
  readonly mentions?: string;
}

const record = { value: 'ok' };
const big = 'x'.repeat(200);

const CASES: Case[] = [
  {
    name: 'malformed JSON',
    method: 'POST',
    path: '/topics/t/records',
    raw: '{"records":[',
    contentType: 'application/json',
    status: 400,
    code: 'InvalidArgument',
    mentions: 'JSON',
  },
  {
    name: 'empty body',
    method: 'POST',
    path: '/topics/t/records',
    raw: '',
    contentType: 'application/json',
    status: 400,
    code: 'InvalidArgument',
    mentions: 'body',
  },
  {
    name: 'wrong content type',
    method: 'POST',
    path: '/topics/t/records',
    raw: JSON.stringify({ records: [record] }),
    contentType: 'text/plain',
    status: 415,
    code: 'UnsupportedMediaType',
  },
  {
    name: 'no content type',
    method: 'POST',
    path: '/topics',
    raw: JSON.stringify({ name: 'n', partitions: 1 }),
    contentType: null,
    status: 415,
    code: 'UnsupportedMediaType',
  },
  {
    name: 'missing records',
    method: 'POST',
    path: '/topics/t/records',
    json: {},
    status: 400,
    code: 'InvalidArgument',
    mentions: 'records',
  },
  {
    name: 'records of the wrong type',
    method: 'POST',
    path: '/topics/t/records',
    json: { records: 'x' },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'records',
  },
  {
    name: 'empty records',
    method: 'POST',
    path: '/topics/t/records',
    json: { records: [] },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'records',
  },
  {
    name: 'unknown top-level field',
    method: 'POST',
    path: '/topics/t/records',
    json: { records: [record], colour: 1 },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'colour',
  },
  {
    name: 'unknown record field',
    method: 'POST',
    path: '/topics/t/records',
    json: { records: [{ ...record, colour: 1 }] },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'records[0].colour',
  },
  {
    name: 'key of the wrong type',
    method: 'POST',
    path: '/topics/t/records',
    json: { records: [{ ...record, key: 5 }] },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'records[0].key',
  },
  {
    name: 'header value of the wrong type',
    method: 'POST',
    path: '/topics/t/records',
    json: { records: [{ ...record, headers: { a: 1 } }] },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'records[0].headers.a',
  },
  {
    name: 'negative timestamp',
    method: 'POST',
    path: '/topics/t/records',
    json: { records: [{ ...record, timestamp: -1 }] },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'timestamp',
  },
  {
    name: 'a timestamp above 2^51 - 1 (the index keeps a batch timestamp as a distance from its append time)',
    method: 'POST',
    path: '/topics/t/records',
    json: { records: [{ ...record, timestamp: 9_007_199_254_740_990 }] },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'timestamp',
  },
  {
    name: 'value and valueBase64 both given',
    method: 'POST',
    path: '/topics/t/records',
    json: { records: [{ value: 1, valueBase64: 'AA==' }] },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'valueBase64',
  },
  {
    name: 'unpadded base64',
    method: 'POST',
    path: '/topics/t/records',
    json: { records: [{ valueBase64: 'AAE' }] },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'valueBase64',
  },
  {
    name: 'neither value nor valueBase64',
    method: 'POST',
    path: '/topics/t/records',
    json: { records: [{ key: 'k' }] },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'records[0]',
  },
  {
    name: 'a record with no fields',
    method: 'POST',
    path: '/topics/t/records',
    json: { records: [record, {}] },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'records[1] must give exactly one of value and valueBase64',
  },
  {
    name: 'base64 of three characters with padding',
    method: 'POST',
    path: '/topics/t/records',
    json: { records: [{ valueBase64: '5==' }] },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'valueBase64',
  },
  {
    name: 'invalid base64',
    method: 'POST',
    path: '/topics/t/records',
    json: { records: [{ valueBase64: 'not base64!' }] },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'valueBase64',
  },
  {
    name: 'record partition out of range',
    method: 'POST',
    path: '/topics/t/records',
    json: { records: [{ ...record, partition: 2 }] },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'partition',
  },
  {
    name: 'oversized record',
    method: 'POST',
    path: '/topics/t/records',
    json: { records: [{ value: big }] },
    status: 413,
    code: 'RecordTooLarge',
    mentions: 'records[0]',
  },
  {
    name: 'oversized request',
    method: 'POST',
    path: '/topics/t/records',
    json: { records: [{ value: 'y'.repeat(5 * 1024 * 1024) }] },
    status: 413,
    code: 'RequestTooLarge',
  },
  {
    name: 'too many records',
    method: 'POST',
    path: '/topics/t/records',
    json: { records: Array.from({ length: 10_001 }, () => record) },
    status: 413,
    code: 'RequestTooLarge',
    mentions: '10000',
  },
  {
    name: 'producer id without epoch',
    method: 'POST',
    path: '/topics/t/records',
    json: { records: [record], producerId: 'p' },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'producerEpoch',
  },
  {
    name: 'one sequence for two partitions',
    method: 'POST',
    path: '/topics/t/records',
    json: {
      records: [
        { ...record, partition: 0 },
        { ...record, partition: 1 },
      ],
      producerId: 'p',
      producerEpoch: 0,
      sequence: 0,
    },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'sequence',
  },
  {
    name: 'a producer id the server never issued',
    method: 'POST',
    path: '/topics/t/records',
    json: { records: [record], producerId: '4242', producerEpoch: 0, sequence: 0 },
    status: 400,
    code: 'UnknownProducerId',
    mentions: '4242',
  },
  {
    name: 'init producer with an unknown field',
    method: 'POST',
    path: '/producers',
    json: { transactionalID: 'x' },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'transactionalID',
  },
  {
    name: 'init producer with an empty transactionalId',
    method: 'POST',
    path: '/producers',
    json: { transactionalId: '' },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'transactionalId',
  },
  {
    name: 'init producer with a transactionalId of 256 characters',
    method: 'POST',
    path: '/producers',
    json: { transactionalId: 'x'.repeat(256) },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'transactionalId',
  },
  {
    name: 'init producer with a transactionalId holding a control character',
    method: 'POST',
    path: '/producers',
    json: { transactionalId: 'a\nb' },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'transactionalId',
  },
  {
    name: 'init producer with a transactionalId holding a C1 control character',
    method: 'POST',
    path: '/producers',
    json: { transactionalId: 'a\u0085b' },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'transactionalId',
  },
  {
    name: 'init producer with a transactionalId holding a lone surrogate',
    method: 'POST',
    path: '/producers',
    json: { transactionalId: 'a\ud800b' },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'transactionalId',
  },
  {
    name: 'init producer with a transactionalId of 256 emoji',
    method: 'POST',
    path: '/producers',
    json: { transactionalId: '😀'.repeat(256) },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'transactionalId',
  },
  {
    name: 'init producer with a numeric transactionalId',
    method: 'POST',
    path: '/producers',
    json: { transactionalId: 7 },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'transactionalId',
  },
  {
    name: 'init producer with an array body',
    method: 'POST',
    path: '/producers',
    json: [],
    status: 400,
    code: 'InvalidArgument',
    mentions: 'body',
  },
  {
    name: 'init producer with a text body',
    method: 'POST',
    path: '/producers',
    raw: '{}',
    contentType: 'text/plain',
    status: 415,
    code: 'UnsupportedMediaType',
  },
  {
    name: 'produce to an unknown topic',
    method: 'POST',
    path: '/topics/nope/records',
    json: { records: [record] },
    status: 404,
    code: 'UnknownTopic',
  },
  {
    name: 'invalid topic name in the path',
    method: 'POST',
    path: '/topics/bad%20name/records',
    json: { records: [record] },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'topic',
  },
  {
    name: 'invalid topic name on create',
    method: 'POST',
    path: '/topics',
    json: { name: 'bad/name', partitions: 1 },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'name',
  },
  {
    name: 'zero partitions',
    method: 'POST',
    path: '/topics',
    json: { name: 'zero', partitions: 0 },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'partitions',
  },
  {
    name: 'partitions as a string',
    method: 'POST',
    path: '/topics',
    json: { name: 'str', partitions: '3' },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'partitions',
  },
  {
    name: 'unknown config setting',
    method: 'POST',
    path: '/topics',
    json: { name: 'cfg', partitions: 1, config: { colour: 1 } },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'colour',
  },
  {
    name: 'unknown cleanupPolicy',
    method: 'POST',
    path: '/topics',
    json: { name: 'cfg', partitions: 1, config: { cleanupPolicy: 'compacted' } },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'cleanupPolicy',
  },
  {
    name: 'minCleanableDirtyRatio above 1',
    method: 'POST',
    path: '/topics',
    json: { name: 'cfg', partitions: 1, config: { cleanupPolicy: 'compact', minCleanableDirtyRatio: 2 } },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'minCleanableDirtyRatio',
  },
  {
    name: 'negative deleteRetentionMs',
    method: 'POST',
    path: '/topics',
    json: { name: 'cfg', partitions: 1, config: { deleteRetentionMs: -5 } },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'deleteRetentionMs',
  },
  {
    name: 'a record without a key on a compacted topic',
    method: 'POST',
    path: '/topics/tc/records',
    json: { records: [{ key: 'k', value: 1 }, { value: 2 }] },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'records[1] has no key',
  },
  {
    name: 'a null valueBase64',
    method: 'POST',
    path: '/topics/tc/records',
    json: { records: [{ key: 'k', valueBase64: null }] },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'valueBase64',
  },
  {
    name: 'existing topic',
    method: 'POST',
    path: '/topics',
    json: { name: 't', partitions: 1 },
    status: 409,
    code: 'TopicAlreadyExists',
  },
  {
    name: 'describe an unknown topic',
    method: 'GET',
    path: '/topics/nope',
    status: 404,
    code: 'UnknownTopic',
  },
  {
    name: 'delete an unknown topic',
    method: 'DELETE',
    path: '/topics/nope',
    status: 404,
    code: 'UnknownTopic',
  },
  {
    name: 'DeleteRecords without before',
    method: 'DELETE',
    path: '/topics/t/partitions/0/records',
    status: 400,
    code: 'InvalidArgument',
    mentions: 'before',
  },
  {
    name: 'DeleteRecords with a non-numeric before',
    method: 'DELETE',
    path: '/topics/t/partitions/0/records?before=abc',
    status: 400,
    code: 'InvalidArgument',
    mentions: 'before',
  },
  {
    name: 'DeleteRecords with before below -1',
    method: 'DELETE',
    path: '/topics/t/partitions/0/records?before=-2',
    status: 400,
    code: 'InvalidArgument',
    mentions: 'before',
  },
  {
    name: 'DeleteRecords with before above 2^53 - 1',
    method: 'DELETE',
    path: '/topics/t/partitions/0/records?before=72762207099229051527073',
    status: 400,
    code: 'InvalidArgument',
    mentions: 'before',
  },
  {
    name: 'DeleteRecords above the high watermark',
    method: 'DELETE',
    path: '/topics/t/partitions/0/records?before=5',
    status: 416,
    code: 'OffsetOutOfRange',
    mentions: 'above the high watermark 1',
  },
  {
    name: 'DeleteRecords on an unknown partition',
    method: 'DELETE',
    path: '/topics/t/partitions/9/records?before=0',
    status: 404,
    code: 'UnknownPartition',
  },
  {
    name: 'DeleteRecords on an unknown topic',
    method: 'DELETE',
    path: '/topics/nope/partitions/0/records?before=0',
    status: 404,
    code: 'UnknownTopic',
  },
  {
    name: 'negative offset',
    method: 'GET',
    path: '/topics/t/partitions/0/records?offset=-1',
    status: 400,
    code: 'InvalidArgument',
    mentions: 'offset',
  },
  {
    name: 'non-numeric offset',
    method: 'GET',
    path: '/topics/t/partitions/0/records?offset=abc',
    status: 400,
    code: 'InvalidArgument',
    mentions: 'offset',
  },
  {
    name: 'missing offset',
    method: 'GET',
    path: '/topics/t/partitions/0/records',
    status: 400,
    code: 'InvalidArgument',
    mentions: 'offset',
  },
  {
    name: 'fractional offset',
    method: 'GET',
    path: '/topics/t/partitions/0/records?offset=1.5',
    status: 400,
    code: 'InvalidArgument',
    mentions: 'offset',
  },
  {
    name: 'maxBytes over the limit',
    method: 'GET',
    path: '/topics/t/partitions/0/records?offset=0&maxBytes=999999999',
    status: 400,
    code: 'InvalidArgument',
    mentions: 'maxBytes',
  },
  {
    name: 'maxRecords of zero',
    method: 'GET',
    path: '/topics/t/partitions/0/records?offset=0&maxRecords=0',
    status: 400,
    code: 'InvalidArgument',
    mentions: 'maxRecords',
  },
  {
    name: 'maxRecords above 10000',
    method: 'GET',
    path: '/topics/t/partitions/0/records?offset=0&maxRecords=10001',
    status: 400,
    code: 'InvalidArgument',
    mentions: 'maxRecords',
  },
  {
    name: 'offset above 2^53 - 1',
    method: 'GET',
    path: '/topics/t/partitions/0/records?offset=9007199254740992',
    status: 400,
    code: 'InvalidArgument',
    mentions: 'offset',
  },
  {
    name: 'non-numeric partition',
    method: 'GET',
    path: '/topics/t/partitions/x/records?offset=0',
    status: 400,
    code: 'InvalidArgument',
    mentions: 'partition',
  },
  {
    name: 'partition out of range on fetch',
    method: 'GET',
    path: '/topics/t/partitions/2/records?offset=0',
    status: 404,
    code: 'UnknownPartition',
  },
  {
    name: 'fetch from an unknown topic',
    method: 'GET',
    path: '/topics/nope/partitions/0/records?offset=0',
    status: 404,
    code: 'UnknownTopic',
  },
  {
    name: 'bad list-offsets spec',
    method: 'GET',
    path: '/topics/t/partitions/0/offsets?at=yesterday',
    status: 400,
    code: 'InvalidArgument',
    mentions: 'at',
  },
  {
    name: 'list offsets at a timestamp above 2^53 - 1',
    method: 'GET',
    path: '/topics/t/partitions/0/offsets?at=9007199254740992',
    status: 400,
    code: 'InvalidArgument',
    mentions: 'at',
  },
  {
    name: 'list offsets of an unknown partition',
    method: 'GET',
    path: '/topics/t/partitions/7/offsets?at=latest',
    status: 404,
    code: 'UnknownPartition',
  },
  {
    name: 'invalid group name',
    method: 'PUT',
    path: '/groups/bad%20group/offsets',
    json: { topic: 't', offsets: [{ partition: 0, offset: 1 }] },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'group',
  },
  {
    name: 'commit a negative offset',
    method: 'PUT',
    path: '/groups/g/offsets',
    json: { topic: 't', offsets: [{ partition: 0, offset: -1 }] },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'offsets[0].offset',
  },
  {
    name: 'commit to an unknown partition',
    method: 'PUT',
    path: '/groups/g/offsets',
    json: { topic: 't', offsets: [{ partition: 5, offset: 1 }] },
    status: 404,
    code: 'UnknownPartition',
  },
  {
    name: 'commit to an unknown topic',
    method: 'PUT',
    path: '/groups/g/offsets',
    json: { topic: 'nope', offsets: [{ partition: 0, offset: 1 }] },
    status: 404,
    code: 'UnknownTopic',
  },
  {
    name: 'commit with no offsets',
    method: 'PUT',
    path: '/groups/g/offsets',
    json: { topic: 't', offsets: [] },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'offsets',
  },
  {
    name: 'commit with an unknown field',
    method: 'PUT',
    path: '/groups/g/offsets',
    json: { topic: 't', offsets: [{ partition: 0, offset: 1, extra: true }] },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'extra',
  },
  {
    name: 'commit with a partition listed twice',
    method: 'PUT',
    path: '/groups/g/offsets',
    json: {
      topic: 't',
      offsets: [
        { partition: 0, offset: 1 },
        { partition: 0, offset: 2 },
      ],
    },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'offsets[1].partition 0 appears twice',
  },
  {
    name: 'commit of more than 100 partitions',
    method: 'PUT',
    path: '/groups/g/offsets',
    json: { topic: 't', offsets: Array.from({ length: 101 }, (_, partition) => ({ partition, offset: 0 })) },
    status: 400,
    code: 'InvalidArgument',
    mentions: 'offsets',
  },
  {
    name: 'stale generation',
    method: 'PUT',
    path: '/groups/fenced/offsets',
    json: { topic: 't', offsets: [{ partition: 0, offset: 1 }], generation: 1 },
    status: 409,
    code: 'StaleGeneration',
  },
  {
    name: 'group offsets without a topic',
    method: 'GET',
    path: '/groups/fenced/offsets',
    status: 400,
    code: 'InvalidArgument',
    mentions: 'topic',
  },
  {
    name: 'offsets of an unknown group',
    method: 'GET',
    path: '/groups/nobody/offsets?topic=t',
    status: 404,
    code: 'UnknownGroup',
  },
  ...resetCases(),
];

/** Resets of group 'fenced' (committed offsets in the snapshot) that must change nothing. */
function resetCases(): Case[] {
  const reset = (
    name: string,
    json: unknown,
    status: number,
    code: string,
    mentions?: string,
    group = 'fenced',
  ): Case => ({
    name: `reset: ${name}`,
    method: 'POST',
    path: `/groups/${group}/offsets/reset`,
    json,
    status,
    code,
    ...(mentions === undefined ? {} : { mentions }),
  });
  return [
    reset('unknown topic', { topic: 'nope', to: 'earliest' }, 404, 'UnknownTopic'),
    reset('unknown partition', { topic: 't', to: 'earliest', partitions: [0, 7] }, 404, 'UnknownPartition'),
    reset('no topic', { to: 'earliest' }, 400, 'InvalidArgument', 'body.topic'),
    reset('no target', { topic: 't' }, 400, 'InvalidArgument', 'body.to'),
    reset('an unknown target', { topic: 't', to: 'middle' }, 400, 'InvalidArgument', 'body.to'),
    reset(
      'both offset and timestamp',
      { topic: 't', to: { offset: 1, timestamp: 5 } },
      400,
      'InvalidArgument',
      'body.to',
    ),
    reset('a negative offset', { topic: 't', to: { offset: -1 } }, 400, 'InvalidArgument', 'body.to'),
    reset(
      'a timestamp as text',
      { topic: 't', to: { timestamp: '2026' } },
      400,
      'InvalidArgument',
      'body.to',
    ),
    reset('an unknown field', { topic: 't', to: 'latest', extra: 1 }, 400, 'InvalidArgument', 'extra'),
    reset('force as text', { topic: 't', to: 'latest', force: 'yes' }, 400, 'InvalidArgument', 'body.force'),
    reset(
      'no partitions',
      { topic: 't', to: 'latest', partitions: [] },
      400,
      'InvalidArgument',
      'partitions',
    ),
    reset(
      'a partition twice',
      { topic: 't', to: 'latest', partitions: [1, 1] },
      400,
      'InvalidArgument',
      'partitions',
    ),
    reset('a bad group name', { topic: 't', to: 'latest' }, 400, 'InvalidArgument', 'group', 'bad%20group'),
    reset('an active member', { topic: 't', to: 'earliest' }, 409, 'GroupActive', 'busy-member', 'busy'),
    reset(
      'a dry run with an active member',
      { topic: 't', to: 'earliest', dryRun: true },
      409,
      'GroupActive',
      undefined,
      'busy',
    ),
  ];
}

describe('bad input over HTTP: the right status and code, and nothing changes', () => {
  let api: Awaited<ReturnType<typeof localApi>>;
  let snapshot: () => Promise<string>;
  let dynamodb: DynamoDBClient;
  before(async () => {
    api = await localApi();
    ({ dynamodb } = localClients(api.endpoints));
    /** Issued producer ids and transactional ids (POST /producers has no read route). */
    const registrations = async (pk: string) =>
      (
        await dynamodb.send(
          new QueryCommand({
            TableName: api.tables.meta,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': { S: pk } },
            ConsistentRead: true,
          }),
        )
      ).Items?.length;
    const setup = [
      call(api.url, 'POST', '/topics', {
        json: { name: 't', partitions: 2, config: { maxRecordBytes: 100 } },
      }),
      call(api.url, 'POST', '/topics', {
        json: { name: 'tc', partitions: 1, config: { cleanupPolicy: 'compact' } },
      }),
    ];
    await Promise.all(setup);
    await call(api.url, 'POST', '/topics/t/records', {
      json: { records: [{ value: 'first', partition: 0 }] },
    });
    await call(api.url, 'PUT', '/groups/fenced/offsets', {
      json: { topic: 't', offsets: [{ partition: 0, offset: 1 }], generation: 5 },
    });
    await call(api.url, 'POST', '/groups/busy/members', {
      json: { topic: 't', memberId: 'busy-member', sessionTimeoutMs: 300_000 },
    });
    await call(api.url, 'PUT', '/groups/busy/offsets', {
      json: { topic: 't', offsets: [{ partition: 1, offset: 0 }] },
    });
    snapshot = async () =>
      JSON.stringify([
        (await call(api.url, 'GET', '/topics')).body,
        (await call(api.url, 'GET', '/topics/t')).body,
        (await call(api.url, 'GET', '/topics/t/partitions/0/records?offset=0')).body,
        (await call(api.url, 'GET', '/topics/tc/partitions/0/records?offset=0')).body,
        (await call(api.url, 'GET', '/groups')).body,
        (await call(api.url, 'GET', '/groups/fenced/offsets?topic=t')).body.offsets.map(
          (o: { partition: number; offset: number; generation: number }) => [
            o.partition,
            o.offset,
            o.generation,
          ],
        ),
        (await call(api.url, 'GET', '/groups/busy/offsets?topic=t')).body.offsets.map(
          (o: { partition: number; offset: number; generation: number }) => [
            o.partition,
            o.offset,
            o.generation,
          ],
        ),
        await registrations('producer'),
        await registrations('txn'),
      ]);
  });
  after(async () => {
    dynamodb.destroy();
    await api.close();
  });

  for (const c of CASES) {
    test(`${c.name} → ${c.status} ${c.code}, nothing stored`, async () => {
      const before = await snapshot();
      const reply = await call(api.url, c.method, c.path, {
        ...(c.json === undefined ? {} : { json: c.json }),
        ...(c.raw === undefined ? {} : { raw: c.raw }),
        ...(c.contentType === undefined ? {} : { contentType: c.contentType }),
      });
      assert.equal(reply.status, c.status, JSON.stringify(reply.body));
      assert.equal(reply.body.error.code, c.code);
      if (c.mentions !== undefined)
        assert.ok(reply.body.error.message.includes(c.mentions), reply.body.error.message);
      assert.equal(await snapshot(), before);
    });
  }

  test('unknown routes are 404 and wrong methods 405, in the error format', async () => {
    const missing = await fetch(`${api.url}/nowhere`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'NotFound');
    const wrong = await fetch(`${api.url}/topics`, { method: 'PATCH' });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'GET, POST');
    assert.equal(((await wrong.json()) as { error: { code: string } }).error.code, 'MethodNotAllowed');
    const options = await fetch(`${api.url}/topics/t/partitions/0/records`, { method: 'OPTIONS' });
    assert.deepEqual([options.status, options.headers.get('allow')], [405, 'DELETE, GET']);
  });
});
