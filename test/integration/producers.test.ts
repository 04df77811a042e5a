import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ScanCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoProducerRegistry } from '../../lib/adapters/dynamodb/producer-registry.ts';
import { InvalidArgumentError } from '../../lib/core/errors.ts';
import { type TestStack, testStack } from '../support/stack.ts';

describe('producer ids issued by the server (InitProducerId)', () => {
  let stack: TestStack;
  let registry: DynamoProducerRegistry;
  before(async () => {
    stack = await testStack();
    registry = new DynamoProducerRegistry({ client: stack.dynamodb, table: stack.tables.meta });
  });
  after(() => stack.close());

  test('fresh ids are distinct numeric strings at epoch 0, readable with their epoch', async () => {
    const ids = await Promise.all(Array.from({ length: 20 }, () => registry.init()));
    assert.equal(new Set(ids.map((p) => p.producerId)).size, 20);
    for (const p of ids) {
      assert.match(p.producerId, /^[1-9][0-9]*$/);
      assert.ok(Number(p.producerId) < 2 ** 53);
      assert.equal(p.epoch, 0);
      assert.deepEqual(await registry.get(p.producerId), { producerId: p.producerId, epoch: 0 });
    }
  });

  test('a transactional id keeps its producer id and bumps the epoch on every init', async () => {
    const epochs = [];
    let id: string | undefined;
    for (let i = 0; i < 3; i++) {
      const p = await registry.init('payments');
      id ??= p.producerId;
      assert.equal(p.producerId, id);
      epochs.push(p.epoch);
    }
    assert.deepEqual(epochs, [0, 1, 2]);
    assert.equal((await registry.get(id as string))?.epoch, 2);
  });

  test('racing first inits of one transactional id end with one producer id and distinct epochs', async () => {
    const racers = await Promise.all(Array.from({ length: 8 }, () => registry.init('raced')));
    assert.equal(new Set(racers.map((p) => p.producerId)).size, 1);
    assert.equal(new Set(racers.map((p) => p.epoch)).size, 8);
  });

  test('an id never issued, or not a producer id at all, reads as absent without harm', async () => {
    for (const id of ['123', '0', '-5', 'abc', '9'.repeat(20), ''])
      assert.equal(await registry.get(id), undefined);
  });

  test('an expired registration reads as absent even before TTL deletes it', async () => {
    const short = new DynamoProducerRegistry({
      client: stack.dynamodb,
      table: stack.tables.meta,
      expirationMs: 1,
    });
    const p = await short.init();
    await sleep(1100);
    assert.equal(await short.get(p.producerId), undefined);
  });

  test('an exhausted epoch (32767) gives the transactional id a new producer id at epoch 0', async () => {
    const first = await registry.init('long-lived');
    await stack.dynamodb.send(
      new UpdateItemCommand({
        TableName: stack.tables.meta,
        Key: { pk: { S: 'producer' }, sk: { S: first.producerId } },
        UpdateExpression: 'SET epoch = :e',
        ExpressionAttributeValues: { ':e': { N: '32767' } },
      }),
    );
    const next = await registry.init('long-lived');
    assert.notEqual(next.producerId, first.producerId);
    assert.equal(next.epoch, 0);
    assert.equal((await registry.init('long-lived')).producerId, next.producerId);
  });

  test('a bad transactionalId is InvalidArgument naming the field, and stores nothing', async () => {
    const log = stack.engine();
    const stored = async () =>
      (await stack.dynamodb.send(new ScanCommand({ TableName: stack.tables.meta, ConsistentRead: true })))
        .Items?.length;
    const before = await stored();
    const bad = [
      '',
      'x'.repeat(256),
      '😀'.repeat(256),
      'a\u0000b',
      'a\u007fb',
      'a\u0085b',
      'a\ud800b',
      7,
      null,
    ];
    for (const transactionalId of bad) {
      await assert.rejects(
        log.initProducer({ transactionalId } as unknown as { transactionalId: string }),
        (error: Error) => error instanceof InvalidArgumentError && error.message.includes('transactionalId'),
      );
    }
    for (const input of [null, [], 'name']) {
      await assert.rejects(
        log.initProducer(input as unknown as { transactionalId: string }),
        InvalidArgumentError,
      );
    }
    assert.equal(await stored(), before);
    // 255 characters are code points, as the HTTP schema counts them: 255 emoji are a valid name.
    const emoji = await log.initProducer({ transactionalId: '😀'.repeat(255) });
    assert.equal(emoji.transactionalId, '😀'.repeat(255));
  });
});
