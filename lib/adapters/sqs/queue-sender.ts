import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { QueueSender } from '../../core/ports.ts';
import { mapAwsError } from '../aws-errors.ts';

/**
 * Sends on-failure records to SQS queues.
 *
 * @example
 * const sqs = new SqsQueueSender(new SQSClient({}));
 */
export class SqsQueueSender implements QueueSender {
  private readonly client: SQSClient;

  constructor(client: SQSClient) {
    this.client = client;
  }

  async send(queueUrl: string, body: string): Promise<void> {
    await this.client
      .send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }))
      .catch(mapAwsError);
  }
}
