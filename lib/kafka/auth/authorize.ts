import { InvalidArgumentError } from '../../core/errors.ts';
import { PrincipalNotAllowedError } from './errors.ts';
import type { CallerIdentity } from './token.ts';

/** Decides whether a verified caller may use this cluster; throws {@link PrincipalNotAllowedError} if not. */
export type CallerAuthorizer = (caller: CallerIdentity) => void;

export interface PrincipalAuthorizerOptions {
  /** The server's own account: callers from it are allowed when no allow-list is given. */
  readonly account?: string;
  /**
   * Who may connect, replacing the same-account rule: an account id (`123456789012`, anyone in it),
   * or an ARN pattern with `*` (`arn:aws:iam::123456789012:role/app-*`). An assumed-role session
   * (`arn:aws:sts::123456789012:assumed-role/app/i-0abc`) matches as its role
   * (`arn:aws:iam::123456789012:role/app`) or as itself.
   */
  readonly allowedPrincipals?: readonly string[];
}

/**
 * The role an assumed-role session ARN is a session of (without the role's path, which the session
 * ARN does not carry); other ARNs unchanged.
 *
 * @example roleArnOf('arn:aws:sts::123456789012:assumed-role/app/i-0abc') // 'arn:aws:iam::123456789012:role/app'
 */
export function roleArnOf(arn: string): string {
  const m = /^arn:([^:]+):sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(arn);
  return m === null ? arn : `arn:${m[1]}:iam::${m[2]}:role/${m[3]}`;
}

function patternToRegExp(pattern: string): RegExp {
  return new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
}

/**
 * The default authorization: callers of the server's own account, or, with `allowedPrincipals`,
 * exactly those. Neither is refused at construction: a verified caller is merely some AWS principal,
 * of any account, so allowing every one must be said (`allowedPrincipals: ['arn:*']`).
 *
 * @example
 * const authorize = principalAuthorizer({ allowedPrincipals: ['arn:aws:iam::123456789012:role/app-*'] });
 * authorize({ arn: 'arn:aws:sts::123456789012:assumed-role/app-billing/i-1', account: '123456789012', userId: 'AROA…:i-1' }); // passes
 */
export function principalAuthorizer(options: PrincipalAuthorizerOptions): CallerAuthorizer {
  const patterns = options.allowedPrincipals;
  if (patterns !== undefined) {
    for (const p of patterns) {
      if (!/^\d{12}$/.test(p) && !p.startsWith('arn:')) {
        throw new InvalidArgumentError(
          `allowed principal '${p}' is neither a 12-digit account id nor an ARN pattern`,
        );
      }
    }
    const accounts = new Set(patterns.filter((p) => /^\d{12}$/.test(p)));
    const arns = patterns.filter((p) => p.startsWith('arn:')).map(patternToRegExp);
    return (caller) => {
      const role = roleArnOf(caller.arn);
      if (accounts.has(caller.account) || arns.some((re) => re.test(caller.arn) || re.test(role))) return;
      throw new PrincipalNotAllowedError(`${caller.arn} is not among the principals allowed on this cluster`);
    };
  }
  const account = options.account;
  if (account === undefined || !/^\d{12}$/.test(account)) {
    throw new InvalidArgumentError(
      `say who may connect: the server's account (12 digits, got ${String(account)}) or allowedPrincipals; ['arn:*'] allows any AWS principal`,
    );
  }
  return (caller) => {
    if (caller.account === account) return;
    throw new PrincipalNotAllowedError(
      `${caller.arn} is of account ${caller.account}, not this cluster's (${account})`,
    );
  };
}
