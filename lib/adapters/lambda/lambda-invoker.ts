import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { InvokeOutcome, Invoker } from '../../core/ports.ts';
import type { StreambedEvent } from '../../core/subscription.ts';
import { mapAwsError } from '../aws-errors.ts';

/**
 * Invokes consumer functions with a synchronous Lambda Invoke. A function error (the handler threw
 * or timed out) is a failed delivery; a throttled or failed Invoke call is a retryable error.
 *
 * @example
 * const invoker = new LambdaInvoker(new LambdaClient({}));
 */
export class LambdaInvoker implements Invoker {
  private readonly client: LambdaClient;

  constructor(client: LambdaClient) {
    this.client = client;
  }

  async invoke(target: string, event: StreambedEvent): Promise<InvokeOutcome> {
    const out = await this.client
      .send(
        new InvokeCommand({
          FunctionName: target,
          InvocationType: 'RequestResponse',
          Payload: new TextEncoder().encode(JSON.stringify(event)),
        }),
      )
      .catch(mapAwsError);
    const text = out.Payload === undefined ? '' : new TextDecoder().decode(out.Payload);
    let response: unknown;
    try {
      response = text === '' ? null : JSON.parse(text);
    } catch {
      response = text;
    }
    if (out.FunctionError !== undefined) {
      const message = (response as { errorMessage?: string } | null)?.errorMessage ?? out.FunctionError;
      return { ok: false, error: message };
    }
    return { ok: true, response };
  }
}
