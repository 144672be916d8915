import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../../state/atomic-write.js';
import { deploymentRunDir, type OepPaths } from '../../state/paths.js';

/**
 * What the process runtime keeps about each replica it starts, so that a daemon started after a
 * crash can find it, tell it apart from an unrelated process that got the same pid (the start
 * time), and adopt or stop it. One file per replica (0600, written atomically):
 * run/<endpoint>/<deployment>/replicas/<index>-gen-<generation>.json.
 *
 * The record is written before the process starts (without a pid) and again once it runs: a
 * daemon killed in between leaves a record whose process is found by its token, an environment
 * variable only that replica (and its workers) carries.
 */
export interface ReplicaRecord {
  endpoint: string;
  deployment: string;
  replica: number;
  generation: number;
  configHash: string;
  /** The value of OEP_REPLICA_TOKEN in the replica's environment. */
  token: string;
  port: number;
  /** The scoring server's pid (also its process group: replicas start in a session of their own). */
  pid?: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks after boot): with the pid, names one process for good. */
  startTime?: string;
  startedAt: string;
}

export const TOKEN_VARIABLE = 'OEP_REPLICA_TOKEN';

export function recordFile(paths: OepPaths, endpoint: string, deployment: string, replica: number, generation: number): string {
  return join(deploymentRunDir(paths, endpoint, deployment), 'replicas', `${replica}-gen-${generation}.json`);
}

export async function writeRecord(file: string, record: ReplicaRecord): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, `${JSON.stringify(record, null, 2)}\n`, 0o600);
}

export async function removeRecord(file: string): Promise<void> {
  await unlink(file).catch(() => undefined);
}

/** Every replica record under OEP_HOME/run, with its file. Unreadable files are skipped. */
export async function readRecords(paths: OepPaths): Promise<{ file: string; record: ReplicaRecord }[]> {
  const out: { file: string; record: ReplicaRecord }[] = [];
  for (const endpoint of await listDir(paths.runDir)) {
    for (const deployment of await listDir(join(paths.runDir, endpoint))) {
      const dir = join(paths.runDir, endpoint, deployment, 'replicas');
      for (const name of await listDir(dir)) {
        if (!name.endsWith('.json')) continue;
        const file = join(dir, name);
        try {
          const record = JSON.parse(await readFile(file, 'utf8')) as ReplicaRecord;
          if (typeof record.token === 'string' && typeof record.port === 'number') out.push({ file, record });
        } catch {
          // a torn or foreign file: not ours to act on
        }
      }
    }
  }
  return out;
}

async function listDir(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

interface ProcStat {
  state: string;
  ppid: number;
  startTime: string;
}

/** /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses, so split after the last ')'. */
function procStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state), so field N is fields[N - 3].
    return { state: fields[0]!, ppid: Number(fields[1]), startTime: fields[19]! };
  } catch {
    return undefined;
  }
}

export function processStartTime(pid: number): string | undefined {
  return procStat(pid)?.startTime;
}

/** The recorded process still runs: same pid, same start time, and not a zombie. */
export function isRunning(pid: number, startTime: string | undefined): boolean {
  const stat = procStat(pid);
  if (!stat || stat.state === 'Z' || stat.state === 'X') return false;
  return startTime === undefined || stat.startTime === startTime;
}

/** Live processes carrying a replica's token: the server and its workers. */
export function processesWithToken(token: string): { pid: number; ppid: number; startTime: string }[] {
  const needle = `${TOKEN_VARIABLE}=${token}`;
  const out: { pid: number; ppid: number; startTime: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    try {
      if (!readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(needle)) continue;
    } catch {
      continue;
    }
    const stat = procStat(pid);
    if (stat && stat.state !== 'Z' && stat.state !== 'X') out.push({ pid, ppid: stat.ppid, startTime: stat.startTime });
  }
  return out;
}

/** The server among the processes with a token: the one whose parent does not carry it. */
export function serverWithToken(token: string): { pid: number; startTime: string } | undefined {
  const all = processesWithToken(token);
  const pids = new Set(all.map((each) => each.pid));
  return all.find((each) => !pids.has(each.ppid));
}

/** Signals a replica's process group; false when it no longer exists. */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** SIGKILL to every process that still carries the token (workers left by a server that died). */
export function killTokenHolders(token: string): void {
  for (const { pid } of processesWithToken(token)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}
