import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../lib/harness/process.ts';

const root = new URL('../../', import.meta.url).pathname;

/** Every `npm start` this test file started and has not seen exit: killed (whole process group) on exit. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) killGroup(child);
});

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    // Negative pid: start.ts and the MinIO and DynamoDB Local it started.
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/**
 * `npm start` (scripts/start.ts) as a child process, once it has printed its whole banner. It runs in a
 * process group of its own, so a test that fails before stopping it still leaves nothing running: call
 * {@link stopLocal} in a `finally` or `after`; the group is killed when the test process exits anyway.
 */
export async function startLocal(
  port: number,
  dataDir: string,
  env: NodeJS.ProcessEnv = {},
  args: string[] = [],
): Promise<{ child: ChildProcess; output: () => string }> {
  // The Kafka door is off unless a test asks for it: 9092 is one port for the whole machine.
  const kafka = args.includes('--kafka-port') ? [] : ['--kafka-port', '0'];
  const argv = ['scripts/start.ts', '--port', String(port), '--data-dir', dataDir, ...kafka, ...args];
  const child = spawn(process.execPath, argv, {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
    detached: true,
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const deadline = Date.now() + 120_000;
  while (!output.includes('Press Ctrl-C to stop.')) {
    if (child.exitCode !== null) throw new Error(`npm start exited: ${output}`);
    if (Date.now() > deadline) {
      killGroup(child);
      throw new Error(`npm start did not come up: ${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { child, output: () => output };
}

/**
 * Ctrl-C, and the exit code; a process (group) that has not exited within `graceMs` is killed and the
 * result is null. Safe to call twice or after the process has exited.
 */
export async function stopLocal(child: ChildProcess, graceMs = 30_000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGINT');
  const timer = setTimeout(() => killGroup(child), graceMs);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}

/** An `npm start` with its Kafka door on: the HTTP base URL, the Kafka bootstrap address, and how to end it. */
export interface LocalKafka {
  readonly http: string;
  readonly bootstrap: string;
  /** Stops npm start and removes its data directory. */
  stop(): Promise<void>;
}

/**
 * `npm start` on free ports with the Kafka door on, in a new temporary data directory named after `name`.
 *
 * @example const local = await startLocalKafka('kafka-java'); ... await local.stop();
 */
export async function startLocalKafka(name: string): Promise<LocalKafka> {
  const dataDir = mkdtempSync(join(tmpdir(), `streambed-${name}-`));
  const [port, kafkaPort] = [await freePort(), await freePort()];
  const { child } = await startLocal(port, dataDir, {}, ['--kafka-port', String(kafkaPort)]);
  return {
    http: `http://127.0.0.1:${port}`,
    bootstrap: `127.0.0.1:${kafkaPort}`,
    stop: async () => {
      await stopLocal(child);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
