import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { HttpTransport } from '../../lib/client/http-transport.ts';
import { jsonCodec } from '../../lib/client/json-codec.ts';
import { CorruptSegmentError } from '../../lib/core/errors.ts';
import { encodeSegment } from '../../lib/core/segment/index.ts';
import { BATCH_REFS_TYPE } from '../../lib/core/wire/batch-refs.ts';
import { decodeFetchFrame, FETCH_FRAME_TYPE } from '../../lib/core/wire/fetch-frame.ts';
import { SEGMENT_TYPE } from '../../lib/core/wire/produce-headers.ts';
import { call, localApi } from '../support/http.ts';
import { logRecord } from '../support/records.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();

const rec = logRecord;

describe('binary bodies over HTTP (npm start handlers on MinIO + DynamoDB Local)', () => {
  let api: Awaited<ReturnType<typeof localApi>>;
  let url: string;
  before(async () => {
    api = await localApi();
    url = api.url;
  });
  after(async () => await api.close());

  const produceBinary = async (topic: string, body: Uint8Array, headers: Record<string, string> = {}) => {
    const response = await fetch(`${url}/topics/${topic}/records`, {
      method: 'POST',
      headers: { 'content-type': SEGMENT_TYPE, ...headers },
      body,
    });
    // biome-ignore lint/suspicious/noExplicitAny: error bodies are checked field by field
    return { status: response.status, body: (await response.json()) as any };
  };
  const fetchFrame = async (topic: string, partition: number, query: string) => {
    const response = await fetch(`${url}/topics/${topic}/partitions/${partition}/records?${query}`, {
      headers: { accept: FETCH_FRAME_TYPE },
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), FETCH_FRAME_TYPE);
    assert.equal(response.headers.get('vary'), 'accept');
    return new Uint8Array(await response.arrayBuffer());
  };
  const objectsOf = async (topic: string) => {
    const listed = await api.config.s3.send(
      new ListObjectsV2Command({ Bucket: api.config.bucket, Prefix: `topics/${topic}/` }),
    );
    return (listed.Contents ?? []).map((o) => o.Key as string);
  };
  const highWatermarks = async (topic: string) =>
    (await call(url, 'GET', `/topics/${topic}`)).body.partitionStates.map(
      (p: { highWatermark: number }) => p.highWatermark,
    );

  test('a binary produce is stored byte for byte: the object in S3 is the body; offsets come back in body order', async () => {
    await call(url, 'POST', '/topics', { json: { name: 'bin', partitions: 3 } });
    const { bytes } = encodeSegment([
      {
        partition: 2,
        compression: 'zstd',
        records: [rec('a'), rec('b', { key: new Uint8Array([0xff, 0]) })],
      },
      {
        partition: 0,
        compression: 'none',
        records: [
          rec('{"total":12}', {
            valueIsJson: true,
            headers: [
              ['h', new Uint8Array([1, 2])],
              ['h', enc.encode('x')],
            ],
          }),
        ],
      },
    ]);
    const reply = await produceBinary('bin', bytes);
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.body.offsets, [
      { partition: 2, offset: 0 },
      { partition: 2, offset: 1 },
      { partition: 0, offset: 0 },
    ]);
    const keys = await objectsOf('bin');
    assert.equal(keys.length, 1);
    const stored = await api.config.s3.send(
      new GetObjectCommand({ Bucket: api.config.bucket, Key: keys[0] }),
    );
    assert.deepEqual(
      new Uint8Array(
        await (stored.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
      ),
      bytes,
    );

    // The binary fetch gives the bytes back; JSON readers see the same records.
    const frame = decodeFetchFrame(await fetchFrame('bin', 2, 'offset=1'), { offset: 1 });
    assert.deepEqual(
      frame.records.map((r) => [r.offset, dec.decode(r.value as Uint8Array), r.key]),
      [[1, 'b', new Uint8Array([0xff, 0])]],
    );
    const json = await call(url, 'GET', '/topics/bin/partitions/0/records?offset=0');
    assert.deepEqual(json.body.records[0].value, { total: 12 });
    assert.deepEqual(json.body.records[0].headers, { h: 'x' });
  });

  test('the latest timestamp accepted (2^51 - 1) and 0 are stored, indexed and found by time', async () => {
    await call(url, 'POST', '/topics', { json: { name: 'edges', partitions: 1 } });
    const reply = await call(url, 'POST', '/topics/edges/records', {
      json: {
        records: [
          { value: 'zero', timestamp: 0 },
          { value: 'last', timestamp: 2 ** 51 - 1 },
        ],
      },
    });
    assert.equal(reply.status, 200);
    const read = await call(url, 'GET', '/topics/edges/partitions/0/records?offset=0');
    assert.deepEqual(
      read.body.records.map((r: { timestamp: number }) => r.timestamp),
      [0, 2 ** 51 - 1],
    );
    const at = await call(url, 'GET', `/topics/edges/partitions/0/offsets?at=${2 ** 51 - 1}`);
    assert.deepEqual(at.body, { offset: 1 });
  });

  test('records produced as JSON are read in binary, and the other way round, through the SDK transport', async () => {
    await call(url, 'POST', '/topics', { json: { name: 'mixed', partitions: 1 } });
    await call(url, 'POST', '/topics/mixed/records', { json: { records: [{ key: 'k', value: [1, 2] }] } });
    const binary = new HttpTransport({ endpoint: url, auth: 'none' });
    const viaJson = new HttpTransport({ endpoint: url, auth: 'none', codec: jsonCodec });
    await binary.produce({
      topic: 'mixed',
      records: [{ value: enc.encode('raw'), partition: 0, timestamp: 5, headers: [['t', enc.encode('1')]] }],
    });
    for (const transport of [binary, viaJson]) {
      const read = await transport.fetch({ topic: 'mixed', partition: 0, offset: 0 });
      assert.deepEqual(
        read.records.map((r) => [r.offset, dec.decode(r.value as Uint8Array), r.valueIsJson]),
        [
          [0, '[1,2]', true],
          [1, 'raw', false],
        ],
      );
      assert.deepEqual([read.nextOffset, read.highWatermark], [2, 2]);
    }
    await binary.close();
    await viaJson.close();
  });

  test('an idempotent binary produce retried returns the original offsets and appends nothing', async () => {
    await call(url, 'POST', '/topics', { json: { name: 'idem', partitions: 2 } });
    const issued = (await call(url, 'POST', '/producers', { json: {} })).body;
    const { bytes } = encodeSegment([
      { partition: 0, compression: 'none', records: [rec('a'), rec('b')] },
      { partition: 1, compression: 'gzip', records: [rec('c')] },
    ]);
    const headers = {
      'streambed-producer-id': issued.producerId,
      'streambed-producer-epoch': String(issued.producerEpoch),
      'streambed-sequences': '0:0,1:0',
    };
    const first = await produceBinary('idem', bytes, headers);
    const again = await produceBinary('idem', bytes, headers);
    assert.equal(first.status, 200);
    assert.deepEqual(again, first);
    assert.deepEqual(await highWatermarks('idem'), [2, 1]);
  });

  test('a batch larger than maxBytes (stored bytes, as Kafka counts them) is sent as the records asked for, re-encoded; reading on in small steps sees every record once, in order', async () => {
    await call(url, 'POST', '/topics', { json: { name: 'big', partitions: 1 } });
    const value = 'x'.repeat(1000);
    const records = Array.from({ length: 2000 }, (_, i) => rec(`${i}:${value}`));
    assert.equal(
      (await produceBinary('big', encodeSegment([{ partition: 0, compression: 'none', records }]).bytes))
        .status,
      200,
    );
    // Frames: the server slices the batch (references name it whole, as Kafka sends an oversized batch).
    const transport = new HttpTransport({ endpoint: url, auth: 'none', directReads: false });
    const seen: number[] = [];
    let offset = 0;
    while (offset < 2000) {
      const read = await transport.fetch({
        topic: 'big',
        partition: 0,
        offset,
        maxBytes: 300_000,
        maxRecords: 10_000,
      });
      assert.ok(read.records.length > 0 && read.records.length <= 300, `${read.records.length} records`);
      for (const r of read.records) {
        assert.equal(dec.decode(r.value as Uint8Array).split(':')[0], String(r.offset));
        seen.push(r.offset);
      }
      offset = read.nextOffset;
    }
    assert.deepEqual(
      seen,
      Array.from({ length: 2000 }, (_, i) => i),
    );
    const raw = await fetchFrame('big', 0, 'offset=1500&maxBytes=100000');
    assert.ok(raw.length < 110_000, `a sliced frame is ${raw.length} bytes`);
    await transport.close();
  });

  test('whatever maxBytes asks, a frame carries at most 4 MiB of whole batches and a JSON answer 3 MiB of payload; references name up to maxBytes', async () => {
    await call(url, 'POST', '/topics', { json: { name: 'wide', partitions: 1 } });
    const value = 'y'.repeat(1018);
    // Seven batches of 700 records of ~1 KiB: 0.7 MiB each, so 5 of them (3.5 MiB) fit in a 4 MiB frame.
    for (let b = 0; b < 7; b++) {
      const records = Array.from({ length: 700 }, (_, i) =>
        rec(`${String(b * 700 + i).padStart(5)}${value}`),
      );
      const body = encodeSegment([{ partition: 0, compression: 'none', records }]).bytes;
      assert.equal((await produceBinary('wide', body)).status, 200);
    }
    const frame = decodeFetchFrame(
      await fetchFrame('wide', 0, 'offset=0&maxRecords=10000&maxBytes=67108864'),
      {
        offset: 0,
      },
    );
    assert.equal(
      frame.records.length,
      3500,
      'five whole batches: 3.5 MiB in one frame, a sixth would pass 4 MiB',
    );
    assert.equal(frame.nextOffset, 3500);
    const refs = await fetch(
      `${url}/topics/wide/partitions/0/records?offset=0&maxRecords=10000&maxBytes=67108864`,
      {
        headers: { accept: BATCH_REFS_TYPE },
      },
    );
    assert.equal(
      ((await refs.json()) as { batches: unknown[] }).batches.length,
      7,
      'references name all seven',
    );
    const json = await call(
      url,
      'GET',
      '/topics/wide/partitions/0/records?offset=0&maxRecords=10000&maxBytes=67108864',
    );
    assert.equal(json.status, 200);
    const payload = json.body.records.reduce(
      (n: number, r: { valueBase64: string }) => n + Buffer.from(r.valueBase64, 'base64').length,
      0,
    );
    assert.ok(
      payload <= 3 * 1024 * 1024 && payload > 3 * 1024 * 1024 - 2048,
      `JSON payload ${payload} bytes`,
    );
    assert.equal(json.body.nextOffset, json.body.records.length);
  });

  test('bytes damaged in S3 are caught by the reader (CRC32C) as CorruptSegment, and by the JSON path as 500', async () => {
    await call(url, 'POST', '/topics', { json: { name: 'rot', partitions: 1 } });
    const { bytes } = encodeSegment([{ partition: 0, compression: 'none', records: [rec('hello world')] }]);
    await produceBinary('rot', bytes);
    const [key] = await objectsOf('rot');
    const damaged = bytes.slice();
    damaged[damaged.length - 3] = (damaged[damaged.length - 3] as number) ^ 0x20;
    await api.config.s3.send(new PutObjectCommand({ Bucket: api.config.bucket, Key: key, Body: damaged }));
    const transport = new HttpTransport({ endpoint: url, auth: 'none' });
    await assert.rejects(transport.fetch({ topic: 'rot', partition: 0, offset: 0 }), CorruptSegmentError);
    await transport.close();
    const json = await call(url, 'GET', '/topics/rot/partitions/0/records?offset=0');
    assert.deepEqual([json.status, json.body.error.code], [500, 'CorruptSegment']);
  });

  describe('bad binary bodies get a clear error and change nothing', () => {
    const good = () => encodeSegment([{ partition: 0, compression: 'none', records: [rec('a')] }]).bytes;
    const flipped = () => {
      const b = good();
      b[b.length - 1] = (b[b.length - 1] as number) ^ 1;
      return b;
    };
    const cases: Array<[string, () => Uint8Array, Record<string, string>, number, string, RegExp]> = [
      ['a CRC32C mismatch', flipped, {}, 400, 'InvalidArgument', /not a valid segment: .*CRC32C mismatch/],
      [
        'JSON text sent as a segment',
        () => enc.encode('{"records":[{"value":1}]}'),
        {},
        400,
        'InvalidArgument',
        /bad magic/,
      ],
      ['an empty body', () => new Uint8Array(), {}, 400, 'InvalidArgument', /body is required/],
      [
        'a partition the topic does not have',
        () => encodeSegment([{ partition: 7, compression: 'none', records: [rec('a')] }]).bytes,
        {},
        400,
        'InvalidArgument',
        /has partitions 0-1/,
      ],
      [
        'producer headers given in part',
        good,
        { 'streambed-producer-id': '12' },
        400,
        'InvalidArgument',
        /needs all of streambed-producer-id/,
      ],
      [
        'a producer id never issued',
        good,
        { 'streambed-producer-id': '12', 'streambed-producer-epoch': '0', 'streambed-sequences': '0:0' },
        400,
        'UnknownProducerId',
        /12/,
      ],
      [
        'a record timestamp above 2^51 - 1',
        () =>
          encodeSegment([{ partition: 0, compression: 'none', records: [rec('a', { timestamp: 2 ** 51 })] }])
            .bytes,
        {},
        400,
        'InvalidArgument',
        /record timestamp of 2251799813685248, above the latest accepted, 2251799813685247/,
      ],
      [
        'a body over 4 MiB',
        () => new Uint8Array(4 * 1024 * 1024 + 1),
        {},
        413,
        'RequestTooLarge',
        /at most 4194304 bytes/,
      ],
    ];
    for (const [what, body, headers, status, code, message] of cases) {
      test(`${what}: ${status} ${code}`, async () => {
        const name = `bad-${status}-${code.toLowerCase()}-${what.length}`;
        await call(url, 'POST', '/topics', { json: { name, partitions: 2 } });
        const reply = await produceBinary(name, body(), headers);
        assert.deepEqual([reply.status, reply.body.error.code], [status, code], JSON.stringify(reply.body));
        assert.match(reply.body.error.message, message);
        assert.deepEqual(await highWatermarks(name), [0, 0]);
        assert.deepEqual(await objectsOf(name), []);
      });
    }

    test('a segment body on a route that takes only JSON: 415 naming application/json', async () => {
      const response = await fetch(`${url}/topics`, {
        method: 'POST',
        headers: { 'content-type': SEGMENT_TYPE },
        body: good(),
      });
      const body = (await response.json()) as { error: { code: string; message: string } };
      assert.deepEqual([response.status, body.error.code], [415, 'UnsupportedMediaType']);
      assert.match(body.error.message, /must be application\/json, got application\/vnd\.streambed\.segment/);
    });

    test('producer headers with a JSON body: 400 saying they go with a segment body, nothing appended', async () => {
      await call(url, 'POST', '/topics', { json: { name: 'hdrjson', partitions: 1 } });
      const response = await fetch(`${url}/topics/hdrjson/records`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'streambed-producer-id': '1' },
        body: JSON.stringify({ records: [{ value: 1 }] }),
      });
      const body = (await response.json()) as { error: { code: string; message: string } };
      assert.deepEqual([response.status, body.error.code], [400, 'InvalidArgument']);
      assert.match(body.error.message, /go with a application\/vnd\.streambed\.segment body/);
      assert.deepEqual(await highWatermarks('hdrjson'), [0]);
    });

    test('Accept without the frame type (or preferring JSON) gets JSON', async () => {
      await call(url, 'POST', '/topics', { json: { name: 'acc', partitions: 1 } });
      for (const accept of ['application/json', `${FETCH_FRAME_TYPE};q=0.4, application/json`, '*/*']) {
        const response = await fetch(`${url}/topics/acc/partitions/0/records?offset=0`, {
          headers: { accept },
        });
        assert.equal(response.headers.get('content-type'), 'application/json', accept);
        assert.equal(response.headers.get('vary'), 'accept');
      }
    });
  });
});
