import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { CommanderError } from 'commander';
import {
  EXIT_CODES,
  exitCodeFor,
  exitCodesHelp,
  InterruptedError,
  UsageError,
} from '../../lib/cli/exit-codes.ts';
import { main } from '../../lib/cli/main.ts';
import {
  GroupActiveError,
  InvalidArgumentError,
  RemoteError,
  UnknownTopicError,
} from '../../lib/client/index.ts';

/** Runs main() on in-memory streams; the endpoint is one nothing listens on, so no test reaches a server. */
async function run(argv: string[], env: Record<string, string> = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  stderr.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const code = await main(argv, { stdin: new PassThrough(), stdout, stderr, env });
  return { code, out, err };
}

describe('exit codes', () => {
  test('server errors exit 1, network errors and timeouts 3, usage 2, interrupts 130', () => {
    assert.equal(exitCodeFor(new UnknownTopicError('x')), 1);
    assert.equal(exitCodeFor(new GroupActiveError('g', 't', [])), 1);
    assert.equal(exitCodeFor(new InvalidArgumentError('bad')), 1);
    assert.equal(exitCodeFor(new RemoteError('InternalError', 500, 'boom', false)), 1);
    assert.equal(exitCodeFor(new RemoteError('NetworkError', 0, 'fetch failed', true)), 3);
    assert.equal(exitCodeFor(new RemoteError('Timeout', 0, 'slow', true)), 3);
    assert.equal(exitCodeFor(new UsageError('bad flag')), 2);
    assert.equal(exitCodeFor(new CommanderError(1, 'commander.unknownOption', 'x')), 2);
    assert.equal(exitCodeFor(new CommanderError(0, 'commander.helpDisplayed', 'x')), 0);
    assert.equal(exitCodeFor(new InterruptedError()), 130);
    assert.equal(exitCodeFor(new Error('a bug')), 1);
  });

  test('--help prints every row of the table, so the documentation is the mapping', () => {
    const help = exitCodesHelp();
    for (const row of EXIT_CODES) {
      assert.ok(help.includes(`\n  ${String(row.exit).padEnd(4)}${row.meaning}`), String(row.exit));
    }
    assert.match(help, /NetworkError, Timeout/);
  });
});

describe('argument parsing through main()', () => {
  test('--help on the program and on every command and subcommand exits 0 with its usage on stdout', async () => {
    const commands = [
      [],
      ['topics'],
      ['topics', 'create'],
      ['topics', 'list'],
      ['topics', 'describe'],
      ['topics', 'delete'],
      ['produce'],
      ['consume'],
      ['groups'],
      ['groups', 'list'],
      ['groups', 'describe'],
      ['groups', 'reset-offsets'],
    ];
    for (const command of commands) {
      const { code, out } = await run([...command, '--help']);
      assert.equal(code, 0, command.join(' '));
      assert.match(out, new RegExp(`Usage: streambed ${command.join(' ')}`.trim()), command.join(' '));
    }
    assert.match((await run(['--help'])).out, /Exit codes:\n {2}0 /);
  });

  test('--version prints the package version and exits 0', async () => {
    const { code, out } = await run(['--version']);
    assert.equal(code, 0);
    assert.match(out, /^\d+\.\d+\.\d+\n$/);
  });

  test("commander's usage errors exit 2 with the message on stderr: unknown command, option, missing argument", async () => {
    for (const argv of [
      ['nope'],
      ['topics', 'list', '--bogus'],
      ['topics', 'create', 'orders'],
      ['topics', 'create'],
      ['consume'],
      ['--auth', 'basic', 'topics', 'list'],
    ]) {
      const { code, err, out } = await run(argv);
      assert.equal(code, 2, argv.join(' '));
      assert.match(err, /error: /, argv.join(' '));
      assert.equal(out, '', argv.join(' '));
    }
  });

  test('a command group without a subcommand shows its help on stderr and exits 2', async () => {
    const { code, err } = await run(['groups']);
    assert.equal(code, 2);
    assert.match(err, /Usage: streambed groups/);
  });

  test('bad values are refused before any request: partitions, config keys, timestamps, formats, flag clashes', async () => {
    const cases: [string[], RegExp][] = [
      [['topics', 'create', 'o', '--partitions', 'three'], /--partitions/],
      [
        ['topics', 'create', 'o', '-p', '1', '--config', 'retention=1'],
        /Unknown topic config key 'retention'/,
      ],
      [['consume', 'o', '--timestamp', 'soon'], /ISO 8601/],
      [['consume', 'o', '--format', '%z'], /unknown token '%z'/],
      [['consume', 'o', '--from-beginning', '--offset', '3'], /one start position/],
      [['consume', 'o', '--group', 'g', '--partition', '0'], /--partition/],
      [['groups', 'reset-offsets', 'g', '--topic', 'o'], /exactly one of --to-earliest/],
      [
        ['groups', 'reset-offsets', 'g', '--topic', 'o', '--to-earliest', '--partitions', 'x'],
        /--partitions/,
      ],
      [['produce', 'o', '--file', '/nonexistent/streambed-input'], /cannot read --file/],
    ];
    for (const [argv, message] of cases) {
      const { code, err } = await run(argv, { STREAMBED_ENDPOINT: 'http://127.0.0.1:2' });
      assert.equal(code, 2, `${argv.join(' ')}: ${err}`);
      assert.match(err, message, argv.join(' '));
    }
  });

  test('main() is importable without running: importing it parsed nothing and set no exit code', () => {
    assert.equal(process.exitCode, undefined);
  });
});
