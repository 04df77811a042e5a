import { ApiKey } from '../../protocol/api.ts';
import type { KafkaApiHandler } from '../context.ts';
import { KafkaError } from '../error-codes.ts';

/**
 * SaslAuthenticate (key 36), v0-2: the mechanism's one client message, carrying the token. On
 * success: empty bytes and (v1+) `sessionLifetimeMs`, the token's remaining lifetime capped at the
 * server's maximum, after which the client must re-authenticate (KIP-368). On failure:
 * SASL_AUTHENTICATION_FAILED with the reason, then the connection closes (dispatch.ts).
 *
 * @example saslAuthenticate.handle({ authBytes: Buffer.from('\x00aws\x00<token>') }, 2, ctx) // { errorCode: 0, sessionLifetimeMs: 899000n, ... }
 */
export const saslAuthenticate: KafkaApiHandler = {
  apiKey: ApiKey.SaslAuthenticate,
  minVersion: 0,
  maxVersion: 2,
  handle: async (request, _version, ctx) => {
    const bytes = request.authBytes instanceof Uint8Array ? request.authBytes : new Uint8Array();
    if (ctx.sasl === undefined) {
      return { errorCode: KafkaError.ILLEGAL_SASL_STATE, errorMessage: 'authentication is not enabled' };
    }
    const result = await ctx.sasl.authenticate(bytes, ctx.clock.now(), ctx.signal);
    return result.ok
      ? {
          errorCode: KafkaError.NONE,
          errorMessage: null,
          authBytes: new Uint8Array(),
          sessionLifetimeMs: BigInt(result.sessionLifetimeMs),
        }
      : {
          errorCode: KafkaError.SASL_AUTHENTICATION_FAILED,
          errorMessage: result.message,
          authBytes: new Uint8Array(),
        };
  },
};
