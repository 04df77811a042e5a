import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ApiKey, decodeResponse, encodeRecordBatch, encodeRequest } from '../../lib/kafka/index.ts';

/*
 * The Java Kafka client's side of test/integration/kafka-java.test.ts: the interop program in
 * kafka-interop/ (kafka-clients pinned in its pom.xml), built with Maven and run one scenario at a time.
 */

const run = promisify(execFile);
const project = new URL('./kafka-interop/', import.meta.url).pathname;
const jar = join(project, 'target', 'kafka-interop.jar');

/** One JSON line the interop program printed. */
export type Line = Record<string, unknown>;

/** The JSON lines of a program's output (anything else, e.g. a stray log line, is left out). */
export const parseLines = (text: string): Line[] =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);

/**
 * Resolves once `check()` holds; throws naming `what` after `timeoutMs`. `refresh` runs before each look.
 *
 * @example await until('every member to get partitions', () => covers(members));
 */
export async function until(
  what: string,
  check: () => boolean,
  timeoutMs = 90_000,
  refresh?: () => Promise<void>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await refresh?.();
    if (check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** kafka-clients as pinned in kafka-interop/pom.xml. */
const PINNED = '4.3.1';

/**
 * The kafka-clients version the jar is built with: the pom's, or `STREAMBED_JAVA_KAFKA_VERSION` (any
 * 4.x Maven Central serves) to try another client with the same tests.
 */
export const KAFKA_CLIENTS_VERSION = process.env.STREAMBED_JAVA_KAFKA_VERSION ?? PINNED;

/**
 * Builds the interop jar (`mvn -q -B package`; ~/.m2 is the cache, outside the clone) with
 * {@link KAFKA_CLIENTS_VERSION}, once: the test files that use it run side by side
 * (`--test-concurrency`), and two Maven builds in one `target/` break each other (the shade plugin
 * cannot replace the jar the other wrote) or hand a half-written jar to a running scenario. So one
 * process builds under a lock directory while the others wait, and a stamp of the sources and version
 * lets them use the jar it built. Maven is required: without it this throws, saying so, rather than
 * letting the test skip.
 */
export function buildJar(): void {
  const version = spawnSync('mvn', ['-v'], { encoding: 'utf8' });
  if (version.error !== undefined || version.status !== 0) {
    throw new Error(
      'mvn (Maven 3) is needed to build the Java client interop program (test/java/kafka-interop): ' +
        'install it (apt-get install maven; .ci/run does) and run the test again',
    );
  }
  const stamp = join(project, 'target', 'interop.stamp');
  const wanted = sourcesStamp();
  const current = () => existsSync(jar) && existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted;
  if (current()) return;
  withBuildLock(() => {
    if (current()) return; // built by another test file while this one waited
    rmSync(stamp, { force: true });
    // Shade re-shades a jar it finds when no class changed (a version switch): build from nothing.
    rmSync(jar, { force: true });
    rmSync(join(project, 'target', 'original-kafka-interop.jar'), { force: true });
    const built = spawnSync('mvn', ['-q', '-B', `-Dkafka.version=${KAFKA_CLIENTS_VERSION}`, 'package'], {
      cwd: project,
      encoding: 'utf8',
      timeout: 600_000,
    });
    if (built.status !== 0) throw new Error(`mvn package failed:\n${built.stdout}\n${built.stderr}`);
    writeFileSync(stamp, wanted);
  });
}

/** A hash of what the jar is built from: the pom, the Java sources and the kafka-clients version. */
function sourcesStamp(): string {
  const hash = createHash('sha256').update(KAFKA_CLIENTS_VERSION);
  const files = [join(project, 'pom.xml')];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else files.push(path);
    }
  };
  walk(join(project, 'src'));
  for (const file of files) hash.update(file).update(readFileSync(file));
  return hash.digest('hex');
}

/** Whether the lock's holder died (its pid answers nothing) or it is older than any build. */
function holderGone(lock: string): boolean {
  try {
    if (Date.now() - statSync(lock).mtimeMs > 15 * 60_000) return true;
    const pid = Number(readFileSync(join(lock, 'pid'), 'utf8'));
    process.kill(pid, 0);
    return false;
  } catch (error) {
    // ESRCH: no such process. ENOENT: released meanwhile, or the pid not written yet (not gone).
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Runs `work` holding `target/.build-lock` (a directory: mkdir is atomic); waits up to 15 minutes for it. */
function withBuildLock(work: () => void): void {
  const lock = join(project, 'target', '.build-lock');
  mkdirSync(join(project, 'target'), { recursive: true });
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // A lock whose holder is gone, or older than a build can take, was left by a process that died
      // holding it (killed mid-build).
      if (holderGone(lock)) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`waited 15 minutes for ${lock}`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
    }
  }
  try {
    work();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Runs one scenario to its end against `bootstrap`: its JSON lines. A failure carries the client's logs.
 *
 * @example const [created] = await scenario('127.0.0.1:9092', 'admin-create', 'orders', 3);
 */
export async function scenario(
  bootstrap: string,
  name: string,
  ...args: (string | number)[]
): Promise<Line[]> {
  try {
    const { stdout } = await run('java', ['-jar', jar, bootstrap, name, ...args.map(String)], {
      maxBuffer: 64 * 1024 * 1024,
      timeout: 120_000,
    });
    return parseLines(stdout);
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`java ${name} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

/** A scenario left running: each JSON line goes to `onLine` as it comes; stdin is the test's to write. */
export interface Running {
  readonly process: ChildProcess;
  /** The exit code once it exited. */
  readonly exited: Promise<number | null>;
  /** Everything it wrote to stderr so far (the client's logs). */
  stderr(): string;
}

/**
 * Starts a scenario that runs until told (on stdin) to go on or stop.
 *
 * @example const member = start(bootstrap, ['member', 'orders', 'billing'], (line) => seen.push(line));
 */
export function start(bootstrap: string, args: readonly string[], onLine: (line: Line) => void): Running {
  const proc = spawn('java', ['-jar', jar, bootstrap, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  let pending = '';
  let err = '';
  proc.stdout?.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of parseLines(lines.join('\n'))) onLine(line);
  });
  proc.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  return { process: proc, exited, stderr: () => err };
}

/** One request over a fresh connection to the Kafka door (size-prefixed), and the response's bytes. */
async function roundTrip(bootstrap: string, request: Uint8Array): Promise<Uint8Array> {
  const [host, port] = bootstrap.split(':') as [string, string];
  const socket = connect(Number(port), host);
  try {
    const size = Buffer.alloc(4);
    size.writeInt32BE(request.length);
    socket.write(Buffer.concat([size, request]));
    let received = Buffer.alloc(0);
    for await (const chunk of socket) {
      received = Buffer.concat([received, chunk as Buffer]);
      if (received.length >= 4 && received.length >= 4 + received.readInt32BE(0)) break;
    }
    return received.subarray(4, 4 + received.readInt32BE(0));
  } finally {
    socket.destroy();
  }
}

/**
 * Produces `keys` (value "x") to partition 0 of `topic` as one idempotent batch of the given producer
 * id, epoch 0 and base sequence, acks=all, over a connection of its own: the partition's error code and
 * base offset.
 *
 * @example await idempotentBatch(bootstrap, 'orders', '4503599627370497', 5, ['a', 'b']) // [0, 5n]
 */
export async function idempotentBatch(
  bootstrap: string,
  topic: string,
  producerId: string,
  baseSequence: number,
  keys: readonly string[],
): Promise<[number | undefined, bigint | undefined]> {
  const now = Date.now();
  const records = encodeRecordBatch({
    baseOffset: 0,
    compression: 'none',
    baseTimestamp: now,
    maxTimestamp: now,
    producerId: BigInt(producerId),
    producerEpoch: 0,
    baseSequence,
    records: keys.map((key, i) => ({
      timestampDelta: 0,
      offsetDelta: i,
      key: Buffer.from(key),
      value: Buffer.from('x'),
      headers: [],
    })),
  });
  const request = encodeRequest(
    { apiKey: ApiKey.Produce, apiVersion: 9, correlationId: 1, clientId: 'interop-test' },
    {
      transactionalId: null,
      acks: -1,
      timeoutMs: 10_000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
    },
  );
  const { body } = decodeResponse(ApiKey.Produce, 9, await roundTrip(bootstrap, request));
  const partitions = body.responses as { partitionResponses: { errorCode: number; baseOffset: bigint }[] }[];
  const answered = partitions[0]?.partitionResponses[0];
  return [answered?.errorCode, answered?.baseOffset];
}
