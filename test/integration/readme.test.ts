import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/** The body of the README's code block between `<!-- name -->` markers. */
function block(name: string, language: string): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const found = new RegExp(`<!-- ${name} -->\\s*\`\`\`${language}\\n([\\s\\S]*?)\`\`\``).exec(readme)?.[1];
  assert.ok(found, `README has a ${name} block`);
  return found;
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

  test('the CLI and SDK quickstarts run as written against npm start: produce, consume, group lag, a dry-run reset, then the SDK', async (t) => {
    assert.ok(
      existsSync(join(root, 'dist/client/index.js')),
      'streambed/client resolves to dist/: run npm install or npm run build first',
    );
    const port = await freePort();
    const local = await startLocal(port, mkdtempSync(join(tmpdir(), 'streambed-readme-cli-')));
    t.after(() => stop(local.child));
    const env = { ...process.env, STREAMBED_ENDPOINT: `http://127.0.0.1:${port}` };
    const outputs: string[] = [];
    for (const line of block('quickstart-cli', 'sh').split('\n')) {
      if (!line.includes('npx streambed')) continue;
      outputs.push(
        execFileSync('bash', ['-c', line], {
          encoding: 'utf8',
          env,
          cwd: root,
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
      );
    }
    assert.equal(outputs.length, 6);
    assert.deepEqual(outputs[2]?.trim().split('\n').sort(), [
      '0:0 customer-42={"total":12}',
      '1:0 customer-7={"total":3}',
    ]);
    assert.deepEqual(outputs[3]?.trim().split('\n').sort(), ['{"total":12}', '{"total":3}']);
    assert.match(outputs[4] ?? '', /total lag: 0 records/);
    assert.match(outputs[5] ?? '', /payments +0 +1 +0/);

    const script = join(root, `.readme-sdk-${process.pid}.ts`);
    writeFileSync(script, block('quickstart-sdk', 'ts').replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`));
    t.after(() => rmSync(script, { force: true }));
    const printed = execFileSync(process.execPath, [script], { encoding: 'utf8', cwd: root });
    const lines = printed.trim().split('\n');
    assert.equal(lines[0], "{ topic: 'payments', partition: 0, offset: 1 }");
    assert.deepEqual(lines.slice(1).sort(), ['0 0 { total: 12 }', '0 1 { total: 12 }', '1 0 { total: 3 }']);
    assert.equal(await stop(local.child), 0);
  });

  test("the Kafka block runs as written after the curl quickstart: kcat produces with keys and headers, and consumes back both doors' records", async (t) => {
    const port = await freePort();
    const kafkaPort = await freePort();
    const local = await startLocal(port, mkdtempSync(join(tmpdir(), 'streambed-readme-kafka-')), {}, [
      '--kafka-port',
      String(kafkaPort),
    ]);
    t.after(() => stop(local.child));
    assert.match(local.output(), new RegExp(`Kafka protocol: 127\\.0\\.0\\.1:${kafkaPort}`));
    for (const command of quickstart(port).commands.slice(0, 2)) execFileSync('bash', ['-c', command]);
    const outputs = block('quickstart-kafka', 'sh')
      .replace(/\|\n\s*/g, '| ')
      .split('\n')
      .filter((line) => line.includes('kcat -b'))
      .map((line) =>
        execFileSync('bash', ['-c', line.replaceAll('127.0.0.1:9092', `127.0.0.1:${kafkaPort}`)], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
      );
    assert.equal(outputs.length, 2);
    const lines = (outputs[1] ?? '').split('\n');
    assert.ok(lines.includes('1:0 customer-7 {"total":3} source=kcat'), outputs[1]);
    assert.ok(lines.includes('0:0 customer-42 {"total":12} '), outputs[1]);
    assert.ok(lines.includes('0:2 customer-42 {"total":20} source=kcat'), outputs[1]);
    assert.equal(await stop(local.child), 0);
  });
});
