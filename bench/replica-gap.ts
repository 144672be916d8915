/**
 * Both replicas of a deployment killed at once under load (issue 25 point 4), on the process
 * runtime: what a client is answered from the kill until a restarted replica answers, and how
 * long that takes (the figures in docs/reliability.md).
 *
 * `BENCH_RUNS` (default 3) kills per request_timeout_ms (2,000 ms, the fixture's, and 5,000 ms,
 * Azure's default); 2 client loops on 127.0.0.1, bounded in count (20,000) and time (60 s per
 * stage). With `BENCH_BASELINE=<folder>` (an earlier checkout of oep, built), the same runs go
 * against it first, in the same run, for the "before" figures.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT } from '../test/e2e/harness.js';
import { describeCounts, killUnderLoad, replicaPids, type GapRun } from '../test/faults/replica-gap-support.js';
import { killScoringServers, ROLLOUT_FIXTURE } from '../test/faults/replica-support.js';
import { median } from './harness.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const TIMEOUTS = [2000, 5000];

/** One OEP_HOME driven by the CLI of one checkout (this one, or the baseline). */
class Home {
  readonly home = mkdtempSync(join(tmpdir(), 'oep-gap-'));
  constructor(readonly root: string) {}

  oep(args: string[]): Promise<string> {
    return new Promise((done, fail) => {
      execFile(process.execPath, [join(this.root, 'bin', 'oep.js'), ...args], { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: '1', OEP_HOME: this.home }, timeout: 180_000 }, (error, stdout, stderr) =>
        error ? fail(new Error(`oep ${args.join(' ')}: ${stderr || error.message}`)) : done(stdout),
      );
    });
  }

  async close(): Promise<void> {
    await this.oep(['daemon', 'stop']).catch(() => undefined);
    killScoringServers(this.home);
    rmSync(this.home, { recursive: true, force: true });
  }
}

/** Both replicas ready (bounded), their pids from the records under run/. */
async function readyPids(home: Home): Promise<number[]> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const shown = JSON.parse(await home.oep(['deployment', 'show', '-n', 'blue', '-e', 'rollout'])) as { replicas: { pid: number; ready: boolean }[] };
    const pids = await replicaPids(home.home, 'rollout', 'blue');
    if (shown.replicas.length === 2 && shown.replicas.every((replica) => replica.ready) && pids.length === 2) return pids;
    if (Date.now() > deadline) throw new Error(`the replicas did not come back: ${JSON.stringify(shown)}`);
    await sleep(200);
  }
}

async function measure(label: string, root: string): Promise<void> {
  const home = new Home(root);
  try {
    await home.oep(['endpoint', 'create', '-f', join(ROLLOUT_FIXTURE, 'endpoint.yml'), '-o', 'none']);
    await home.oep(['deployment', 'create', '-f', join(ROLLOUT_FIXTURE, 'blue.yml'), '--all-traffic', '--runtime', 'process', '--set', 'instance_count=2', '-o', 'none']);
    const uri = (await home.oep(['endpoint', 'show', '-n', 'rollout', '--query', 'scoring_uri', '-o', 'tsv'])).trim();
    const key = (await home.oep(['endpoint', 'get-credentials', '-n', 'rollout', '--query', 'primaryKey', '-o', 'tsv'])).trim();
    for (const timeout of TIMEOUTS) {
      await home.oep(['deployment', 'update', '-n', 'blue', '-e', 'rollout', '--set', `request_settings.request_timeout_ms=${timeout}`, '-o', 'none']);
      const runs: GapRun[] = [];
      for (let run = 0; run < RUNS; run++) {
        const pids = await readyPids(home);
        const result = await killUnderLoad({ uri, key, pids });
        runs.push(result);
        console.log(`${label}, request_timeout_ms ${timeout}, run ${run + 1}: gap ${result.gapMs ?? 'never'} ms; answered from the kill to the first 200: ${describeCounts(result.window)}; failed in all: ${describeCounts(result.failures)} of ${result.requests}`);
        for (const [kind, bodies] of Object.entries(result.bodies)) for (const body of bodies) console.log(`    ${kind}: ${body}`);
      }
      const gaps = runs.map((run) => run.gapMs).filter((gap): gap is number => gap !== undefined);
      const failed = runs.reduce((sum, run) => sum + Object.values(run.failures).reduce((a, b) => a + b, 0), 0);
      const statuses: Record<string, number> = {};
      for (const run of runs) for (const [kind, count] of Object.entries(run.failures)) statuses[kind] = (statuses[kind] ?? 0) + count;
      console.log(`${label}, request_timeout_ms ${timeout}: median gap ${gaps.length ? median(gaps) : 'n/a'} ms (${gaps.join(', ')}); ${failed} failed in ${RUNS} kills (${describeCounts(statuses)})`);
    }
  } finally {
    await home.close();
  }
}

const baseline = process.env.BENCH_BASELINE;
if (baseline) await measure(`before (${baseline})`, resolve(baseline));
await measure('now', REPO_ROOT);
