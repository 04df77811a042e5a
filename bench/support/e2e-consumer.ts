import type { StreambedEvent } from '../../lib/core/subscription.ts';

/** Who to tell when the consumer function runs: (offset, partition, performance.now() at invocation, topic). */
export const deliveries = new Set<(offset: number, partition: number, at: number, topic: string) => void>();

/**
 * The bench's consumer function (bench/suites/e2e.ts, bench/suites/arrival.ts): the local consumer runner imports this
 * module by path, the bench imports the same module, so the handler reports straight into the bench.
 */
export async function handler(event: StreambedEvent): Promise<void> {
  const at = performance.now();
  for (const record of event.Records)
    for (const listener of deliveries) listener(record.offset, record.partition, at, event.topic);
}
