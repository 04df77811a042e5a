import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../../lib/harness/process.ts';
import { startLocal, stopLocal } from '../support/local-start.ts';

const root = new URL('../../', import.meta.url).pathname;
/** The oldest Node.js the package supports (package.json engines): the machine's own node. */
const oldNode = process.env.STREAMBED_OLD_NODE ?? '/usr/bin/node';

/**
 * A user's script, run on `oldNode` in the fresh project: produce 20 records and read them back as a
 * group member, all through `streambed/client` over HTTP (binary bodies, the SDK's default); then a
 * zstd topic, whose stored batches only Node ≥ 22.15 can inflate, read with both codecs.
 */
const APP = `
import { jsonCodec, StreambedClient, valueJson } from 'streambed/client';

const [endpoint] = process.argv.slice(2);
const client = new StreambedClient({ endpoint, auth: 'none' });
const admin = client.admin();
await admin.createTopic({ name: 'pkg', partitions: 2 });
const producer = client.producer({ lingerMs: 2 });
const receipts = [];
for (let i = 0; i < 20; i++) receipts.push(await producer.send({ topic: 'pkg', key: 'k' + (i % 4), json: { i } }));
await producer.flush();
const delivered = await Promise.all(receipts.map((r) => r.delivered));
const consumer = client.consumer({ group: 'pkg', topic: 'pkg', autoOffsetReset: 'earliest', pollIntervalMs: 50 });
const seen = [];
for await (const record of consumer) {
  seen.push(valueJson(record).i);
  if (seen.length === 20) break;
}
await producer.close();

const gzipped = client.producer({ compression: 'gzip' });
await (await gzipped.send({ topic: 'pkg', partition: 1, value: 'gz'.repeat(100) })).delivered;
await gzipped.close();
const [gzip] = (await client.transport.fetch({ topic: 'pkg', partition: 1, offset: 0, maxRecords: 100 })).records
  .filter((r) => r.value !== null && r.value.length === 200);
let zstdProducer;
try {
  client.producer({ compression: 'zstd' });
  zstdProducer = 'made';
} catch (error) {
  zstdProducer = error.code;
}

await admin.createTopic({ name: 'zstd', partitions: 1, config: { compression: 'zstd' } });
// A JSON produce is encoded by the server, compressed as the topic says.
const json = new StreambedClient({ endpoint, auth: 'none', codec: jsonCodec });
const plain = json.producer({ idempotent: false });
await (await plain.send({ topic: 'zstd', partition: 0, value: 'squeezed' })).delivered;
await plain.close();
let zstd;
try {
  const { records } = await client.transport.fetch({ topic: 'zstd', partition: 0, offset: 0 });
  zstd = { records: records.length };
} catch (error) {
  zstd = { code: error.code, message: error.message, causeCode: error.cause?.code };
}
const viaJson = await json.transport.fetch({ topic: 'zstd', partition: 0, offset: 0 });
await json.close();
await client.close();
console.log(JSON.stringify({
  node: process.version,
  offsets: delivered.map((d) => d.offset).filter((o) => o >= 0).length,
  seen: seen.sort((a, b) => a - b),
  identity: producer.producerIdentity !== undefined,
  gzip: gzip === undefined ? null : new TextDecoder().decode(gzip.value).length,
  zstdProducer,
  zstd,
  zstdViaJson: new TextDecoder().decode(viaJson.records[0].value),
}));
`;

/** A user's TypeScript against the shipped declarations (checked with nodenext, strict, skipLibCheck off). */
const TYPED_APP = `
import {
  type ConsumerRecord,
  type ProducerOptions,
  StreambedClient,
  StreambedError,
  valueJson,
} from 'streambed/client';

const options: ProducerOptions = { lingerMs: 1, maxInFlight: 5 };
const client = new StreambedClient({ endpoint: 'http://127.0.0.1:8080', auth: 'none' });
const producer = client.producer(options);
const receipt = await producer.send({ topic: 'orders', key: 'customer-42', json: { total: 12 } });
const offset: number = (await receipt.delivered).offset;
const identity: { producerId: string; epoch: number } | undefined = producer.producerIdentity;
// @ts-expect-error a record needs its topic
await producer.send({ key: 'k', value: 'v' });
const consumer = client.consumer({ group: 'billing', topic: 'orders', autoOffsetReset: 'earliest' });
for await (const record of consumer) {
  const typed: ConsumerRecord = record;
  const total: number | undefined = valueJson<{ total: number }>(typed)?.total;
  console.log(offset, identity, total);
  break;
}
try {
  await client.admin().describeTopic('missing');
} catch (error) {
  if (error instanceof StreambedError) console.log(error.code, error.retryable);
}
`;

function run(command: string, args: string[], cwd: string): string {
  return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('the package: npm pack, installed from the tarball into a fresh project, used on the oldest Node', () => {
  const work = mkdtempSync(join(tmpdir(), 'streambed-package-'));
  const project = join(work, 'app');
  let tarball = '';
  after(() => rmSync(work, { recursive: true, force: true }));

  before(() => {
    // npm pack runs `prepare` (npm run build) first, so dist/ is fresh.
    run('npm', ['pack', '--pack-destination', work, '--silent'], root);
    const packed = readdirSync(work).filter((name) => name.endsWith('.tgz'));
    assert.equal(packed.length, 1, `one tarball, got ${packed.join(', ')}`);
    tarball = join(work, packed[0] as string);
    mkdirSync(project);
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'streambed-user', private: true, type: 'module' }),
    );
    // Its dependencies are in the npm cache from this repository's own install.
    run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], project);
  });

  test('the tarball holds the built package only: dist (ESM + .d.ts), the bin shim, README, package.json', () => {
    const listing = run('tar', ['-tzf', tarball], work).trim().split('\n');
    const tops = new Set(listing.map((path) => path.replace(/^package\//, '').split('/')[0]));
    assert.deepEqual([...tops].sort(), ['README.md', 'bin', 'dist', 'package.json']);
    for (const file of [
      'dist/client/index.js',
      'dist/client/index.d.ts',
      'dist/cli/main.js',
      'bin/streambed.js',
    ]) {
      assert.ok(listing.includes(`package/${file}`), `${file} is packed`);
    }
    assert.ok(
      !listing.some((path) => path.endsWith('.ts') && !path.endsWith('.d.ts')),
      'no TypeScript sources',
    );
  });

  test(`streambed/client on ${oldNode}: produce (plain and gzip) and consume over HTTP against npm start; zstd only where it is used`, async (t) => {
    if (!existsSync(oldNode)) {
      t.skip(`${oldNode} is not installed (STREAMBED_OLD_NODE names another)`);
      return;
    }
    const version = run(oldNode, ['--version'], project).trim();
    t.diagnostic(`running the user's script on Node ${version}`);
    writeFileSync(join(project, 'app.js'), APP);
    const dataDir = mkdtempSync(join(tmpdir(), 'streambed-package-data-'));
    const port = await freePort();
    const local = await startLocal(port, dataDir);
    try {
      const output = run(oldNode, ['app.js', `http://127.0.0.1:${port}`], project);
      const result = JSON.parse(output.trim().split('\n').at(-1) ?? '');
      assert.equal(result.node, version);
      assert.equal(result.offsets, 20);
      assert.deepEqual(
        result.seen,
        Array.from({ length: 20 }, (_, i) => i),
      );
      assert.equal(result.identity, true, 'an idempotent producer got its producer id');
      const [major = 0, minor = 0] = version.slice(1).split('.').map(Number);
      assert.equal(result.gzip, 200, 'a gzip-compressed binary produce round-trips');
      if (major > 22 || (major === 22 && minor >= 15)) {
        assert.equal(result.zstdProducer, 'made');
        assert.deepEqual(result.zstd, { records: 1 });
      } else {
        assert.equal(result.zstdProducer, 'ZstdUnavailable', 'a zstd producer fails at once');
        // Binary fetches hand over the stored zstd batch; without zstd in node:zlib that is a typed
        // error of its own (not damage: the fetch frame decoder lets it through).
        assert.equal(result.zstd.code, 'ZstdUnavailable', JSON.stringify(result.zstd));
        assert.match(result.zstd.message, /zstd needs Node ≥ 22\.15/);
      }
      assert.equal(result.zstdViaJson, 'squeezed', 'the JSON codec reads a zstd topic on any Node');
    } finally {
      await stopLocal(local.child);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test(`the streambed bin runs on ${oldNode}: --help`, (t) => {
    if (!existsSync(oldNode)) {
      t.skip(`${oldNode} is not installed`);
      return;
    }
    const help = run(oldNode, [join(project, 'node_modules', '.bin', 'streambed'), '--help'], project);
    assert.match(help, /Usage: streambed/);
    assert.match(help, /topics/);
    assert.match(help, /consume/);
    const version = run(oldNode, [join(project, 'node_modules', '.bin', 'streambed'), '--version'], project);
    assert.equal(version.trim(), '0.1.0');
    // The shim's shebang: run as a command, on whatever node is first on PATH.
    assert.match(
      run(join(project, 'node_modules', '.bin', 'streambed'), ['--help'], project),
      /Usage: streambed/,
    );
  });

  test('the shipped declarations type a user project (tsc, moduleResolution nodenext, skipLibCheck off)', () => {
    writeFileSync(join(project, 'typed.ts'), TYPED_APP);
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'es2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          exactOptionalPropertyTypes: true,
          noEmit: true,
          skipLibCheck: false,
          types: ['node'],
          typeRoots: [join(root, 'node_modules', '@types')],
        },
        files: ['typed.ts'],
      }),
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    try {
      run(process.execPath, [tsc, '-p', 'tsconfig.json'], project);
    } catch (error) {
      assert.fail(`tsc: ${(error as { stdout?: string }).stdout ?? error}`);
    }
  });
});
