import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, OepSandbox, REPO_ROOT } from '../e2e/harness.js';

/** A stdlib scoring script that answers at once and starts in well under a second. */
export const ROLLOUT_FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'rollout');

/**
 * Scoring-server processes started for a sandbox (they inherit its OEP_HOME), leaders and
 * workers alike: what `ps` would show a user after the daemon is gone.
 */
export function scoringServersOf(home: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        if (processState(Number(pid)) === 'Z') return false;
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
        return cmdline.includes('oep_server.py') && environ.split('\0').includes(`OEP_HOME=${home}`);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** The scoring servers themselves, without their workers (a worker's parent is a scoring server too). */
export function scoringServerLeaders(home: string): number[] {
  const all = scoringServersOf(home);
  const pids = new Set(all);
  return all.filter((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      return !pids.has(ppid);
    } catch {
      return false;
    }
  });
}

function processState(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

/** Kills every scoring server of a sandbox: the last line of clean-up, whatever a test left. */
export function killScoringServers(home: string): void {
  for (const pid of scoringServersOf(home)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

/** The daemon's pid from its pid file, or undefined when it is not running. */
export function daemonPid(sandbox: OepSandbox): number | undefined {
  const file = join(sandbox.home, 'daemon.pid');
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return pid > 0 && existsSync(`/proc/${pid}`) && processState(pid) !== 'Z' ? pid : undefined;
}

/** SIGKILL to the daemon, then waits until the process is gone (it holds the start lock until then). */
export async function killDaemonHard(sandbox: OepSandbox): Promise<void> {
  const pid = daemonPid(sandbox);
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  await eventually('the killed daemon to be gone', async () => (!existsSync(`/proc/${pid}`) || processState(pid) === 'Z' ? true : undefined), 20_000);
}

export interface Outcome {
  /** ms since the load started. */
  at: number;
  /** HTTP status, or the connection error code (ECONNREFUSED, ...). */
  result: number | string;
  /** ms since the load started, when the answer (or the error) came. */
  answeredAt: number;
  /** The body of an answer other than 200 (what the client was told). */
  body?: string;
}

/**
 * Sends POST /score requests one after the other (`parallel` loops) until `stop()`, bounded by
 * `maxRequests` in all, recording each outcome.
 */
export function loadLoop(url: string, key: string, options: { parallel?: number; maxRequests?: number; body?: string } = {}) {
  const outcomes: Outcome[] = [];
  const started = Date.now();
  let stopped = false;
  const limit = options.maxRequests ?? 100_000;
  const loop = async (): Promise<void> => {
    while (!stopped && outcomes.length < limit) {
      const at = Date.now() - started;
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: options.body ?? '{}',
        });
        const text = await res.text();
        outcomes.push({ at, result: res.status, answeredAt: Date.now() - started, ...(res.status !== 200 && { body: text }) });
      } catch (error) {
        const cause = (error as { cause?: { code?: string } }).cause;
        outcomes.push({ at, result: cause?.code ?? (error as Error).message, answeredAt: Date.now() - started });
        // A refused connection fails at once: do not spin.
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
  };
  const loops = Array.from({ length: options.parallel ?? 1 }, () => loop());
  return {
    outcomes,
    startedAt: started,
    async stop(): Promise<Outcome[]> {
      stopped = true;
      await Promise.all(loops);
      return outcomes;
    },
  };
}
