import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Transport, TransportProduceRequest } from '../../lib/client/transport.ts';
import type { StreambedError } from '../../lib/core/errors.ts';
import { UnknownProducerIdError } from '../../lib/core/errors.ts';
import { afterAppend, decide, type ProducerState } from '../../lib/core/producer-state.ts';

/**
 * An in-memory server with the engine's idempotent rules (lib/core/producer-state.ts): calls finish
 * in a scrambled order, so pipelined requests overtake each other as they may over HTTP.
 */
export class FakeServer {
  readonly logs: string[][];
  readonly states = new Map<string, ProducerState>();
  readonly issued = new Map<string, number>();
  calls = 0;
  nextId = 1;
  /** Whether a failed call names the partitions it appended anyway (the engine does). */
  reportAppended = true;
  /** Called before a produce call is applied; may throw to refuse it. */
  before: (call: number, request: TransportProduceRequest) => void = () => {};

  readonly partitions: number;

  constructor(partitions: number) {
    this.partitions = partitions;
    this.logs = Array.from({ length: partitions }, () => []);
  }

  transport(): Transport {
    const notUsed = async () => assert.fail('not used');
    return {
      limits: { maxRecordsPerRequest: 10_000, maxRequestPayloadBytes: 1 << 24, maxPartitionsPerCommit: 50 },
      describeTopic: async (name) => ({
        name,
        id: 'id',
        partitions: this.partitions,
        createdAt: 0,
        config: { retentionMs: -1, retentionBytes: -1, maxRecordBytes: 1 << 20, compression: 'none' },
        partitionStates: [],
      }),
      initProducer: async () => {
        const producerId = String(this.nextId++);
        this.issued.set(producerId, 0);
        return { producerId, epoch: 0 };
      },
      produce: (request) => this.produce(request),
      createTopic: notUsed,
      listTopics: notUsed,
      deleteTopic: notUsed,
      fetch: notUsed,
      listOffsets: notUsed,
      deleteRecords: notUsed,
      listGroups: notUsed,
      groupOffsets: notUsed,
      commitOffsets: notUsed,
      resetOffsets: notUsed,
      joinGroup: notUsed,
      heartbeat: notUsed,
      leaveGroup: notUsed,
      commitAsMember: notUsed,
      close: async () => {},
    };
  }

  private async produce(request: TransportProduceRequest) {
    const call = ++this.calls;
    await sleep((call * 7) % 5);
    this.before(call, request);
    const producer = request.producer;
    if (producer !== undefined && !this.issued.has(producer.producerId)) {
      throw new UnknownProducerIdError(`producer id '${producer.producerId}' was not issued`);
    }
    const byPartition = new Map<number, number[]>();
    request.records.forEach((r, i) => {
      byPartition.set(r.partition as number, [...(byPartition.get(r.partition as number) ?? []), i]);
    });
    const offsets: { partition: number; offset: number }[] = new Array(request.records.length);
    let failure: unknown;
    for (const [partition, indexes] of byPartition) {
      const log = this.logs[partition] as string[];
      let base = log.length;
      if (producer !== undefined) {
        const key = `${producer.producerId}/${partition}`;
        const sequences = producer.sequences as Record<number, number>;
        const batch = {
          producerId: producer.producerId,
          epoch: producer.epoch,
          sequence: sequences[partition] as number,
          count: indexes.length,
        };
        let decision = decide(this.states.get(key), batch);
        // As the engine does (PREDECESSOR_WAITS_MS): a batch ahead of its sequence waits a little for
        // the request it overtook before it is refused.
        for (const wait of [2, 4, 8, 16]) {
          if (decision.kind !== 'error' || !(decision.error as { ahead?: boolean }).ahead) break;
          await sleep(wait);
          decision = decide(this.states.get(key), batch);
        }
        base = log.length;
        if (decision.kind === 'error') {
          failure ??= decision.error;
          continue;
        }
        if (decision.kind === 'duplicate') base = decision.batch.bound;
        else
          this.states.set(
            key,
            afterAppend(this.states.get(key), batch, { objectId: String(call), bound: base, now: 0 }),
          );
        if (decision.kind === 'duplicate') {
          indexes.forEach((index, j) => {
            offsets[index] = { partition, offset: base + j };
          });
          continue;
        }
      }
      for (const [j, index] of indexes.entries()) {
        log.push(new TextDecoder().decode(request.records[index]?.value ?? undefined));
        offsets[index] = { partition, offset: base + j };
      }
    }
    if (failure !== undefined) {
      // As the engine does: the partitions appended although the request failed.
      if (this.reportAppended) {
        (failure as StreambedError).appendedPartitions = [...byPartition.keys()].filter((partition) =>
          offsets.some((o, i) => o !== undefined && request.records[i]?.partition === partition),
        );
      }
      throw failure;
    }
    return { offsets };
  }
}
