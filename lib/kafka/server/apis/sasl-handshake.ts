import { SASL_MECHANISMS } from '../../auth/sasl.ts';
import { ApiKey } from '../../protocol/api.ts';
import type { KafkaApiHandler } from '../context.ts';
import { KafkaError } from '../error-codes.ts';

/**
 * SaslHandshake (key 17), v0-1: the client names its mechanism; the answer lists the ones served
 * (OAUTHBEARER, PLAIN). An unknown one gets UNSUPPORTED_SASL_MECHANISM and the connection closes, as
 * in Kafka. After v1 the token comes in a SaslAuthenticate; after v0, as the next bare frame.
 * Served only when the server requires authentication (server.ts `auth`).
 *
 * @example saslHandshake.handle({ mechanism: 'PLAIN' }, 1, ctx) // { errorCode: 0, mechanisms: ['OAUTHBEARER', 'PLAIN'] }
 */
export const saslHandshake: KafkaApiHandler = {
  apiKey: ApiKey.SaslHandshake,
  minVersion: 0,
  maxVersion: 1,
  handle: async (request, version, ctx) => {
    const ok = ctx.sasl?.handshake(String(request.mechanism), version) ?? false;
    return {
      errorCode: ok ? KafkaError.NONE : KafkaError.UNSUPPORTED_SASL_MECHANISM,
      mechanisms: SASL_MECHANISMS,
    };
  },
};
