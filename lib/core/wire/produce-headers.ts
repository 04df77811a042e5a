import { InvalidArgumentError } from '../errors.ts';
import type { ProducerIdentity } from '../types.ts';

/** The content type of a binary produce body: one segment object (segment.ts), stored as it is. */
export const SEGMENT_TYPE = 'application/vnd.streambed.segment';

/**
 * HTTP headers that carry an idempotent producer's identity with a binary produce body (the JSON
 * body carries them as fields):
 *
 *   streambed-producer-id     the id from POST /producers
 *   streambed-producer-epoch  its epoch, 0-32767
 *   streambed-sequences       each batch's first sequence: "<partition>:<sequence>" pairs joined by
 *                             commas, one per batch of the body, e.g. "0:12,3:40"
 *
 * All three or none.
 */
export const PRODUCER_HEADERS = {
  id: 'streambed-producer-id',
  epoch: 'streambed-producer-epoch',
  sequences: 'streambed-sequences',
} as const;

/**
 * The headers for a producer identity.
 *
 * @example
 * producerHeaders({ producerId: '8412', epoch: 0, sequences: { 0: 12, 3: 40 } })
 * // { 'streambed-producer-id': '8412', 'streambed-producer-epoch': '0', 'streambed-sequences': '0:12,3:40' }
 */
export function producerHeaders(
  producer: ProducerIdentity,
  partitions: readonly number[],
): Record<string, string> {
  const sequences =
    typeof producer.sequences === 'number'
      ? partitions.map((p) => `${p}:${producer.sequences}`)
      : Object.entries(producer.sequences).map(([p, s]) => `${p}:${s}`);
  return {
    [PRODUCER_HEADERS.id]: producer.producerId,
    [PRODUCER_HEADERS.epoch]: String(producer.epoch),
    [PRODUCER_HEADERS.sequences]: sequences.join(','),
  };
}

const NUMBER = /^(0|[1-9][0-9]{0,15})$/;

/**
 * The producer identity in (lower-case) request headers, or undefined when none of them is there.
 * Throws InvalidArgumentError, naming the header, when only some are there or one is malformed.
 *
 * @example
 * parseProducerHeaders({ 'streambed-producer-id': '8412', 'streambed-producer-epoch': '0', 'streambed-sequences': '0:12' })
 * // { producerId: '8412', epoch: 0, sequences: { 0: 12 } }
 */
export function parseProducerHeaders(
  headers: Readonly<Record<string, string | undefined>>,
): ProducerIdentity | undefined {
  const id = headers[PRODUCER_HEADERS.id];
  const epoch = headers[PRODUCER_HEADERS.epoch];
  const list = headers[PRODUCER_HEADERS.sequences];
  if (id === undefined && epoch === undefined && list === undefined) return undefined;
  if (id === undefined || epoch === undefined || list === undefined) {
    throw new InvalidArgumentError(
      `an idempotent binary produce needs all of ${Object.values(PRODUCER_HEADERS).join(', ')}; some are missing`,
    );
  }
  if (!NUMBER.test(epoch)) {
    throw new InvalidArgumentError(
      `${PRODUCER_HEADERS.epoch} must be a non-negative integer, got '${epoch}'`,
    );
  }
  const sequences: Record<number, number> = {};
  for (const pair of list.split(',')) {
    const match = /^\s*([0-9]+):([0-9]+)\s*$/.exec(pair);
    if (match === null || !NUMBER.test(match[1] as string) || !NUMBER.test(match[2] as string)) {
      throw new InvalidArgumentError(
        `${PRODUCER_HEADERS.sequences} must be <partition>:<sequence> pairs joined by commas, got '${list}'`,
      );
    }
    const partition = Number(match[1]);
    if (Object.hasOwn(sequences, partition)) {
      throw new InvalidArgumentError(`${PRODUCER_HEADERS.sequences} names partition ${partition} twice`);
    }
    sequences[partition] = Number(match[2]);
  }
  return { producerId: id, epoch: Number(epoch), sequences };
}
