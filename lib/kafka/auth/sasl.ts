import { MalformedTokenError } from './errors.ts';

/*
 * The two SASL mechanisms the Kafka door serves, each carrying the same token (token.ts):
 *
 *   OAUTHBEARER (RFC 7628), one client message:
 *     gs2-header      "n,"  [ "a=" authzid ]  ","           e.g. "n,,"
 *     kvsep           %x01
 *     "auth=Bearer "  <token>  %x01
 *     *( key "=" value %x01 )                                (SASL extensions, ignored)
 *     kvsep           %x01
 *   kafkajs: sasl: { mechanism: 'oauthbearer', oauthBearerProvider }; Java: OAUTHBEARER with a login
 *   callback handler; @platformatic/kafka: sasl: { mechanism: 'OAUTHBEARER', token }.
 *
 *   PLAIN (RFC 4616), one client message:  [authzid] %x00 username %x00 password
 *   with the token as the password (username: anything, e.g. `aws`), for librdkafka/kcat:
 *     -X security.protocol=SASL_SSL -X sasl.mechanism=PLAIN -X sasl.username=aws -X sasl.password=<token>
 *
 * Either way the server answers with empty bytes on success: one round trip.
 */

/** The mechanisms served, in the order SaslHandshake lists them. */
export const SASL_MECHANISMS: readonly string[] = ['OAUTHBEARER', 'PLAIN'];

/** A mechanism's first (and only) client message, read. */
export interface SaslClientMessage {
  readonly token: string;
  /** PLAIN's username (informational); OAUTHBEARER's authzid when given. */
  readonly user: string;
}

/**
 * Reads an OAUTHBEARER client first message (RFC 7628 §3.1).
 *
 * @example parseOAuthBearer(Buffer.from('n,,\x01auth=Bearer aHR0cHM6Ly9zdHM\x01\x01')) // { token: 'aHR0cHM6Ly9zdHM', user: '' }
 */
export function parseOAuthBearer(bytes: Uint8Array): SaslClientMessage {
  const text = Buffer.from(bytes).toString('utf8');
  const parts = text.split('\x01');
  const gs2 = parts[0] ?? '';
  if (
    !gs2.startsWith('n,') ||
    !gs2.endsWith(',') ||
    parts.length < 4 ||
    parts.at(-1) !== '' ||
    parts.at(-2) !== ''
  ) {
    throw new MalformedTokenError(
      'an OAUTHBEARER message is "n,,\\x01auth=Bearer <token>\\x01\\x01" (RFC 7628); this one is not',
    );
  }
  const authzid = /^n,"?a=([^,]*),$/.exec(gs2)?.[1] ?? '';
  for (const kv of parts.slice(1, -2)) {
    const eq = kv.indexOf('=');
    if (eq > 0 && kv.slice(0, eq) === 'auth') {
      const m = /^bearer +(\S+)$/i.exec(kv.slice(eq + 1));
      if (m === null) throw new MalformedTokenError('the OAUTHBEARER auth value must be "Bearer <token>"');
      return { token: m[1] as string, user: authzid };
    }
  }
  throw new MalformedTokenError('the OAUTHBEARER message has no auth=Bearer <token>');
}

/**
 * Reads a PLAIN client message (RFC 4616): the password is the token.
 *
 * @example parsePlain(Buffer.from('\x00aws\x00aHR0cHM6Ly9zdHM')) // { token: 'aHR0cHM6Ly9zdHM', user: 'aws' }
 */
export function parsePlain(bytes: Uint8Array): SaslClientMessage {
  const parts = Buffer.from(bytes).toString('utf8').split('\x00');
  if (parts.length !== 3) {
    throw new MalformedTokenError(
      'a PLAIN message is [authzid] NUL username NUL password (RFC 4616); this one is not',
    );
  }
  const [authzid, user, password] = parts as [string, string, string];
  if (authzid !== '' && authzid !== user) {
    throw new MalformedTokenError(
      'PLAIN: an authorization identity other than the username is not supported',
    );
  }
  if (password === '') throw new MalformedTokenError('PLAIN: the password (the token) is empty');
  return { token: password, user };
}

/**
 * The token in a mechanism's client message.
 *
 * @example saslToken('PLAIN', Buffer.from('\x00aws\x00' + token)) // token
 */
export function saslToken(mechanism: string, bytes: Uint8Array): SaslClientMessage {
  if (mechanism === 'OAUTHBEARER') return parseOAuthBearer(bytes);
  if (mechanism === 'PLAIN') return parsePlain(bytes);
  throw new MalformedTokenError(`SASL mechanism ${mechanism} is not served`);
}
