import type { BatchRefs } from '../core/wire/batch-refs.ts';
import type { FetchLike } from './node-fetch.ts';

/** A batch named by a references answer could not be read from the bucket (why: `cause`). */
export class DirectReadError extends Error {
  override readonly name = 'DirectReadError';
}

/** GETs in flight per references answer (as the server's own ranged GETs per fetch). */
const CONCURRENCY = 8;

/**
 * Reads every batch a references answer names, straight from the bucket: one GET per batch with its
 * signed Range header, up to 8 at once, each answer exactly the batch's length. Any failure — the
 * bucket unreachable, a URL refused or expired, an object gone (403/404), a short answer — is a
 * {@link DirectReadError}: the caller fetches through the API instead, which knows where the log is now.
 *
 * @example
 * const bytes = await readReferencedBatches(nodeFetch(), refs, 30_000);
 */
export async function readReferencedBatches(
  fetchImpl: FetchLike,
  refs: BatchRefs,
  timeoutMs: number,
): Promise<Uint8Array[]> {
  const out = new Array<Uint8Array>(refs.batches.length);
  let next = 0;
  const worker = async () => {
    while (next < refs.batches.length) {
      const i = next++;
      const ref = refs.batches[i] as BatchRefs['batches'][number];
      let bytes: Uint8Array;
      let status: number;
      try {
        const answer = await fetchImpl(new URL(ref.url), {
          method: 'GET',
          headers: { range: ref.range },
          signal: AbortSignal.timeout(timeoutMs),
        });
        status = answer.status;
        bytes = new Uint8Array(await answer.arrayBuffer());
      } catch (cause) {
        throw new DirectReadError(`reading the batch at offset ${ref.baseOffset} from the bucket failed`, {
          cause,
        });
      }
      if ((status !== 200 && status !== 206) || bytes.length !== ref.length) {
        throw new DirectReadError(
          `the bucket answered ${status} with ${bytes.length} bytes for the ${ref.length}-byte batch at offset ${ref.baseOffset}`,
        );
      }
      out[i] = bytes;
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, refs.batches.length) }, worker));
  return out;
}
