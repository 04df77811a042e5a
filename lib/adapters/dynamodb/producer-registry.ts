import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { IssuedProducer, ProducerRegistry } from '../../core/ports.ts';

export interface DynamoProducerRegistryOptions {
  readonly client: DynamoDBClient;
  /** The `meta` table. */
  readonly table: string;
}

/** Producer ids in the `meta` table (stub: being written). */
export class DynamoProducerRegistry implements ProducerRegistry {
  readonly options: DynamoProducerRegistryOptions;
  constructor(options: DynamoProducerRegistryOptions) {
    this.options = options;
  }
  async init(_transactionalId?: string): Promise<IssuedProducer> {
    throw new Error('not implemented');
  }
  async get(_producerId: string): Promise<IssuedProducer | undefined> {
    throw new Error('not implemented');
  }
}
