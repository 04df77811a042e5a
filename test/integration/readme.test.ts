import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { freePort } from '../../lib/harness/process.ts';
import { startLocal, stopLocal as stop } from '../support/local-start.ts';

const root = new URL('../../', import.meta.url).pathname;

/** The shell commands between the README's quickstart markers, with their expected-output comments. */
function quickstart(port: number): { commands: string[]; expected: string[] } {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const block = /<!-- quickstart -->\s*```sh\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(block, 'README has a quickstart block');
  const commands: string[] = [];
  const expected: string[] = [];
  for (const line of block.replace(/\\\n\s*/g, '').split('\n')) {
    if (line.startsWith('curl')) commands.push(line.replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`));
    else if (line.startsWith('# {"offsets"')) expected.push(line.slice(2));
  }
  return { commands, expected };
}

describe("the README's local quickstart", () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'streambed-readme-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  test('npm start serves the documented curl produce + fetch, stops on Ctrl-C, and keeps data across restarts', async (t) => {
    const port = await freePort();
    const first = await startLocal(port, dataDir);
    t.after(() => stop(first.child));
    assert.match(first.output(), /Authorization is OFF locally/);
    const { commands, expected } = quickstart(port);
    assert.equal(commands.length, 3);
    const outputs = commands.map((command) => execFileSync('bash', ['-c', command], { encoding: 'utf8' }));
    assert.equal(JSON.parse(outputs[0] ?? '').name, 'orders');
    assert.deepEqual(JSON.parse(outputs[1] ?? ''), JSON.parse(expected[0] ?? ''));
    const fetched = JSON.parse(outputs[2] ?? '');
    assert.deepEqual(fetched.records[0].value, { total: 12 });
    assert.equal(fetched.records[1].valueBase64, 'AAEC');
    assert.equal(fetched.highWatermark, 2);
    assert.equal(await stop(first.child), 0);
    assert.match(first.output(), /stopped\./);

    const second = await startLocal(port, dataDir);
    t.after(() => stop(second.child));
    const again = JSON.parse(execFileSync('bash', ['-c', commands[2] ?? ''], { encoding: 'utf8' }));
    assert.deepEqual(again.records, fetched.records);
    assert.equal(await stop(second.child), 0);
  });
});
