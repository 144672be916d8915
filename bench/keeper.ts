/**
 * What a client sees when the daemon dies or restarts (issue 25 points 1, 2 and 8), with the keeper
 * and without it (OEP_NO_KEEPER=1: the daemon alone, as before the keeper), in the same run, on
 * the process runtime with the rollout fixture:
 * - kill -9 of the daemon and no oep command for 3 s (without a keeper, a command then starts it,
 *   as a user would): refused connections, other failures, and ms from the kill to the first 200;
 * - a restart under load: `oep daemon restart` (without a keeper: `daemon stop` then a command):
 *   failed requests and the longest wait between two answers.
 * 2 client loops on 127.0.0.1, bounded in count (20,000) and time; `BENCH_RUNS` (default 3) per case.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT } from '../test/e2e/harness.js';
import { killScoringServers, loadLoop, ROLLOUT_FIXTURE, type Outcome } from '../test/faults/replica-support.js';
import { median } from './harness.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const IDLE_AFTER_KILL_MS = 3000;

class Home {
  readonly home = mkdtempSync(join(tmpdir(), 'oep-keeper-bench-'));
  constructor(private readonly keeper: boolean) {}

  oep(args: string[]): Promise<string> {
    const env = { ...process.env, NO_COLOR: '1', OEP_HOME: this.home, ...(this.keeper ? {} : { OEP_NO_KEEPER: '1' }) };
    return new Promise((done, fail) => {
      execFile(process.execPath, [join(REPO_ROOT, 'bin', 'oep.js'), ...args], { env, timeout: 180_000 }, (error, stdout, stderr) =>
        error ? fail(new Error(`oep ${args.join(' ')}: ${stderr || error.message}`)) : done(stdout),
      );
    });
  }

  daemonPid(): number {
    return Number(readFileSync(join(this.home, 'daemon.pid'), 'utf8').trim());
  }

  async close(): Promise<void> {
    await this.oep(['daemon', 'stop']).catch(() => undefined);
    killScoringServers(this.home);
    rmSync(this.home, { recursive: true, force: true });
  }
}

interface Figures {
  refused: number;
  failed: number;
  gapMs: number;
}

function figures(outcomes: readonly Outcome[], since: number): Figures {
  const after = outcomes.filter((outcome) => outcome.at >= since);
  const first = after.find((outcome) => outcome.result === 200);
  return {
    refused: after.filter((outcome) => outcome.result === 'ECONNREFUSED').length,
    failed: after.filter((outcome) => outcome.result !== 200).length,
    gapMs: first ? first.at - since : Number.NaN,
  };
}

function longestWait(outcomes: readonly Outcome[]): number {
  let longest = 0;
  for (let index = 1; index < outcomes.length; index++) longest = Math.max(longest, outcomes[index]!.at - outcomes[index - 1]!.at);
  return longest;
}

async function untilAnswers(load: ReturnType<typeof loadLoop>, since: number, count: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (load.outcomes.filter((outcome) => outcome.at > since && outcome.result === 200).length < count && Date.now() < deadline) await sleep(20);
}

async function measure(keeper: boolean): Promise<{ kill: Figures[]; restart: { failed: number; waitMs: number }[] }> {
  const home = new Home(keeper);
  const kill: Figures[] = [];
  const restart: { failed: number; waitMs: number }[] = [];
  try {
    await home.oep(['config', 'set', 'runtime', 'process']);
    await home.oep(['endpoint', 'create', '-f', join(ROLLOUT_FIXTURE, 'endpoint.yml'), '-o', 'none']);
    await home.oep(['deployment', 'create', '-f', join(ROLLOUT_FIXTURE, 'blue.yml'), '--all-traffic', '-o', 'none']);
    const uri = (await home.oep(['endpoint', 'show', '-n', 'rollout', '--query', 'scoring_uri', '-o', 'tsv'])).trim();
    const key = (await home.oep(['endpoint', 'get-credentials', '-n', 'rollout', '--query', 'primaryKey', '-o', 'tsv'])).trim();
    for (let run = 0; run < RUNS; run++) {
      const load = loadLoop(uri, key, { parallel: 2, maxRequests: 20_000 });
      await untilAnswers(load, 0, 20);
      const killedAt = Date.now() - load.startedAt;
      process.kill(home.daemonPid(), 'SIGKILL');
      await sleep(IDLE_AFTER_KILL_MS);
      // Without a keeper nothing comes back until a command starts the daemon.
      if (!keeper) await home.oep(['endpoint', 'list', '-o', 'none']);
      await untilAnswers(load, killedAt, 20);
      kill.push(figures(await load.stop(), killedAt));
      // The keeper's crash-loop window: runs a minute apart would be slow; its backoff only
      // delays restarts after the first within the minute, which is what the later runs show.
    }
    for (let run = 0; run < RUNS; run++) {
      const load = loadLoop(uri, key, { parallel: 2, maxRequests: 20_000 });
      await untilAnswers(load, 0, 20);
      const since = Date.now() - load.startedAt;
      if (keeper) await home.oep(['daemon', 'restart', '-o', 'none']);
      else {
        await home.oep(['daemon', 'stop']);
        await home.oep(['endpoint', 'list', '-o', 'none']);
      }
      await untilAnswers(load, since, 20);
      const outcomes = await load.stop();
      restart.push({ failed: outcomes.filter((outcome) => outcome.result !== 200).length, waitMs: longestWait(outcomes) });
    }
  } finally {
    await home.close();
  }
  return { kill, restart };
}

function show(label: string, result: Awaited<ReturnType<typeof measure>>): void {
  const kills = result.kill.map((run) => `${run.refused} refused / ${run.failed} failed / ${Math.round(run.gapMs)} ms`).join('; ');
  console.log(`${label} kill -9, no command for ${IDLE_AFTER_KILL_MS / 1000} s: ${kills} (median gap ${Math.round(median(result.kill.map((run) => run.gapMs)))} ms)`);
  const restarts = result.restart.map((run) => `${run.failed} failed / longest wait ${run.waitMs} ms`).join('; ');
  console.log(`${label} restart under load: ${restarts}`);
}

const withKeeper = await measure(true);
const without = await measure(false);
show('keeper:   ', withKeeper);
show('no keeper:', without);
