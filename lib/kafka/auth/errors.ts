import { StreambedError } from '../../core/errors.ts';

/**
 * Why a Kafka client's authentication failed. Every one is answered with Kafka's
 * SASL_AUTHENTICATION_FAILED (58) and this message, then the connection is closed (as Kafka's
 * SaslServerAuthenticator does); `retryable` says whether the same token may pass later (the
 * verifier could not reach STS), so an operator reading the log can tell the two apart.
 *
 * @example
 * catch (e) { if (e instanceof KafkaAuthError) respond(58, e.message); else throw e; }
 */
export abstract class KafkaAuthError extends StreambedError {
  readonly status: number = 401;
}

/** The SASL bytes or the token are not what the mechanism or the token format says. */
export class MalformedTokenError extends KafkaAuthError {
  readonly code = 'KafkaTokenMalformed';
}

/**
 * The token is a URL for a host other than AWS STS (or the configured STS endpoints): it is never
 * fetched (a server that fetched any URL it is given could be made to call anything it can reach).
 */
export class UntrustedTokenHostError extends KafkaAuthError {
  readonly code = 'KafkaTokenUntrustedHost';
}

/** The token's signature time plus its lifetime is past, or its signature time is in the future. */
export class TokenExpiredError extends KafkaAuthError {
  readonly code = 'KafkaTokenExpired';
}

/** STS (or the local verifier) refused the signature: wrong secret, another cluster, changed URL. */
export class CallerRejectedError extends KafkaAuthError {
  readonly code = 'KafkaCallerRejected';
}

/** STS could not be asked (a timeout, a network failure, a 5xx): the same token may pass later. */
export class VerifierUnavailableError extends KafkaAuthError {
  readonly code = 'KafkaVerifierUnavailable';
  override readonly status = 503;
  override readonly retryable = true;
}

/** The caller is who it says, but not allowed on this cluster (another account, not in the allow-list). */
export class PrincipalNotAllowedError extends KafkaAuthError {
  readonly code = 'KafkaPrincipalNotAllowed';
  override readonly status = 403;
}
