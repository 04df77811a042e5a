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
    // Characters are code points, as the HTTP schema's maxLength counts them (255 × 4 bytes stays within
    // DynamoDB's 1024-byte sort key). A lone surrogate is not text: DynamoDB cannot store it faithfully.
    if (
      typeof name !== 'string' ||
      name.length === 0 ||
      !name.isWellFormed() ||
      [...name].length > MAX_TRANSACTIONAL_ID ||
      /\p{Cc}/u.test(name)
    ) {
      throw new InvalidArgumentError(
        `transactionalId must be well-formed text of 1-${MAX_TRANSACTIONAL_ID} characters without control characters`,
      );
    }
  }
  return await ctx.producers.init(name);
}
