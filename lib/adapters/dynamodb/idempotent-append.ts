import { setTimeout as sleep } from 'node:timers/promises';
import {
  type DynamoDBClient,
  GetItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DuplicateSequenceError,
  OutOfOrderSequenceError,
  PartitionBusyError,
  UnknownTopicError,
} from '../../core/errors.ts';
import type { PendingEntry } from '../../core/index-entry.ts';
import type { AppendOutcome, PartitionRef } from '../../core/ports.ts';
import { afterAppend, decide, type ProducerBatch, type ProducerState } from '../../core/producer-state.ts';
import { mapAwsError } from '../aws-errors.ts';
import { type Item, N } from './attributes.ts';
import { batchGet } from './batch.ts';
import { decodeHead, encodeEntry, type HeadState, headKey, producersKey } from './head-codec.ts';
import { decodeProducer, producerItemKey, producerValues, type StoredProducer } from './producer-codec.ts';
import { definitelyRefused } from './send-once.ts';

export interface IdempotentAppenderDeps {
  readonly client: DynamoDBClient;
  readonly table: string;
  readonly expirationMs: number;
  readonly now: () => number;
  readonly maxTail: (ref: PartitionRef) => number;
  /** Throws CommitTooLate when the object is past the commit limit. */
  readonly checkInTime: (objectId: string) => void;
  readonly bound: (ref: PartitionRef) => number;
  readonly readHead: (ref: PartitionRef) => Promise<HeadState | undefined>;
  readonly locate: (ref: PartitionRef, objectId: string, bound: number) => Promise<number | undefined>;
  readonly afterAppend: (ref: PartitionRef, head: HeadState, position: number) => Promise<void>;
}

type Known = StoredProducer | undefined;

/**
 * Appends of idempotent producers: ONE TransactWriteItems of the head update (as a plain append)
 * and the (partition, producer) state item, whose condition pins the state version the decision
 * was made from. The check and the append are therefore one atomic step; the head holds no
 * producer state, so any number of producers may write a partition. A lost response needs no
 * fence: the same pinned version can be applied once, and a re-read shows whether it was.
 *
 * @example
 * const outcome = await appender.append(ref, entry, { producerId: '7', epoch: 0, sequence: 0, count: 3 });
 */
export class IdempotentAppender {
  private readonly deps: IdempotentAppenderDeps;
  /** States read by `prefetch` beside the object PUT, consumed by the next append. */
  private readonly prefetched = new Map<string, Known>();

  constructor(deps: IdempotentAppenderDeps) {
    this.deps = deps;
  }

  private static cacheKey(ref: PartitionRef, producerId: string): string {
    return `${producersKey(ref.topicId, ref.partition)}/${producerId}`;
  }

  /** Reads the producer's state on these partitions (strongly consistent). */
  async prefetch(refs: readonly PartitionRef[], producerId: string): Promise<void> {
    const states = await this.read(refs, producerId);
    refs.forEach((ref, i) => {
      if (this.prefetched.size > 10_000) this.prefetched.clear();
      this.prefetched.set(IdempotentAppender.cacheKey(ref, producerId), states[i]);
    });
  }

  private async read(refs: readonly PartitionRef[], producerId: string): Promise<Known[]> {
    const keys = refs.map((ref) => producerItemKey(ref.topicId, ref.partition, producerId));
    const found = new Map<string, Item>();
    if (refs.length === 1) {
      const out = await this.deps.client
        .send(new GetItemCommand({ TableName: this.deps.table, Key: keys[0], ConsistentRead: true }))
        .catch(mapAwsError);
      if (out.Item !== undefined) found.set(out.Item.pk?.S ?? '', out.Item);
    } else {
      for (const item of await batchGet(this.deps.client, this.deps.table, keys))
        found.set(item.pk?.S ?? '', item);
    }
    return refs.map((ref) => decodeProducer(found.get(producersKey(ref.topicId, ref.partition))));
  }

  private live(known: Known): ProducerState | undefined {
    if (known === undefined) return undefined;
    return this.deps.now() - known.state.lastAppend > this.deps.expirationMs ? undefined : known.state;
  }

  async append(ref: PartitionRef, entry: PendingEntry, batch: ProducerBatch): Promise<AppendOutcome> {
    const key = IdempotentAppender.cacheKey(ref, batch.producerId);
    let known: Known;
    // A prefetched state may predate another call of the same producer: it may decide an append
    // (the pinned version checks it), but a refusal is only given from a state read just now.
    let fresh = !this.prefetched.has(key);
    if (fresh) {
      known = (await this.read([ref], batch.producerId))[0];
    } else {
      known = this.prefetched.get(key);
      this.prefetched.delete(key);
    }
    const bound = this.deps.bound(ref);
    for (let tries = 0; ; tries++) {
      const state = this.live(known);
      const decision = decide(state, batch);
      if (decision.kind === 'error' && !fresh) {
        known = (await this.read([ref], batch.producerId))[0];
        fresh = true;
        continue;
      }
      if (decision.kind === 'error') {
        // State that expired is not a first batch overtaken: nothing will come to fill the gap, so the
        // refusal is final at once (no predecessor wait).
        const expired = known !== undefined && state === undefined;
        if (expired && decision.error instanceof OutOfOrderSequenceError && decision.error.ahead) {
          throw new OutOfOrderSequenceError(decision.error.message, { ahead: false, noState: true });
        }
        throw decision.error;
      }
      if (decision.kind === 'duplicate') {
        const original = decision.batch;
        const base = await this.deps.locate(ref, original.objectId, original.bound);
        if (base === undefined) {
          throw new DuplicateSequenceError(
            `producer ${batch.producerId} sequence ${batch.sequence} was appended before, and is no longer in the log`,
          );
        }
        return { kind: original.objectId === entry.objectId ? 'appended' : 'duplicate', baseOffset: base };
      }
      const next = afterAppend(state, batch, { objectId: entry.objectId, bound, now: this.deps.now() });
      this.deps.checkInTime(entry.objectId);
      try {
        await this.deps.client.send(this.transaction(ref, entry, batch.producerId, known, next));
        return await this.placed(ref, entry, bound);
      } catch (error) {
        if (error instanceof TransactionCanceledException) {
          const [headReason, producerReason] = error.CancellationReasons ?? [];
          if (producerReason?.Code === 'ConditionalCheckFailed') {
            known = decodeProducer(producerReason.Item as Item | undefined);
            fresh = true;
            continue;
          }
          if (headReason?.Code === 'ConditionalCheckFailed') {
            if (headReason.Item === undefined || headReason.Item.del !== undefined) {
              throw new UnknownTopicError(ref.topic);
            }
            const head = decodeHead(ref.partition, headReason.Item as Item);
            if (tries >= 2) await this.deps.afterAppend(ref, head, head.pageSize - 1);
          }
        } else if (definitelyRefused(error)) {
          mapAwsError(error);
        }
        // A conflict, a full tail, or an outcome the SDK could not learn: read the state again.
        // Its version tells whether this transaction was applied (then the window holds the batch).
        if (tries >= 30) {
          throw new PartitionBusyError(`partition ${ref.partition} of '${ref.topic}' is busy; retry shortly`);
        }
        await sleep(2 + Math.random() * 5 * Math.min(tries + 1, 10));
        known = (await this.read([ref], batch.producerId))[0];
        fresh = true;
      }
    }
  }

  private transaction(
    ref: PartitionRef,
    entry: PendingEntry,
    producerId: string,
    known: Known,
    next: ProducerState,
  ): TransactWriteItemsCommand {
    const version = (known?.version ?? 0) + 1;
    const values: Item = {
      ...producerValues(next, version, this.deps.expirationMs),
      ...(known === undefined ? {} : { ':pseen': N(known.version) }),
    };
    return new TransactWriteItemsCommand({
      TransactItems: [
        {
          Update: {
            TableName: this.deps.table,
            Key: headKey(ref.topicId, ref.partition),
            UpdateExpression: 'SET #tail = list_append(#tail, :entry), #next = #next + :n',
            ConditionExpression:
              'attribute_exists(pk) AND attribute_not_exists(#del) AND size(#tail) < :maxTail',
            ExpressionAttributeNames: { '#next': 'next', '#tail': 'tail', '#del': 'del' },
            ExpressionAttributeValues: {
              ':n': N(entry.recordCount),
              ':entry': { L: [encodeEntry(entry)] },
              ':maxTail': N(this.deps.maxTail(ref)),
            },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
        {
          Update: {
            TableName: this.deps.table,
            Key: producerItemKey(ref.topicId, ref.partition, producerId),
            UpdateExpression: 'SET v = :pv, e = :pe, ns = :pns, w = :pw, t = :pt, #ttl = :pttl, ver = :pver',
            ConditionExpression: known === undefined ? 'attribute_not_exists(pk)' : 'ver = :pseen',
            ExpressionAttributeNames: { '#ttl': 'ttl' },
            ExpressionAttributeValues: values,
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
      ],
    });
  }

  /** Where the committed entry landed: usually still in the tail; else searched from the bound. */
  private async placed(ref: PartitionRef, entry: PendingEntry, bound: number): Promise<AppendOutcome> {
    const head = await this.deps.readHead(ref);
    if (head === undefined) throw new UnknownTopicError(ref.topic);
    const position = head.tail.findIndex((e) => e.objectId === entry.objectId);
    if (position >= 0) {
      await this.deps.afterAppend(ref, head, position);
      return { kind: 'appended', baseOffset: (head.tail[position] as { baseOffset: number }).baseOffset };
    }
    const base = await this.deps.locate(ref, entry.objectId, bound);
    if (base === undefined) throw new Error(`committed entry of ${entry.objectId} not found in the index`);
    return { kind: 'appended', baseOffset: base };
  }
}
