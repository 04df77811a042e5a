import { Admin } from './admin.ts';
import { Consumer, type ConsumerOptions } from './consumer.ts';
import { DirectTransport, type DirectTransportOptions } from './direct-transport.ts';
import { HttpTransport, type HttpTransportOptions } from './http-transport.ts';
import { Producer, type ProducerOptions } from './producer.ts';
import type { RetryOptions } from './retry.ts';
import type { Transport } from './transport.ts';

export type ClientOptions =
  | (HttpTransportOptions & { readonly retry?: RetryOptions })
  | { readonly direct: DirectTransportOptions; readonly retry?: RetryOptions }
  | { readonly transport: Transport; readonly retry?: RetryOptions };

/**
 * The entry point of the SDK: one transport (HTTP, signed or not, or direct on your own S3 and
 * DynamoDB clients) shared by the producers, consumers and admin it makes.
 *
 * @example
 * const client = new StreambedClient({ endpoint: 'http://127.0.0.1:8080', auth: 'none' });
 * const producer = client.producer();
 * await producer.send({ topic: 'orders', key: 'customer-42', json: { total: 12 } });
 * await producer.close();
 * await client.close();
 *
 * // On AWS, through API Gateway with IAM:
 * new StreambedClient({ endpoint: 'https://abc.execute-api.eu-west-1.amazonaws.com', auth: 'sigv4' });
 * // Or straight to the tables, without API Gateway and Lambda:
 * new StreambedClient({ direct: { s3, dynamodb, bucket: 'my-streambed', tables: { log, meta } } });
 */
export class StreambedClient {
  readonly transport: Transport;
  private readonly retry: RetryOptions | undefined;

  constructor(options: ClientOptions) {
    this.transport =
      'transport' in options
        ? options.transport
        : 'direct' in options
          ? new DirectTransport(options.direct)
          : new HttpTransport(options);
    this.retry = options.retry;
  }

  /**
   * A new producer on this client's transport.
   *
   * @example
   * const producer = client.producer({ lingerMs: 20, batchBytes: 2 * 1024 * 1024 });
   */
  producer(options: ProducerOptions = {}): Producer {
    return new Producer(this.transport, {
      ...(this.retry === undefined ? {} : { retry: this.retry }),
      ...options,
    });
  }

  /**
   * A new member of a consumer group on this client's transport.
   *
   * @example
   * const consumer = client.consumer({ group: 'billing', topic: 'orders' });
   */
  consumer(options: ConsumerOptions): Consumer {
    return new Consumer(this.transport, {
      ...(this.retry === undefined ? {} : { retry: this.retry }),
      ...options,
    });
  }

  /**
   * Topic, offset and group administration on this client's transport.
   *
   * @example
   * await client.admin().createTopic({ name: 'orders', partitions: 3 });
   */
  admin(): Admin {
    return new Admin(this.transport, this.retry === undefined ? {} : { retry: this.retry });
  }

  /**
   * Closes the transport. Close producers (to flush them) and consumers (to leave their groups) first.
   *
   * @example
   * await producer.close(); await consumer.close(); await client.close();
   */
  close(): Promise<void> {
    return this.transport.close();
  }
}
