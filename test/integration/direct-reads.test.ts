import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { HttpTransport } from '../../lib/client/http-transport.ts';
import { type FetchLike, nodeFetch } from '../../lib/client/node-fetch.ts';
import { CorruptSegmentError, OffsetOutOfRangeError } from '../../lib/core/errors.ts';
import { encodeSegment } from '../../lib/core/segment/index.ts';
import { BATCH_REFS_TYPE, type BatchRefs, readBatchRefs } from '../../lib/core/wire/batch-refs.ts';
import { FETCH_FRAME_TYPE } from '../../lib/core/wire/fetch-frame.ts';
import { SEGMENT_TYPE } from '../../lib/core/wire/produce-headers.ts';
import { MAX_REFERENCED_BATCHES } from '../../lib/engine/fetch-refs.ts';
import { call, localApi } from '../support/http.ts';
import { logRecord } from '../support/records.ts';
import { testStack } from '../support/stack.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();
const rec = logRecord;

describe('direct reads: fetch answers that name batches by presigned URL (npm start handlers on MinIO)', () => {
  let api: Awaited<ReturnType<typeof localApi>>;
  let url: string;
  before(async () => {
    api = await localApi();
    url = api.url;
  });
  after(async () => await api.close());

  /** Produces `batches` binary requests of `size` records each to partition 0; returns every value. */
  const fill = async (topic: string, batches: number, size: number): Promise<string[]> => {
    await call(url, 'POST', '/topics', { json: { name: topic, partitions: 1 } });
    const values: string[] = [];
    for (let b = 0; b < batches; b++) {
      const records = Array.from({ length: size }, (_, i) => rec(`${topic}-${b * size + i}`));
      values.push(...records.map((r) => dec.decode(r.value as Uint8Array)));
      const body = encodeSegment([
        { partition: 0, compression: b % 2 === 0 ? 'none' : 'gzip', records },
      ]).bytes;
      const response = await fetch(`${url}/topics/${topic}/records`, {
        method: 'POST',
        headers: { 'content-type': SEGMENT_TYPE },
        body,
      });
      assert.equal(response.status, 200);
    }
    return values;
  };
  const refsOf = async (topic: string, query: string): Promise<{ refs: BatchRefs; bytes: number }> => {
    const response = await fetch(`${url}/topics/${topic}/partitions/0/records?${query}`, {
      headers: { accept: `${BATCH_REFS_TYPE}, ${FETCH_FRAME_TYPE};q=0.9` },
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), BATCH_REFS_TYPE);
    const text = await response.text();
    return { refs: readBatchRefs(JSON.parse(text)), bytes: text.length };
  };
  const readAll = async (transport: HttpTransport, topic: string) => {
    const seen: string[] = [];
    let offset = 0;
    for (;;) {
      const read = await transport.fetch({
        topic,
        partition: 0,
        offset,
        maxRecords: 10_000,
        maxBytes: 4 << 20,
      });
      for (const r of read.records) seen.push(dec.decode(r.value as Uint8Array));
      if (read.nextOffset >= read.highWatermark) return seen;
      offset = read.nextOffset;
    }
  };

  test('each URL reads exactly its batch from the bucket; the transport reads the same records as from frames, and the API carries none of their bytes', async () => {
    const values = await fill('refs', 6, 300);
    const { refs, bytes } = await refsOf('refs', 'offset=450&maxRecords=10000&maxBytes=4194304');
    assert.equal(refs.batches[0]?.baseOffset, 300, 'the batch holding offset 450, whole');
    assert.equal(refs.batches.length, 5);
    assert.ok(bytes < 5_000, `the answer is ${bytes} bytes of references`);
    assert.ok(refs.expiresAt > Date.now() + 60_000);
    const first = refs.batches[0] as BatchRefs['batches'][number];
    const got = await fetch(first.url, { headers: { range: first.range } });
    assert.equal(got.status, 206);
    assert.equal((await got.arrayBuffer()).byteLength, first.length);
    const direct = new HttpTransport({ endpoint: url, auth: 'none' });
    const framed = new HttpTransport({ endpoint: url, auth: 'none', directReads: false });
    assert.deepEqual(await readAll(direct, 'refs'), values);
    assert.deepEqual(await readAll(framed, 'refs'), values);
    // From inside a batch, up to maxRecords: the same slice either way.
    const a = await direct.fetch({ topic: 'refs', partition: 0, offset: 1234, maxRecords: 7 });
    const b = await framed.fetch({ topic: 'refs', partition: 0, offset: 1234, maxRecords: 7 });
    assert.deepEqual(a, b);
    assert.deepEqual(
      a.records.map((r) => r.offset),
      [1234, 1235, 1236, 1237, 1238, 1239, 1240],
    );
    await direct.close();
    await framed.close();
  });

  test('a batch larger than maxBytes is named whole (as Kafka sends an oversized batch), not sliced', async () => {
    await fill('wide', 1, 2000);
    const { refs } = await refsOf('wide', 'offset=1500&maxBytes=1000');
    assert.equal(refs.batches.length, 1);
    assert.equal(refs.nextOffset, 2000);
    const transport = new HttpTransport({ endpoint: url, auth: 'none' });
    const read = await transport.fetch({
      topic: 'wide',
      partition: 0,
      offset: 1500,
      maxBytes: 1000,
      maxRecords: 10_000,
    });
    assert.deepEqual([read.records.length, read.records[0]?.offset, read.nextOffset], [500, 1500, 2000]);
    await transport.close();
  });

  test('a references answer stops before a batch whose records would pass maxRecords (the first comes whole)', async () => {
    await fill('counted', 4, 300);
    const { refs } = await refsOf('counted', 'offset=0&maxRecords=700');
    assert.deepEqual(
      refs.batches.map((b) => b.baseOffset),
      [0, 300],
    );
    assert.equal(refs.nextOffset, 600);
    const first = await refsOf('counted', 'offset=10&maxRecords=100');
    assert.deepEqual([first.refs.batches.length, first.refs.nextOffset], [1, 300]);
  });

  test('a URL is good for its own Range only: another range of the object is refused by the bucket', async () => {
    await fill('ranged', 2, 50);
    const { refs } = await refsOf('ranged', 'offset=0');
    const ref = refs.batches[0] as BatchRefs['batches'][number];
    const other = await fetch(ref.url, { headers: { range: 'bytes=0-15' } });
    assert.equal(other.status, 403, 'SignatureDoesNotMatch');
    // Without the signed header at all: refused too (MinIO says 400, S3 403).
    const none = await fetch(ref.url);
    assert.ok(none.status === 400 || none.status === 403, `no Range: ${none.status}`);
  });

  test('an object gone after the answer: the transport reads through the API, which says where the log is now', async () => {
    await fill('gone', 3, 100);
    const { refs } = await refsOf('gone', 'offset=0');
    const key = new URL((refs.batches[0] as BatchRefs['batches'][number]).url).pathname
      .split('/')
      .slice(2)
      .join('/');
    const original = await fetch((refs.batches[0] as BatchRefs['batches'][number]).url, {
      headers: { range: `bytes=0-${(refs.batches[0] as BatchRefs['batches'][number]).length - 1}` },
    });
    assert.equal(original.status, 403, 'a URL for another range than signed is refused');
    // Records below 100 deleted, and the object holding them removed (as the sweep would).
    assert.equal((await call(url, 'DELETE', '/topics/gone/partitions/0/records?before=100')).status, 200);
    await api.config.s3.send(
      new DeleteObjectCommand({ Bucket: api.config.bucket, Key: decodeURIComponent(key) }),
    );
    const transport = new HttpTransport({ endpoint: url, auth: 'none' });
    await assert.rejects(transport.fetch({ topic: 'gone', partition: 0, offset: 0 }), OffsetOutOfRangeError);
    const read = await transport.fetch({ topic: 'gone', partition: 0, offset: 100, maxRecords: 1000 });
    assert.equal(read.records.length, 200);
    await transport.close();
  });

  test('bytes damaged in the bucket are CorruptSegment for a direct reader too', async () => {
    await fill('rot', 1, 20);
    const { refs } = await refsOf('rot', 'offset=0');
    const ref = refs.batches[0] as BatchRefs['batches'][number];
    const key = decodeURIComponent(new URL(ref.url).pathname.split('/').slice(2).join('/'));
    const whole = new Uint8Array(
      await (await fetch(`${ref.url}`, { headers: { range: ref.range } })).arrayBuffer(),
    );
    const [start] = ref.range.slice('bytes='.length).split('-').map(Number) as [number];
    const object = await api.config.s3.send(
      new (await import('@aws-sdk/client-s3')).GetObjectCommand({ Bucket: api.config.bucket, Key: key }),
    );
    const body = Uint8Array.from((await object.Body?.transformToByteArray()) ?? []);
    assert.deepEqual(body.subarray(start, start + whole.length), whole);
    body[start + whole.length - 3] = (body[start + whole.length - 3] ?? 0) ^ 0x40;
    await api.config.s3.send(new DeleteObjectCommand({ Bucket: api.config.bucket, Key: key }));
    await api.config.s3.send(new PutObjectCommand({ Bucket: api.config.bucket, Key: key, Body: body }));
    const transport = new HttpTransport({ endpoint: url, auth: 'none' });
    await assert.rejects(transport.fetch({ topic: 'rot', partition: 0, offset: 0 }), CorruptSegmentError);
    await transport.close();
  });

  /**
   * A fetch for the transport that passes every request on, first calling `onBucket` for each read
   * from the bucket (it throws to make that read fail) and `onApi` for each request to the API.
   */
  const faultyFetch = (onBucket: () => void, onApi: (accept: string) => void = () => {}) => {
    const apiHost = new URL(url).host;
    const real = nodeFetch();
    const fetch: FetchLike = async (target, init) => {
      if (target.host !== apiHost || target.pathname.startsWith(`/${api.config.bucket}/`)) onBucket();
      else onApi(init.headers.accept ?? '');
      return await real(target, init);
    };
    return { fetch, close: () => real.close() };
  };

  /** The values of the 100 records of `topic` from `offset`, read through `transport`. */
  const read100 = async (transport: HttpTransport, topic: string, offset: number) =>
    (await transport.fetch({ topic, partition: 0, offset, maxRecords: 100 })).records.map((r) =>
      dec.decode(r.value as Uint8Array),
    );

  test('a direct read that fails now and then does not stop the asking: a success resets the count', async () => {
    const values = await fill('flaky', 8, 100);
    let bucketReads = 0;
    let refused = 0;
    const flaky = faultyFetch(() => {
      bucketReads++;
      // Every other read fails: never 3 in a row.
      if (bucketReads % 2 === 1) {
        refused++;
        throw new Error('connect ETIMEDOUT (injected)');
      }
    });
    const transport = new HttpTransport({ endpoint: url, auth: 'none', fetch: flaky.fetch });
    const seen: string[] = [];
    for (let offset = 0; offset < 800; offset += 100)
      seen.push(...(await read100(transport, 'flaky', offset)));
    assert.deepEqual(seen, values);
    assert.equal(bucketReads, 8, 'every fetch tried the bucket');
    assert.equal(refused, 4);
    await transport.close();
    flaky.close();
  });

  test('a reader that cannot reach the bucket reads through the API, and stops asking for references after 3 failures in a row', async () => {
    const values = await fill('walled', 4, 100);
    const accepts: string[] = [];
    let refused = 0;
    const walled = faultyFetch(
      () => {
        refused++;
        throw new Error('connect ECONNREFUSED (injected: the bucket is out of reach)');
      },
      (accept) => accepts.push(accept),
    );
    const transport = new HttpTransport({ endpoint: url, auth: 'none', fetch: walled.fetch });
    const seen: string[] = [];
    for (let offset = 0; offset < 400; offset += 100)
      seen.push(...(await read100(transport, 'walled', offset)));
    assert.deepEqual(seen, values);
    assert.equal(refused, 3, 'three direct reads tried, then no more');
    assert.deepEqual(
      accepts.map((a) => a.startsWith(BATCH_REFS_TYPE)),
      [true, false, true, false, true, false, false],
    );
    await transport.close();
    walled.close();
  });

  test('a reader that lost the bucket goes back to it after the pause (directReadsPauseMs)', async () => {
    const values = await fill('outage', 6, 100);
    let outage = true;
    let bucketReads = 0;
    let directOk = 0;
    const down = faultyFetch(() => {
      bucketReads++;
      if (outage) throw new Error('connect ECONNREFUSED (injected: the bucket is out of reach)');
      directOk++;
    });
    const transport = new HttpTransport({
      endpoint: url,
      auth: 'none',
      fetch: down.fetch,
      directReadsPauseMs: 300,
    });
    const seen: string[] = [];
    for (const offset of [0, 100, 200]) seen.push(...(await read100(transport, 'outage', offset))); // paused
    seen.push(...(await read100(transport, 'outage', 300))); // through the API, no direct read tried
    assert.equal(bucketReads, 3);
    outage = false; // the bucket is back
    await sleep(350);
    for (const offset of [400, 500]) seen.push(...(await read100(transport, 'outage', offset)));
    assert.deepEqual(seen, values);
    assert.equal(bucketReads, 5, 'after the pause each fetch reads from the bucket again');
    assert.equal(directOk, 2);
    await transport.close();
    down.close();
  });
  test('a probe after the pause that ends without reaching the bucket (the API refused the fetch) leaves the next fetch to probe', async () => {
    const values = await fill('probe', 5, 100);
    let outage = true;
    let bucketReads = 0;
    const down = faultyFetch(() => {
      bucketReads++;
      if (outage) throw new Error('connect ECONNREFUSED (injected: the bucket is out of reach)');
    });
    const transport = new HttpTransport({
      endpoint: url,
      auth: 'none',
      fetch: down.fetch,
      directReadsPauseMs: 300,
    });
    for (const offset of [0, 100, 200]) await read100(transport, 'probe', offset); // paused
    outage = false;
    await sleep(350);
    // The probe: a fetch of a topic that does not exist, refused by the API before any reference.
    await assert.rejects(
      read100(transport, 'no-such-topic', 0),
      (e: unknown) => (e as { code?: string }).code === 'UnknownTopic',
    );
    assert.equal(bucketReads, 3);
    const seen = [...(await read100(transport, 'probe', 300)), ...(await read100(transport, 'probe', 400))];
    assert.deepEqual(seen, values.slice(300));
    assert.equal(bucketReads, 5, 'the fetches after the abandoned probe read from the bucket');
    await transport.close();
    down.close();
  });
});

describe('a references answer on a partition of many small batches', () => {
  test('names at most 1,000 batches (their URLs stay under a Lambda answer), and the next answer goes on from there', async () => {
    const stack = await testStack();
    try {
      const log = stack.engine();
      await log.createTopic({ name: 'tiny', partitions: 1 });
      for (let i = 0; i < MAX_REFERENCED_BATCHES + 5; i++) {
        await log.produce({ topic: 'tiny', records: [{ value: enc.encode(`r${i}`), partition: 0 }] });
      }
      const first = await log.fetchBatchRefs({
        topic: 'tiny',
        partition: 0,
        offset: 0,
        maxRecords: 10_000,
        maxBytes: 64 << 20,
      });
      assert.equal(first.batches.length, MAX_REFERENCED_BATCHES);
      assert.equal(first.nextOffset, MAX_REFERENCED_BATCHES);
      assert.ok(JSON.stringify(first).length < 3_000_000, `${JSON.stringify(first).length} bytes of answer`);
      const rest = await log.fetchBatchRefs({
        topic: 'tiny',
        partition: 0,
        offset: first.nextOffset,
        maxRecords: 10_000,
        maxBytes: 64 << 20,
      });
      assert.deepEqual([rest.batches.length, rest.nextOffset], [5, MAX_REFERENCED_BATCHES + 5]);
    } finally {
      stack.close();
    }
  });
});
