import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FETCH_MAX_RECORDS, moveTo, type Owned, PartitionReader } from '../../lib/client/consumer-fetch.ts';
import type { Transport, TransportFetchRequest, TransportFetchResult } from '../../lib/client/transport.ts';

/** A partition log of `length` records, served `perFetch` at a time, each fetch held until released. */
function scriptedLog(length: number, perFetch: number, early = false) {
  const calls: TransportFetchRequest[] = [];
  const pending: (() => void)[] = [];
  const transport = {
    fetch(request: TransportFetchRequest): Promise<TransportFetchResult> {
      calls.push(request);
      const end = Math.min(length, request.offset + Math.min(perFetch, request.maxRecords ?? 500));
      const records = [];
      for (let offset = request.offset; offset < end; offset++) {
        records.push({
          offset,
          timestamp: 0,
          key: null,
          value: new Uint8Array([offset & 0xff]),
          valueIsJson: false,
          headers: [],
        });
      }
      const result = {
        records,
        nextOffset: Math.max(end, request.offset),
        highWatermark: length,
        logStartOffset: 0,
      };
      // A transport that knows the next offset before the records (batch references) says so now.
      if (early)
        queueMicrotask(() =>
          request.onNextOffset?.({ nextOffset: result.nextOffset, highWatermark: length }),
        );
      return new Promise((resolve) => pending.push(() => resolve(result)));
    },
  } as unknown as Transport;
  const releaseAll = () => {
    for (const release of pending.splice(0)) release();
  };
  return { transport, calls, releaseAll };
}

function readerOf(transport: Transport, maxPollRecords: number) {
  const owned = new Map<number, Owned>();
  const o: Owned = {
    partition: 0,
    leaseCounter: 1,
    position: 0,
    fetchOffset: 0,
    consumed: undefined,
    committed: undefined,
    buffer: [],
    paused: false,
    version: 0,
  };
  owned.set(0, o);
  const reader = new PartitionReader({
    transport,
    topic: 't',
    maxPollRecords,
    maxFetchBytes: 1024 * 1024,
    owned,
    isClosed: () => false,
    resetOffset: async () => 0,
    onError: () => {},
  });
  return { reader, o };
}

/** Fills while answering every fetch as it is made. */
async function fill(reader: PartitionReader, releaseAll: () => void): Promise<boolean> {
  const filling = reader.fill();
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setImmediate(r));
    releaseAll();
  }
  return await filling;
}

test('a consumer asks each fetch for as many records as the server gives, whatever maxPollRecords is', async () => {
  const log = scriptedLog(1_000, 1_000);
  const { reader } = readerOf(log.transport, 10);
  assert.equal(await fill(reader, log.releaseAll), true);
  assert.equal(log.calls[0]?.maxRecords, FETCH_MAX_RECORDS);
  // Polls take 10 at a time from the one fetch's buffer: no fetch per slice of the batch.
  const first = reader.take(10);
  assert.deepEqual(
    first.map((r) => r.offset),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  let taken = first.length;
  while (taken < 1_000) taken += reader.take(10).length;
  assert.equal(log.calls.length, 1);
});

test('while a partition holds more, its next fetch starts before the buffer is consumed, and its records follow in order', async () => {
  const log = scriptedLog(300, 100);
  const { reader } = readerOf(log.transport, 500);
  assert.equal(await fill(reader, log.releaseAll), true);
  // The first fetch returned 0..99 of 300: the fetch from 100 is already under way.
  assert.deepEqual(
    log.calls.map((c) => c.offset),
    [0, 100],
  );
  const offsets = reader.take(500).map((r) => r.offset);
  assert.equal(await fill(reader, log.releaseAll), true);
  offsets.push(...reader.take(500).map((r) => r.offset));
  assert.equal(await fill(reader, log.releaseAll), true);
  offsets.push(...reader.take(500).map((r) => r.offset));
  assert.deepEqual(
    offsets,
    Array.from({ length: 300 }, (_, i) => i),
  );
  // Three fetches for three slices: the read-ahead was used, not repeated; none past the end.
  assert.deepEqual(
    log.calls.map((c) => c.offset),
    [0, 100, 200],
  );
});

test('a caught-up partition is not read ahead (that request would come back empty)', async () => {
  const log = scriptedLog(50, 100);
  const { reader } = readerOf(log.transport, 500);
  assert.equal(await fill(reader, log.releaseAll), true);
  assert.equal(log.calls.length, 1);
});

test('a seek drops the read-ahead: its records are never returned, and the next fetch starts at the sought offset', async () => {
  const log = scriptedLog(300, 100);
  const { reader, o } = readerOf(log.transport, 500);
  assert.equal(await fill(reader, log.releaseAll), true);
  assert.equal(log.calls.length, 2);
  moveTo(o, 250);
  assert.equal(await fill(reader, log.releaseAll), true);
  const offsets = reader.take(500).map((r) => r.offset);
  assert.deepEqual(
    offsets,
    Array.from({ length: 50 }, (_, i) => 250 + i),
  );
  assert.deepEqual(
    log.calls.map((c) => c.offset),
    [0, 100, 250],
  );
});

test('a transport that knows the next offset early starts the next fetches before the first is answered, at most two ahead, in order', async () => {
  const log = scriptedLog(1_000, 100, true);
  const { reader, o } = readerOf(log.transport, 10_000);
  const filling = reader.fill();
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  // Nothing answered yet: the fetch from 0 and two ahead of it.
  assert.deepEqual(
    log.calls.map((c) => c.offset),
    [0, 100, 200],
  );
  const offsets: number[] = [];
  log.releaseAll();
  assert.equal(await filling, true);
  offsets.push(...reader.take(10_000).map((r) => r.offset));
  while (offsets.length < 1_000) {
    assert.equal(await fill(reader, log.releaseAll), true);
    offsets.push(...reader.take(10_000).map((r) => r.offset));
  }
  assert.deepEqual(
    offsets,
    Array.from({ length: 1_000 }, (_, i) => i),
  );
  // Each offset fetched once, none past the end.
  assert.deepEqual(
    log.calls.map((c) => c.offset),
    Array.from({ length: 10 }, (_, i) => i * 100),
  );
  // A seek drops every fetch ahead.
  moveTo(o, 50);
  assert.equal(await fill(reader, log.releaseAll), true);
  assert.equal(reader.take(10_000)[0]?.offset, 50);
});
