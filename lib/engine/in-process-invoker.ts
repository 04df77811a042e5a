import type { InvokeOutcome, Invoker } from '../core/ports.ts';
import type { StreambedEvent } from '../core/subscription.ts';

/** A consumer function as a plain async function (what a Lambda handler is). */
export type ConsumerHandler = (event: StreambedEvent, context?: unknown) => Promise<unknown> | unknown;

/**
 * Invokes consumer functions in this process (`npm start` and tests): a thrown error is a function
 * error, as a Lambda handler's would be.
 *
 * @example
 * const invoker = new InProcessInvoker({ billing: async (event) => { ... } });
 */
export class InProcessInvoker implements Invoker {
  private readonly handlers: Map<string, ConsumerHandler>;

  constructor(handlers: Readonly<Record<string, ConsumerHandler>> = {}) {
    this.handlers = new Map(Object.entries(handlers));
  }

  register(name: string, handler: ConsumerHandler): void {
    this.handlers.set(name, handler);
  }

  async invoke(target: string, event: StreambedEvent): Promise<InvokeOutcome> {
    const handler = this.handlers.get(target);
    if (handler === undefined) return { ok: false, error: `no consumer handler named '${target}'` };
    try {
      // A JSON round trip gives the handler its own copy, as a Lambda invocation would.
      const response = await handler(JSON.parse(JSON.stringify(event)) as StreambedEvent);
      return { ok: true, response: response === undefined ? null : JSON.parse(JSON.stringify(response)) };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
    }
  }
}
