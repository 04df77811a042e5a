import type { CallerAuthorizer } from './authorize.ts';
import { KafkaAuthError, PrincipalNotAllowedError } from './errors.ts';
import { SASL_MECHANISMS, saslToken } from './sasl.ts';
import type { CallerVerifier, VerifiedCaller } from './token.ts';

/*
 * One connection's authentication, as Kafka's SaslServerAuthenticator and SocketServer keep it:
 *
 *   start ──SaslHandshake(known mechanism)──▶ handshaken ──SaslAuthenticate(ok)──▶ authenticated
 *     │  ApiVersions is answered here              │ (v0: the next frame is the raw token)   │
 *     └─ anything else: close                      └─ anything else: close   SaslHandshake ─┘ (re-auth, KIP-368)
 *   a failed SaslAuthenticate: SASL_AUTHENTICATION_FAILED, then close; an unknown mechanism:
 *   UNSUPPORTED_SASL_MECHANISM, then close; a request other than SaslHandshake after the session's
 *   lifetime (the token's remaining lifetime, at most `maxSessionMs`): close.
 */

/** The API keys the gate knows by number (as lib/kafka/protocol/api.ts ApiKey). */
const API_VERSIONS = 18;
const SASL_HANDSHAKE = 17;
const SASL_AUTHENTICATE = 36;

/** What the Kafka server needs to authenticate clients. */
export interface KafkaAuthOptions {
  readonly verifier: CallerVerifier;
  /** @default every verified caller */
  readonly authorize?: CallerAuthorizer;
  /** The longest session before the client must re-authenticate (KIP-368). @default 3600000 */
  readonly maxSessionMs?: number;
  /** One line per authentication, for the operator. @default nothing */
  readonly log?: (line: string) => void;
}

export type SaslState = 'start' | 'handshaken' | 'authenticated' | 'failed';

/** The result of an authentication: the session's lifetime, or why it failed. */
export type AuthResult =
  | { readonly ok: true; readonly caller: VerifiedCaller; readonly sessionLifetimeMs: number }
  | { readonly ok: false; readonly message: string };

/**
 * A connection's SASL state: which requests it may send now ({@link gate}), and the two SASL steps.
 *
 * @example
 * const session = new SaslSession(options.auth, clusterId);
 * if (session.gate(header.apiKey, Date.now()) !== undefined) socket.destroy();
 */
export class SaslSession {
  state: SaslState = 'start';
  mechanism: string | undefined;
  /** After a SaslHandshake v0 the client sends its token as a bare frame, not a SaslAuthenticate. */
  rawTokenNext = false;
  caller: VerifiedCaller | undefined;
  sessionExpiresAt: number | undefined;
  /** Why the connection is to close once the current response is sent. */
  closeReason: string | undefined;

  private readonly options: KafkaAuthOptions;
  private readonly clusterId: string;

  constructor(options: KafkaAuthOptions, clusterId: string) {
    this.options = options;
    this.clusterId = clusterId;
  }

  /** undefined: serve the request; a string: close the connection, for that reason. */
  gate(apiKey: number, now: number): string | undefined {
    switch (this.state) {
      case 'start':
        return apiKey === API_VERSIONS || apiKey === SASL_HANDSHAKE
          ? undefined
          : `unexpected Kafka request of type ${apiKey} during SASL handshake (authentication is required)`;
      case 'handshaken':
        return apiKey === SASL_AUTHENTICATE && !this.rawTokenNext
          ? undefined
          : `unexpected Kafka request of type ${apiKey} during SASL authentication`;
      case 'authenticated':
        if (apiKey === SASL_HANDSHAKE) return undefined;
        if (this.sessionExpiresAt !== undefined && now >= this.sessionExpiresAt) {
          return 'the SASL session expired: the client did not re-authenticate (KIP-368)';
        }
        return undefined;
      default:
        return 'authentication failed';
    }
  }

  /** SaslHandshake: true when the mechanism is served (the next step is its token). */
  handshake(mechanism: string, version: number): boolean {
    const reauthenticating = this.state === 'authenticated';
    if (!SASL_MECHANISMS.includes(mechanism) || (reauthenticating && mechanism !== this.mechanism)) {
      this.fail(
        reauthenticating
          ? `re-authentication must use the same SASL mechanism (${this.mechanism}), not ${mechanism}`
          : `SASL mechanism ${mechanism} is not served (${SASL_MECHANISMS.join(', ')} are)`,
      );
      return false;
    }
    this.mechanism = mechanism;
    this.state = 'handshaken';
    this.rawTokenNext = version === 0;
    return true;
  }

  /** SaslAuthenticate (or a v0 raw token): verify, authorize, and start or renew the session. */
  async authenticate(authBytes: Uint8Array, now: number, signal?: AbortSignal): Promise<AuthResult> {
    const mechanism = this.mechanism ?? '';
    const reauthenticating = this.caller !== undefined;
    try {
      const { token } = saslToken(mechanism, authBytes);
      const caller = await this.options.verifier.verifyCaller(token, {
        clusterId: this.clusterId,
        now,
        ...(signal === undefined ? {} : { signal }),
      });
      if (reauthenticating && caller.arn !== this.caller?.arn) {
        throw new PrincipalNotAllowedError(
          `re-authentication must be by the same principal (${this.caller?.arn}), not ${caller.arn}`,
        );
      }
      this.options.authorize?.(caller);
      const sessionLifetimeMs = Math.max(
        1,
        Math.min(caller.expiresAt - now, this.options.maxSessionMs ?? 3_600_000),
      );
      this.caller = caller;
      this.state = 'authenticated';
      this.rawTokenNext = false;
      this.sessionExpiresAt = now + sessionLifetimeMs;
      this.options.log?.(
        `kafka: ${reauthenticating ? 're-authenticated' : 'authenticated'} ${caller.arn} (${mechanism}), session ${sessionLifetimeMs} ms`,
      );
      return { ok: true, caller, sessionLifetimeMs };
    } catch (error) {
      const why =
        error instanceof KafkaAuthError
          ? error.message
          : `the verifier failed (${error instanceof Error ? error.message : String(error)})`;
      const message = `Authentication failed during ${reauthenticating ? 're-authentication' : 'authentication'} with SASL mechanism ${mechanism}: ${why}`;
      this.options.log?.(`kafka: ${message}${error instanceof KafkaAuthError ? ` [${error.code}]` : ''}`);
      this.fail(message);
      return { ok: false, message };
    }
  }

  private fail(reason: string): void {
    this.state = 'failed';
    this.closeReason = reason;
  }
}
