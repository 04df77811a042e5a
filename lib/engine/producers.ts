import type { IssuedProducer } from '../core/ports.ts';
import type { EngineContext } from './context.ts';

/** Input of Kafka's InitProducerId. */
export interface InitProducerInput {
  /** A stable name: calling again with it bumps the epoch and fences the previous holder. */
  readonly transactionalId?: string;
}

/**
 * Issues a producer id (Kafka's InitProducerId).
 *
 * @example
 * const { producerId, epoch } = await initProducer(ctx, {});
 */
export async function initProducer(ctx: EngineContext, input: InitProducerInput = {}): Promise<IssuedProducer> {
  return await ctx.producers.init(input.transactionalId);
}
