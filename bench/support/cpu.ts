import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time (ms, user + system) of the processes a bench run is made of: this process, its HTTP server
 * child (node), MinIO, DynamoDB Local (java), and any other descendant. On one machine they all share
 * its cores, so when a cell is CPU-bound its throughput is (cores / CPU per MiB): these shares say
 * what a path costs the machine, and which process pays it.
 */
export interface CpuShares {
  readonly bench: number;
  readonly server: number;
  readonly minio: number;
  readonly dynamodb: number;
  readonly other: number;
}

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ on Linux

interface ProcStat {
  readonly pid: number;
  readonly ppid: number;
  readonly comm: string;
  readonly ms: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    // Fields after "pid (comm) ": state ppid … utime is field 14 and stime 15 of the whole line.
    const fields = text.slice(close + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return { pid, ppid: Number(fields[1]), comm, ms: (ticks * 1000) / CLOCK_TICKS_PER_SECOND };
  } catch {
    return undefined;
  }
}

/** This process and its descendants' CPU so far, by role; undefined where /proc is not Linux's. */
export function cpuNow(): CpuShares | undefined {
  let pids: number[];
  try {
    pids = readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map(Number);
  } catch {
    return undefined;
  }
  const stats = new Map<number, ProcStat>();
  for (const pid of pids) {
    const stat = readStat(pid);
    if (stat !== undefined) stats.set(pid, stat);
  }
  const self = stats.get(process.pid);
  if (self === undefined) return undefined;
  const shares = { bench: 0, server: 0, minio: 0, dynamodb: 0, other: 0 };
  for (const stat of stats.values()) {
    if (stat.pid === process.pid) {
      shares.bench += stat.ms;
      continue;
    }
    let ancestor = stats.get(stat.ppid);
    while (ancestor !== undefined && ancestor.pid !== process.pid) ancestor = stats.get(ancestor.ppid);
    if (ancestor === undefined) continue;
    if (stat.comm.startsWith('minio')) shares.minio += stat.ms;
    else if (stat.comm === 'java') shares.dynamodb += stat.ms;
    else if (stat.comm.startsWith('node') || stat.comm.startsWith('MainThread')) shares.server += stat.ms;
    else shares.other += stat.ms;
  }
  return shares;
}

/** CPU ms per MiB moved between two readings, by role, with their total. */
export function cpuPerMiB(
  before: CpuShares | undefined,
  after: CpuShares | undefined,
  mib: number,
): (CpuShares & { readonly total: number }) | undefined {
  if (before === undefined || after === undefined || mib <= 0) return undefined;
  const per = (key: keyof CpuShares) => Math.round(((after[key] - before[key]) / mib) * 100) / 100;
  const shares = {
    bench: per('bench'),
    server: per('server'),
    minio: per('minio'),
    dynamodb: per('dynamodb'),
    other: per('other'),
  };
  const total =
    Math.round((shares.bench + shares.server + shares.minio + shares.dynamodb + shares.other) * 100) / 100;
  return { ...shares, total };
}
