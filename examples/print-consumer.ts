import type { StreambedEvent } from '../lib/core/subscription.ts';

/**
 * A consumer function: prints each record. The same handler runs in-process under `npm start` and
 * as a Lambda function on AWS (`log.addConsumer({ group, topic, handler })`).
 */
export async function handler(event: StreambedEvent): Promise<void> {
  for (const record of event.Records) {
    const value = record.value ?? `<${record.valueBase64?.length ?? 0} base64 chars>`;
    console.log(
      `[${event.group}] ${event.topic}/${record.partition}@${record.offset} key=${record.key} ${JSON.stringify(value)}`,
    );
  }
}
