import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { PrerequisiteMissingError } from './errors.ts';
import { canRun, freePort, type Supervised, spawn, supervise, waitHealthy } from './process.ts';

/** Where a built MinIO binary is cached, outside any clone so CI re-uses it. */
export function minioCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  return join(base, 'streambed', 'bin');
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** How MinIO will be run: a binary on this machine, or the official Docker image. */
export type MinioLauncher = { readonly kind: 'binary'; readonly path: string } | { readonly kind: 'docker' };

/**
 * Finds MinIO, building it when needed, in this order:
 * `STREAMBED_MINIO_BIN`, `minio` on PATH, the cache directory, `go install` into the cache
 * directory, and finally Docker's official image when a Docker engine answers.
 *
 * @example
 * const launcher = resolveMinio(); // { kind: 'binary', path: '/home/me/.cache/streambed/bin/minio' }
 */
export function resolveMinio(log: (line: string) => void = () => {}): MinioLauncher {
  const fromEnv = process.env.STREAMBED_MINIO_BIN;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!existsSync(fromEnv)) {
      throw new PrerequisiteMissingError(`STREAMBED_MINIO_BIN points to ${fromEnv}, which does not exist.`);
    }
    return { kind: 'binary', path: fromEnv };
  }
  const fromPath = onPath('minio');
  if (fromPath !== undefined) return { kind: 'binary', path: fromPath };
  const cacheDir = minioCacheDir();
  const cached = join(cacheDir, 'minio');
  if (existsSync(cached)) return { kind: 'binary', path: cached };
  if (canRun('go', ['version'])) {
    log(`building MinIO with 'go install github.com/minio/minio@latest' into ${cacheDir} (first run only)`);
    mkdirSync(cacheDir, { recursive: true });
    const result = spawnSync('go', ['install', 'github.com/minio/minio@latest'], {
      env: { ...process.env, GOBIN: cacheDir },
      stdio: ['ignore', 'inherit', 'inherit'],
      timeout: 40 * 60_000,
    });
    if (result.status === 0 && existsSync(cached)) return { kind: 'binary', path: cached };
    throw new PrerequisiteMissingError(
      'Building MinIO with go install failed; install a MinIO binary and set STREAMBED_MINIO_BIN to it.',
    );
  }
  if (canRun('docker', ['info'])) return { kind: 'docker' };
  throw new PrerequisiteMissingError(
    'MinIO is needed: install Go (to build it), a minio binary on PATH or in STREAMBED_MINIO_BIN, or Docker.',
  );
}

/** A running MinIO server. */
export interface MinioServer {
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  stop(): Promise<void>;
}

export interface StartMinioOptions {
  /** Directory holding the objects; created if absent. */
  readonly dataDir: string;
  /** @default a free loopback port */
  readonly port?: number;
  /** @default 60_000 */
  readonly startTimeoutMs?: number;
  readonly log?: (line: string) => void;
}

const ACCESS_KEY = 'streambed';
const SECRET_KEY = 'streambed-local-secret';

/**
 * Starts MinIO on a loopback port and waits until `/minio/health/ready` answers 200.
 *
 * @example
 * const minio = await startMinio({ dataDir: '/tmp/s3' });
 * // ... use minio.endpoint ...
 * await minio.stop();
 */
export async function startMinio(options: StartMinioOptions): Promise<MinioServer> {
  const launcher = resolveMinio(options.log);
  const port = options.port ?? (await freePort());
  const consolePort = await freePort();
  mkdirSync(options.dataDir, { recursive: true });
  const env = {
    ...process.env,
    MINIO_ROOT_USER: ACCESS_KEY,
    MINIO_ROOT_PASSWORD: SECRET_KEY,
    MINIO_BROWSER: 'off',
    MINIO_UPDATE: 'off',
    MINIO_CI_CD: '1',
  };
  let proc: Supervised;
  if (launcher.kind === 'binary') {
    proc = supervise(
      spawn(
        launcher.path,
        [
          'server',
          options.dataDir,
          '--address',
          `127.0.0.1:${port}`,
          '--console-address',
          `127.0.0.1:${consolePort}`,
          '--quiet',
        ],
        { env, stdio: ['ignore', 'pipe', 'pipe'] },
      ),
    );
  } else {
    proc = supervise(
      spawn(
        'docker',
        [
          'run',
          '--rm',
          '-p',
          `127.0.0.1:${port}:9000`,
          '-v',
          `${options.dataDir}:/data`,
          '-e',
          `MINIO_ROOT_USER=${ACCESS_KEY}`,
          '-e',
          `MINIO_ROOT_PASSWORD=${SECRET_KEY}`,
          'minio/minio',
          'server',
          '/data',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      ),
    );
  }
  const endpoint = `http://127.0.0.1:${port}`;
  await waitHealthy(
    'MinIO',
    proc,
    async () => (await fetch(`${endpoint}/minio/health/ready`)).status === 200,
    options.startTimeoutMs ?? 60_000,
  );
  return { endpoint, accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY, stop: () => proc.stop() };
}
