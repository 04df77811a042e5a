import { CommanderError } from 'commander';
import { StreambedError } from '../client/index.ts';

/**
 * A mistake in how the CLI was called, found by the CLI itself after commander parsed the arguments:
 * a bad `--config` key, exclusive flags together, a line of input that is not JSON. Exit code 2, as
 * commander's own usage errors.
 *
 * @example
 * throw new UsageError("unknown config key 'retention'; the keys are retentionMs, ...");
 */
export class UsageError extends Error {
  readonly code = 'Usage';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Ctrl-C (SIGINT) or SIGTERM stopped a command before it finished. Exit code 130 (128 + SIGINT), as a
 * shell reports a process killed by Ctrl-C. A following consumer stopped this way exits 0 instead.
 *
 * @example
 * if (signal.aborted) throw new InterruptedError();
 */
export class InterruptedError extends Error {
  readonly code = 'Interrupted';
  constructor(message = 'interrupted') {
    super(message);
    this.name = 'InterruptedError';
  }
}

/** One row of the exit code table: the exit code, the error codes that lead to it, what it means. */
export interface ExitCodeRow {
  readonly exit: number;
  /** Error codes mapped to this exit code; `*` is every code no other row names. */
  readonly codes: readonly string[];
  readonly meaning: string;
}

/**
 * The CLI's exit codes, written once: {@link exitCodeFor} reads it and `streambed --help` prints it.
 * Codes are the server's stable error codes (lib/core/errors.ts) plus the client's `NetworkError` and
 * `Timeout` and the CLI's own `Usage` and `Interrupted`.
 */
export const EXIT_CODES: readonly ExitCodeRow[] = [
  { exit: 0, codes: ['Ok'], meaning: 'success (and Ctrl-C of a following `consume`)' },
  {
    exit: 1,
    codes: ['*'],
    meaning: 'Streambed refused or failed the request: `error <code>: <message>` on stderr',
  },
  { exit: 2, codes: ['Usage'], meaning: 'usage error: a bad command, flag, argument or input line' },
  { exit: 3, codes: ['NetworkError', 'Timeout'], meaning: 'cannot reach the endpoint' },
  { exit: 130, codes: ['Interrupted'], meaning: 'interrupted by Ctrl-C' },
];

/**
 * The stable code of any error the CLI may meet: a Streambed error's `code` (UnknownTopic,
 * NetworkError, ...), `Usage` for commander's and the CLI's usage errors, `Ok` for commander's
 * `--help` and `--version` exits, `Interrupted`, or `Internal` for anything else (a bug).
 *
 * @example
 * errorCode(new UnknownTopicError('orders')); // 'UnknownTopic'
 */
export function errorCode(error: unknown): string {
  if (error instanceof CommanderError) return error.exitCode === 0 ? 'Ok' : 'Usage';
  if (error instanceof UsageError || error instanceof InterruptedError) return error.code;
  if (error instanceof StreambedError) return error.code;
  return 'Internal';
}

/**
 * The exit code for an error, from {@link EXIT_CODES}.
 *
 * @example
 * exitCodeFor(new RemoteError('NetworkError', 0, 'the request failed: fetch failed', true)); // 3
 */
export function exitCodeFor(error: unknown): number {
  const code = errorCode(error);
  const row = EXIT_CODES.find((r) => r.codes.includes(code)) ?? EXIT_CODES.find((r) => r.codes.includes('*'));
  return row?.exit ?? 1;
}

/**
 * The table as the epilog of `streambed --help`.
 *
 * @example
 * program.addHelpText('after', exitCodesHelp());
 */
export function exitCodesHelp(): string {
  const lines = EXIT_CODES.map((r) => {
    const named = r.codes.filter((c) => c !== '*' && c !== 'Ok' && c !== 'Usage' && c !== 'Interrupted');
    const codes = named.length === 0 ? '' : ` (${named.join(', ')})`;
    return `  ${String(r.exit).padEnd(4)}${r.meaning}${codes}`;
  });
  return `\nExit codes:\n${lines.join('\n')}\n`;
}
