import { ProducerFencedError, UnknownProducerIdError } from '../core/errors.ts';
import type { EngineContext } from './context.ts';

/**
 * Refuses a produce call whose producer id was not issued by `initProducer` (Kafka's
 * InitProducerId), or whose epoch is not the id's current one: a lower epoch was fenced by a newer
 * `initProducer` of the same transactional id; a higher one was never issued — unless
 * `acceptBumpedEpoch` and the id has no transactional id (a Kafka idempotent producer bumps its own
 * epoch, see `ProduceOptions.acceptBumpedEpoch`).
 *
 * @example
 * await checkRegistered(ctx, '5629499534213120', 0); // throws UnknownProducerIdError if never issued
 */
export async function checkRegistered(
  ctx: EngineContext,
  producerId: string,
  epoch: number,
  acceptBumpedEpoch = false,
): Promise<void> {
  const issued = await ctx.producers.get(producerId);
  if (issued === undefined) {
    throw new UnknownProducerIdError(
      `producer id '${producerId}' was not issued by POST /producers (or its registration expired); get a new one`,
    );
  }
  if (epoch < issued.epoch) {
    throw new ProducerFencedError(
      `producer ${producerId} epoch ${epoch} is fenced: epoch ${issued.epoch} was issued since`,
    );
  }
  if (epoch > issued.epoch && !(acceptBumpedEpoch && issued.transactionalId === undefined)) {
    throw new UnknownProducerIdError(
      `producer ${producerId} epoch ${epoch} was never issued (its current epoch is ${issued.epoch})`,
    );
  }
}
