import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../../lib/harness/process.ts';
import { startLocal, stopLocal } from '../support/local-start.ts';

const root = new URL('../../', import.meta.url).pathname;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `node lib/cli/main.ts ...args` as a child process (this Node: 24), stdin from `input`. */
function cli(args: string[], options: { input?: string; endpoint?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['lib/cli/main.ts', ...args], {
      cwd: root,
      env: { ...process.env, STREAMBED_ENDPOINT: options.endpoint ?? endpoint },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

const lines = (text: string) => text.split('\n').filter((l) => l !== '');

let endpoint = '';

describe('the streambed CLI against npm start', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'streambed-cli-'));
  let server: Awaited<ReturnType<typeof startLocal>> | undefined;

  before(async () => {
    const port = await freePort();
    endpoint = `http://127.0.0.1:${port}`;
    server = await startLocal(port, dataDir);
  });

  after(async () => {
    if (server !== undefined) await stopLocal(server.child);
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('topics create, list, describe and delete; a bad config key is a usage error', async () => {
    const created = await cli([
      'topics',
      'create',
      'scratch',
      '--partitions',
      '2',
      '--config',
      'retentionMs=60000',
    ]);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /created topic 'scratch' with 2 partitions/);
    const again = await cli(['topics', 'create', 'scratch', '--partitions', '2']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^error TopicAlreadyExists: /);
    const badKey = await cli(['topics', 'create', 'other', '-p', '1', '--config', 'retention=5']);
    assert.equal(badKey.code, 2);
    assert.match(badKey.stderr, /Unknown topic config key 'retention'/);

    assert.ok(lines((await cli(['topics', 'list'])).stdout).includes('scratch'));
    const described = await cli(['topics', 'describe', 'scratch']);
    assert.equal(described.code, 0, described.stderr);
    assert.match(described.stdout, /Partitions: 2/);
    assert.match(described.stdout, /retentionMs=60000/);
    assert.match(described.stdout, /PARTITION +LOG-START +HIGH-WATERMARK/);
    assert.match(described.stdout, /\n1 +0 +0 +0\n/);

    const deleted = await cli(['topics', 'delete', 'scratch']);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.ok(!lines((await cli(['topics', 'list'])).stdout).includes('scratch'));
  });

  test('produce a keyed JSON file, then consume it to the end in the default, json and kcat formats', async () => {
    assert.equal((await cli(['topics', 'create', 'orders', '--partitions', '3'])).code, 0);
    const file = join(dataDir, 'orders.txt');
    const input = Array.from({ length: 30 }, (_, i) => `customer-${i % 5}|{"n":${i}}`);
    writeFileSync(file, `${input.join('\n')}\n`);
    const produced = await cli(['produce', 'orders', '--file', file, '--key-separator', '|', '--json']);
    assert.equal(produced.code, 0, produced.stderr);
    assert.match(produced.stderr, /^produced 30 records \(.+\) to \d partitions? of 'orders' in [\d.]+ s\n$/);

    const plain = await cli(['consume', 'orders', '--from-beginning', '-e']);
    assert.equal(plain.code, 0, plain.stderr);
    const values = lines(plain.stdout).map((l) => JSON.parse(l).n as number);
    assert.deepEqual(
      [...values].sort((a, b) => a - b),
      Array.from({ length: 30 }, (_, i) => i),
    );
    assert.match(plain.stderr, /consumed 30 records/);

    const json = lines(
      (await cli(['consume', 'orders', '--from-beginning', '-e', '--format', 'json'])).stdout,
    ).map((l) => JSON.parse(l));
    assert.equal(json.length, 30);
    const first = json.find((r) => r.value.n === 0);
    assert.equal(first.topic, 'orders');
    assert.equal(first.key, 'customer-0');
    assert.deepEqual(first.headers, {});
    // Records of one key keep their order in their partition.
    const ofKey = json.filter((r) => r.key === 'customer-3');
    assert.ok(ofKey.every((r) => r.partition === ofKey[0].partition));
    assert.deepEqual(
      ofKey.map((r) => r.value.n),
      [3, 8, 13, 18, 23, 28],
    );

    const kcat = await cli([
      'consume',
      'orders',
      '-b',
      '-e',
      '--partition',
      String(first.partition),
      '-f',
      '%t/%p/%o %k=%s\\n',
    ]);
    assert.equal(kcat.code, 0, kcat.stderr);
    assert.equal(
      lines(kcat.stdout)[0],
      `orders/${first.partition}/0 ${json.find((r) => r.partition === first.partition && r.offset === 0).key}=${JSON.stringify(json.find((r) => r.partition === first.partition && r.offset === 0).value)}`,
    );

    const limited = await cli(['consume', 'orders', '-b', '--max-messages', '4']);
    assert.equal(limited.code, 0, limited.stderr);
    assert.equal(lines(limited.stdout).length, 4);
  });

  test('a line that is not JSON stops produce with exit 2, naming the line and how many records were sent', async () => {
    assert.equal((await cli(['topics', 'create', 'strict', '-p', '1'])).code, 0);
    const run = await cli(['produce', 'strict', '--json'], { input: '{"a":1}\n{"a":2}\n{oops\n{"a":4}\n' });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /line 3: not JSON .*the 2 records before it were sent/);
    const back = await cli(['consume', 'strict', '-b', '-e']);
    assert.deepEqual(lines(back.stdout), ['{"a":1}', '{"a":2}']);
  });

  test('a group consumes with commits, shows its lag, and reset-offsets moves it back (dry run first)', async () => {
    assert.equal((await cli(['topics', 'create', 'payments', '-p', '2'])).code, 0);
    const input = Array.from({ length: 10 }, (_, i) => `k${i}:v${i}`).join('\n');
    assert.equal((await cli(['produce', 'payments', '-K', ':'], { input })).code, 0);

    const first = await cli(['consume', 'payments', '--group', 'billing', '--from-beginning', '-e']);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(lines(first.stdout).length, 10);
    const second = await cli(['consume', 'payments', '--group', 'billing', '--from-beginning', '-e']);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout, '', 'the group committed everything: nothing new');

    assert.equal(
      (await cli(['produce', 'payments', '-p', '0'], { input: 'late-1\nlate-2\nlate-3\n' })).code,
      0,
    );
    assert.ok(lines((await cli(['groups', 'list'])).stdout).includes('billing'));
    const described = await cli(['groups', 'describe', 'billing']);
    assert.equal(described.code, 0, described.stderr);
    assert.match(described.stdout, /TOPIC +PARTITION +COMMITTED +END +LAG +LAG-SECONDS/);
    const p0 = lines(described.stdout)
      .find((l) => /^payments +0 /.test(l))
      ?.split(/ +/);
    assert.ok(p0, described.stdout);
    assert.equal(Number(p0[3]) - Number(p0[2]), 3);
    assert.equal(p0[4], '3');
    assert.match(described.stdout, /total lag: 3 records/);

    const dry = await cli([
      'groups',
      'reset-offsets',
      'billing',
      '--topic',
      'payments',
      '--to-earliest',
      '--dry-run',
    ]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /\npayments +0 +\d+ +0\n/);
    assert.match(dry.stderr, /dry run: nothing changed/);
    assert.match(
      (await cli(['groups', 'describe', 'billing', '--topic', 'payments'])).stdout,
      /total lag: 3 records/,
    );

    const plan = await cli(['groups', 'reset-offsets', 'billing', '--topic', 'payments', '--to-earliest']);
    assert.match(plan.stderr, /dry run: nothing changed \(with --execute/);
    const reset = await cli([
      'groups',
      'reset-offsets',
      'billing',
      '--topic',
      'payments',
      '--to-earliest',
      '--execute',
    ]);
    assert.equal(reset.code, 0, reset.stderr);
    assert.match(
      (await cli(['groups', 'describe', 'billing', '--topic', 'payments'])).stdout,
      /total lag: 13 records/,
    );
    const replay = await cli(['consume', 'payments', '--group', 'billing', '-e', '--max-messages', '5']);
    assert.equal(lines(replay.stdout).length, 5);
  });

  test('a following consumer prints records as they arrive and Ctrl-C stops it cleanly with exit 0 and a commit', async () => {
    assert.equal((await cli(['topics', 'create', 'live', '-p', '1'])).code, 0);
    const child = spawn(process.execPath, ['lib/cli/main.ts', 'consume', 'live', '--group', 'tail'], {
      cwd: root,
      env: { ...process.env, STREAMBED_ENDPOINT: endpoint },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    try {
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      assert.equal((await cli(['produce', 'live'], { input: 'hello\nworld\n' })).code, 0);
      const deadline = Date.now() + 20_000;
      while (lines(stdout).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(lines(stdout), ['hello', 'world']);
      child.kill('SIGINT');
      assert.equal(await exited, 0);
    } finally {
      child.kill('SIGKILL');
    }
    assert.match((await cli(['groups', 'describe', 'tail'])).stdout, /\nlive +0 +2 +2 +0 /);
  });

  test('exit codes: an unknown topic 1, a usage error 2, a dead endpoint 3', async () => {
    const unknown = await cli(['consume', 'no-such-topic', '-e']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^error UnknownTopic: topic 'no-such-topic' does not exist\n/);
    const usage = await cli(['topics', 'create', 'x', '--partitions', 'many']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /error: option '-p, --partitions <n>' argument 'many' is invalid/);
    const dead = await cli(['topics', 'list'], { endpoint: `http://127.0.0.1:${await freePort()}` });
    assert.equal(dead.code, 3);
    assert.match(dead.stderr, /^error NetworkError: .*ECONNREFUSED/);
  });

  test('--help works on every command and subcommand', async () => {
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
    const runs = await Promise.all(commands.map((c) => cli([...c, '--help'])));
    for (const [i, run] of runs.entries()) {
      const name = ['streambed', ...(commands[i] ?? [])].join(' ');
      assert.equal(run.code, 0, name);
      assert.ok(run.stdout.startsWith(`Usage: ${name} `), `${name}: ${run.stdout}`);
    }
    assert.match(runs[0]?.stdout ?? '', /Exit codes:/);
  });
});
