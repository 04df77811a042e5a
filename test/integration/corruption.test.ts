import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { localClients } from '../../lib/adapters/clients.ts';
import { S3ObjectStore } from '../../lib/adapters/s3/object-store.ts';
import { CorruptSegmentError } from '../../lib/core/errors.ts';
import type { Streambed } from '../../lib/engine/streambed.ts';
import { endpointsFromEnv, type ServiceEndpoints } from '../../lib/harness/services.ts';
import { bytes, type TestStack, testStack } from '../support/stack.ts';

describe('corrupt stored bytes', () => {
  let stack: TestStack;
  let log: Streambed;
  before(async () => {
    stack = await testStack();
    log = stack.engine();
  });
  after(() => stack.close());

  async function produceOne(topic: string): Promise<{ key: string; body: Uint8Array }> {
    await log.createTopic({ name: topic, partitions: 2 });
    const { objectKey } = await log.produce({
      topic,
      records: [
        { value: bytes('first partition zero'), partition: 0 },
        { value: bytes('second partition zero'), partition: 0 },
        { value: bytes('partition one'), partition: 1 },
      ],
    });
    const object = await stack.s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: objectKey }));
    return { key: objectKey, body: await (object.Body?.transformToByteArray() ?? new Uint8Array()) };
  }

  async function replace(key: string, body: Uint8Array) {
    await stack.s3.send(new DeleteObjectCommand({ Bucket: stack.bucket, Key: key }));
    await stack.s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: key, Body: body }));
  }

  test('every flipped byte inside a batch is a typed corruption error on fetch', async () => {
    const { key, body } = await produceOne('flip');
    const ok = await log.fetch({ topic: 'flip', partition: 0, offset: 0 });
    assert.equal(ok.records.length, 2);
    // Flip bytes at several positions across the object; each must be caught (header bytes of the
    // object are outside any batch and are not read by a fetch, so start after them).
    for (const position of [16, 20, 30, 45, body.length - 30, body.length - 1]) {
      const flipped = Uint8Array.from(body);
      flipped[position] = (flipped[position] ?? 0) ^ 0x5a;
      await replace(key, flipped);
      // A fresh engine: decoded batches are cached per engine (objects never change in production).
      const reader = stack.engine();
      const results = await Promise.allSettled([
        reader.fetch({ topic: 'flip', partition: 0, offset: 0 }),
        reader.fetch({ topic: 'flip', partition: 1, offset: 0 }),
      ]);
      const failures = results.filter((r) => r.status === 'rejected');
      assert.equal(failures.length, 1, `exactly the batch holding byte ${position} fails`);
      assert.ok((failures[0] as PromiseRejectedResult).reason instanceof CorruptSegmentError);
    }
    await replace(key, body);
    assert.equal((await stack.engine().fetch({ topic: 'flip', partition: 1, offset: 0 })).records.length, 1);
  });

  test('a truncated object is a typed corruption error, not garbage', async () => {
    const { key, body } = await produceOne('trunc');
    await replace(key, body.subarray(0, body.length - 5));
    await assert.rejects(log.fetch({ topic: 'trunc', partition: 1, offset: 0 }), CorruptSegmentError);
  });

  test('a missing object the index points to is a typed corruption error', async () => {
    const { key } = await produceOne('missing');
    await stack.s3.send(new DeleteObjectCommand({ Bucket: stack.bucket, Key: key }));
    await assert.rejects(log.fetch({ topic: 'missing', partition: 0, offset: 0 }), CorruptSegmentError);
    await assert.rejects(
      log.fetchBatches({ topic: 'missing', partition: 0, offset: 0 }),
      CorruptSegmentError,
    );
  });

  test('the binary fetch, which reads batches straight into its frame, refuses a truncated object too', async () => {
    const { key, body } = await produceOne('trunc-frame');
    const whole = await log.fetchBatches({ topic: 'trunc-frame', partition: 1, offset: 0 });
    assert.equal(whole.batches.length, 1);
    await replace(key, body.subarray(0, body.length - 5));
    await assert.rejects(
      stack.engine().fetchBatches({ topic: 'trunc-frame', partition: 1, offset: 0 }),
      CorruptSegmentError,
    );
  });

  test('a segment PUT sends its payload unsigned with a CRC32 checksum, and the store refuses bytes changed on the way', async () => {
    const client = localClients(endpointsFromEnv() as ServiceEndpoints).s3;
    const seen: Record<string, string>[] = [];
    let damage = false;
    client.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { headers: Record<string, string>; body?: unknown };
        seen.push({ ...request.headers });
        // After signing: a byte flipped in transit, which only the checksum can catch now.
        if (damage && request.body instanceof Uint8Array) {
          const body = Uint8Array.from(request.body);
          body[10] = (body[10] ?? 0) ^ 0xff;
          request.body = body;
        }
        return await next(args);
      },
      { step: 'finalizeRequest', priority: 'low', name: 'observeAndDamage' },
    );
    const store = new S3ObjectStore({ client, bucket: stack.bucket });
    const body = new Uint8Array(64 * 1024).map((_, i) => i % 256);
    await store.put('unsigned/ok', body);
    assert.equal(seen.at(-1)?.['x-amz-content-sha256'], 'UNSIGNED-PAYLOAD');
    assert.ok(seen.at(-1)?.['x-amz-checksum-crc32'], 'a CRC32 checksum header goes with it');
    assert.deepEqual(await store.getRange('unsigned/ok', 0, body.length), body);
    damage = true;
    await assert.rejects(store.put('unsigned/damaged', body));
    damage = false;
    await assert.rejects(store.getRange('unsigned/damaged', 0, 1), CorruptSegmentError, 'nothing was stored');
    client.destroy();
  });

  test('a ranged read into a buffer fills exactly that buffer, and refuses a range the object does not hold', async () => {
    const { key, body } = await produceOne('into');
    const objects = new S3ObjectStore({ client: stack.s3, bucket: stack.bucket });
    const into = new Uint8Array(10);
    const got = await objects.getRange(key, 3, 10, into);
    assert.equal(got, into);
    assert.deepEqual(into, body.subarray(3, 13));
    await assert.rejects(objects.getRange(key, body.length - 4, 10, new Uint8Array(10)), CorruptSegmentError);
    // A buffer of another length than asked is not written: the bytes come back in a new array.
    const other = new Uint8Array(4);
    assert.deepEqual(await objects.getRange(key, 0, 6, other), body.subarray(0, 6));
    assert.deepEqual(other, new Uint8Array(4));
  });
});
