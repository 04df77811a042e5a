/**
 * Every error Streambed raises on purpose is a {@link StreambedError}: it has a stable `code`
 * (safe to match on, never reworded), an HTTP-ish `status` the front door maps to, and a
 * `retryable` flag telling the caller whether the same request may succeed later.
 *
 * @example
 * try { await log.produce(req); }
 * catch (e) { if (e instanceof StreambedError && e.retryable) retryLater(); else throw e; }
 */
export abstract class StreambedError extends Error {
  abstract readonly code: string;
  abstract readonly status: number;
  readonly retryable: boolean = false;
  /**
   * On a failed produce only: the partitions of the request that were appended all the same (each
   * partition appends on its own — Kafka answers per partition — so a refusal of one leaves the others
   * in); `[]` when none was. Undefined when nobody knows (the failure may have appended any of it).
   */
  appendedPartitions?: readonly number[];
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A request field is missing, has the wrong type or is out of range. The message names the field. */
export class InvalidArgumentError extends StreambedError {
  readonly code = 'InvalidArgument';
  readonly status = 400;
}

export class TopicAlreadyExistsError extends StreambedError {
  readonly code = 'TopicAlreadyExists';
  readonly status = 409;
  readonly topic: string;
  constructor(topic: string) {
    super(`topic '${topic}' already exists`);
    this.topic = topic;
  }
}

export class UnknownTopicError extends StreambedError {
  readonly code = 'UnknownTopic';
  readonly status = 404;
  readonly topic: string;
  constructor(topic: string) {
    super(`topic '${topic}' does not exist`);
    this.topic = topic;
  }
}

export class UnknownPartitionError extends StreambedError {
  readonly code = 'UnknownPartition';
  readonly status = 404;
  readonly topic: string;
  readonly partition: number;
  constructor(topic: string, partition: number, partitions: number) {
    super(`topic '${topic}' has partitions 0..${partitions - 1}; partition ${partition} does not exist`);
    this.topic = topic;
    this.partition = partition;
  }
}

/** Kafka's OFFSET_OUT_OF_RANGE: the offset is below the log start offset. */
export class OffsetOutOfRangeError extends StreambedError {
  readonly code = 'OffsetOutOfRange';
  readonly status = 416;
  readonly offset: number;
  readonly logStartOffset: number;
  readonly highWatermark: number;
  constructor(offset: number, logStartOffset: number, highWatermark: number) {
    super(
      offset > highWatermark
        ? `offset ${offset} is above the high watermark ${highWatermark} (log start offset ${logStartOffset})`
        : `offset ${offset} is below the log start offset ${logStartOffset}, the earliest offset (high watermark ${highWatermark})`,
    );
    this.offset = offset;
    this.logStartOffset = logStartOffset;
    this.highWatermark = highWatermark;
  }
}

/** Stored bytes failed their CRC32C, were truncated, or do not match the index. */
export class CorruptSegmentError extends StreambedError {
  readonly code = 'CorruptSegment';
  readonly status = 500;
}

export class RecordTooLargeError extends StreambedError {
  readonly code = 'RecordTooLarge';
  readonly status = 413;
}

/**
 * Kafka's UNKNOWN_PRODUCER_ID / INVALID_PRODUCER_ID_MAPPING: the producer id was never issued by
 * `POST /producers` (or its registration expired). Get a new one.
 *
 * @example new UnknownProducerIdError("producer id '42' was not issued by this cluster")
 */
export class UnknownProducerIdError extends StreambedError {
  readonly code = 'UnknownProducerId';
  readonly status = 400;
}

/**
 * Kafka's OUT_OF_ORDER_SEQUENCE_NUMBER: the producer skipped a sequence number. `ahead` when the batch
 * is past the next expected sequence — a batch that overtook one still in flight (the server waits a
 * moment for that one before refusing). `noState` when the partition has no state for the producer
 * (never appended there, or its state expired): Kafka answers that case UNKNOWN_PRODUCER_ID.
 *
 * @example new OutOfOrderSequenceError('producer 9 expected sequence 10, got 14', { ahead: true })
 */
export class OutOfOrderSequenceError extends StreambedError {
  readonly code = 'OutOfOrderSequence';
  readonly status = 409;
  readonly ahead: boolean;
  readonly noState: boolean;
  constructor(message: string, options?: { cause?: unknown; ahead?: boolean; noState?: boolean }) {
    super(message, options);
    this.ahead = options?.ahead ?? false;
    this.noState = options?.noState ?? false;
  }
}

/** Kafka's DUPLICATE_SEQUENCE_NUMBER for a batch older than the last one: already appended, offsets no longer known. */
export class DuplicateSequenceError extends StreambedError {
  readonly code = 'DuplicateSequence';
  readonly status = 409;
}

/** Kafka's PRODUCER_FENCED: a newer epoch of this producer id exists. */
export class ProducerFencedError extends StreambedError {
  readonly code = 'ProducerFenced';
  readonly status = 409;
}

/** Kafka's ILLEGAL_GENERATION: an offset commit from a member of an older generation. */
export class StaleGenerationError extends StreambedError {
  readonly code = 'StaleGeneration';
  readonly status = 409;
}

/** AWS throttled us or a transient fault happened; the caller should retry with backoff. */
export class ThrottledError extends StreambedError {
  readonly code = 'Throttled';
  readonly status = 503;
  override readonly retryable = true;
}

/** The partition's in-DynamoDB tail is full because index flushes are failing; retry shortly. */
export class PartitionBusyError extends StreambedError {
  readonly code = 'PartitionBusy';
  readonly status = 503;
  override readonly retryable = true;
}

/** The request carries more than a call may (records, bytes). */
export class RequestTooLargeError extends StreambedError {
  readonly code = 'RequestTooLarge';
  readonly status = 413;
}

export class UnknownGroupError extends StreambedError {
  readonly code = 'UnknownGroup';
  readonly status = 404;
  readonly group: string;
  constructor(group: string) {
    super(`consumer group '${group}' has no committed offsets`);
    this.group = group;
  }
}

/**
 * A plain offset commit (a reset) moved the partition's committed offset while a dispatcher or member
 * held its lease: the lease holder's commit is refused so it does not overwrite the reset; it reads
 * the committed offset again and goes on from there.
 *
 * @example
 * if (error instanceof OffsetResetError) offset = (await groups.fetch(group, topic, id))[0].offset;
 */
export class OffsetResetError extends StreambedError {
  readonly code = 'OffsetReset';
  readonly status = 409;
  /** The committed offsets after the reset, when the refusal knows them (a pull member's commit). */
  readonly offsets: readonly { readonly partition: number; readonly offset: number }[];
  constructor(message: string, offsets: readonly { partition: number; offset: number }[] = []) {
    super(message);
    this.offsets = offsets;
  }
}

/**
 * Kafka's "can only be reset if the group is inactive": a group's offsets are not reset while it has
 * active pull members or a running consumer function for the topic, unless the reset is forced.
 *
 * @example
 * try { await log.resetOffsets({ group, topic, to: 'earliest' }); }
 * catch (e) { if (e instanceof GroupActiveError) console.log(e.members, e.subscription); }
 */
export class GroupActiveError extends StreambedError {
  readonly code = 'GroupActive';
  readonly status = 409;
  readonly group: string;
  /** Pull members whose session has not expired. */
  readonly members: readonly string[];
  /** The target of the group's enabled consumer-function subscription to the topic, if any. */
  readonly subscription: string | undefined;
  constructor(group: string, topic: string, members: readonly string[], subscription?: string) {
    const reasons = [
      ...(members.length === 0
        ? []
        : [
            `${members.length} active member${members.length === 1 ? '' : 's'} (${members.slice(0, 5).join(', ')}${members.length > 5 ? ', …' : ''})`,
          ]),
      ...(subscription === undefined ? [] : [`a running consumer function (${subscription})`]),
    ];
    super(`group '${group}' has ${reasons.join(' and ')} on '${topic}'; stop them first, or force the reset`);
    this.group = group;
    this.members = members;
    this.subscription = subscription;
  }
}

/** The member (or dispatcher) no longer holds the partition's lease: its commit is fenced. */
export class LeaseLostError extends StreambedError {
  readonly code = 'LeaseLost';
  readonly status = 409;
}

export class UnknownMemberError extends StreambedError {
  readonly code = 'UnknownMember';
  readonly status = 404;
}

/**
 * An append attempt would be sent more than the commit limit after its segment object was
 * written. Refused so that the garbage collector's bound holds (docs/design.md §9): the caller
 * retries the whole produce call, which writes a new object.
 */
export class CommitTooLateError extends StreambedError {
  readonly code = 'CommitTooLate';
  readonly status = 503;
  override readonly retryable = true;
}

/**
 * A consumer function's `{ produce: [...] }` return is malformed, names a topic or partition that does
 * not exist, or asks for more than one commit can hold. Nothing was written: the batch counts as
 * failed, as if the function had thrown. The message names the bad field (`produce[2].valueBase64`).
 *
 * @example
 * try { parseProduceReturn(response); }
 * catch (e) { if (e instanceof InvalidProduceReturnError) console.error(e.message); }
 */
export class InvalidProduceReturnError extends StreambedError {
  readonly code = 'InvalidProduceReturn';
  readonly status = 400;
}
