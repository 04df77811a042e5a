import { InvalidArgumentError } from '../core/errors.ts';
import type { IssuedProducer } from '../core/ports.ts';
import type { EngineContext } from './context.ts';

/** Input of Kafka's InitProducerId. */
export interface InitProducerInput {
  /** A stable name: calling again with it bumps the epoch and fences the previous holder. */
  readonly transactionalId?: string;
}

/** Kafka's limit on a transactional id is a 16-bit length; Streambed keeps names short. */
export const MAX_TRANSACTIONAL_ID = 255;

/**
 * Issues a producer id (Kafka's InitProducerId).
 *
 * @example
 * const { producerId, epoch } = await initProducer(ctx, { transactionalId: 'orders-writer' });
 */
export async function initProducer(
  ctx: EngineContext,
  input: InitProducerInput = {},
): Promise<IssuedProducer> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new InvalidArgumentError('the request must be an object');
  }
  const name = input.transactionalId;
  if (name !== undefined) {
    if (
      typeof name !== 'string' ||
      name.length === 0 ||
      name.length > MAX_TRANSACTIONAL_ID ||
      // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point.
      /[\u0000-\u001f\u007f]/.test(name)
    ) {
      throw new InvalidArgumentError(
        `transactionalId must be a string of 1-${MAX_TRANSACTIONAL_ID} characters without control characters`,
      );
    }
  }
  return await ctx.producers.init(name);
}
