import { ApiKey } from '../../protocol/api.ts';
import type { KafkaApiHandler } from '../context.ts';
import { KafkaError, toKafkaError } from '../error-codes.ts';

interface InitProducerIdRequest {
  readonly transactionalId: string | null;
}

/**
 * InitProducerId (key 22), v0-5: a producer id from the engine (`Streambed.initProducer`), whose
 * decimal-string ids are below 2^53 and so fit Kafka's int64. With a transactional id, the same id at
 * the next epoch, fencing older holders (the engine's rule); transactions themselves
 * (AddPartitionsToTxn, EndTxn) are not served. A re-init carrying the current id and epoch (v3+, after
 * an error) gets a fresh id, which clients accept.
 *
 * @example initProducerId.handle({ transactionalId: null, transactionTimeoutMs: 60000 }, 4, ctx) // { errorCode: 0, producerId: 4503599627370497n, producerEpoch: 0 }
 */
export const initProducerId: KafkaApiHandler = {
  apiKey: ApiKey.InitProducerId,
  minVersion: 0,
  maxVersion: 5,
  handle: async (request, _version, ctx) => {
    const { transactionalId } = request as unknown as InitProducerIdRequest;
    try {
      const issued = await ctx.engine.initProducer(
        transactionalId === null || transactionalId === '' ? {} : { transactionalId },
      );
      return {
        throttleTimeMs: 0,
        errorCode: KafkaError.NONE,
        producerId: BigInt(issued.producerId),
        producerEpoch: issued.epoch,
      };
    } catch (error) {
      return {
        throttleTimeMs: 0,
        errorCode: toKafkaError(error).errorCode,
        producerId: -1n,
        producerEpoch: -1,
      };
    }
  },
};
