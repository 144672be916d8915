/**
 * Probe periods (issue 25 point 7: with readiness every 1 s and liveness every 10 s x 3, an
 * unresponsive replica was killed after 5.5 s). The same scenario against the CLI and daemon of an
 * earlier commit (liveness at min(readiness.period, liveness.period); default f7fc91b, extracted
 * with `git archive` and built with this tree's tsc) and those of this tree, in the same run:
 * - the rollout fixture on the process runtime, one replica, readiness every 1 s (timeout 1 s,
 *   6 failures), liveness every 5 s (timeout 1 s, 3 failures): test/faults/probe-periods-support.ts;
 * - `BENCH_PROBE_RUNS` (3) times per tree: the replica's process group stopped (SIGSTOP), then
 *   the time until the daemon took it out of rotation, until it gave up on its liveness (both from
 *   the replica log's timestamps) and until the replacement was seen ready.
 * Exit 0 when every run of this tree gave up no earlier than (3 - 1) x 5 s, 1 otherwise.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildEarlierCommit, Cleanups, OEP_BIN, REPO_ROOT } from './harness.js';
import { TEST_IMAGE_MAP } from '../test/e2e/harness.js';
import { killScoringServers } from '../test/faults/replica-support.js';
import { createProbedDeployment, LIVENESS_LOWER_BOUND_MS, readyReplicaPid, stopAnswering, type Cli } from '../test/faults/probe-periods-support.js';

const OLD_COMMIT = process.env.BENCH_OLD_COMMIT ?? 'f7fc91b';
const RUNS = Number(process.env.BENCH_PROBE_RUNS ?? 3);

const cleanups = new Cleanups();

/** One tree's CLI run against a temporary OEP_HOME of its own. */
class TreeCli implements Cli {
  readonly home = mkdtempSync(join(tmpdir(), 'oep-'));

  constructor(private readonly bin: string) {}

  ok(args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const env = { ...process.env, NO_COLOR: '1', OEP_HOME: this.home, OEP_IMAGE_MAP: TEST_IMAGE_MAP };
      execFile(process.execPath, [this.bin, ...args], { cwd: REPO_ROOT, env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
        error ? reject(new Error(`oep ${args.join(' ')} failed: ${stderr}`)) : resolve(stdout),
      );
    });
  }

  /** Stops the daemon, then whatever replica is left (a stopped one included), and removes the home. */
  async close(): Promise<void> {
    await this.ok(['daemon', 'stop']).catch(() => undefined);
    killScoringServers(this.home);
    rmSync(this.home, { recursive: true, force: true });
  }
}

/** The earlier commit, built (bench/harness.ts buildEarlierCommit). */
function buildOld(): string {
  return buildEarlierCommit(OLD_COMMIT, cleanups);
}

/** One run: a new home and deployment, its replica stopped; the seconds until each reaction. */
async function measure(bin: string): Promise<{ out: number | undefined; liveness: number; replaced: number }> {
  const cli = new TreeCli(bin);
  cleanups.add(() => killScoringServers(cli.home));
  try {
    await createProbedDeployment(cli);
    const pid = await readyReplicaPid(cli);
    const seen = await stopAnswering(cli, pid);
    const since = (at: number): number => (at - seen.stoppedAt) / 1000;
    return { out: seen.outOfRotationAt === undefined ? undefined : since(seen.outOfRotationAt), liveness: since(seen.livenessFailedAt), replaced: since(seen.replacedAt) };
  } finally {
    await cli.close();
  }
}

async function main(): Promise<void> {
  const trees = [
    { label: `before (commit ${OLD_COMMIT})`, bin: buildOld() },
    { label: 'this tree', bin: OEP_BIN },
  ];
  console.log(`probe periods: readiness every 1 s (6 failures), liveness every 5 s (3 failures, each probe 1 s); ${RUNS} run(s) per tree; lower bound ${LIVENESS_LOWER_BOUND_MS / 1000} s`);
  let met = true;
  for (const tree of trees) {
    for (let run = 1; run <= RUNS; run++) {
      const figures = await measure(tree.bin);
      const out = figures.out === undefined ? 'not logged' : `${figures.out.toFixed(1)} s`;
      console.log(`${tree.label}, run ${run}: out of rotation ${out}; liveness gave up ${figures.liveness.toFixed(1)} s; replacement seen ready ${figures.replaced.toFixed(1)} s after the replica stopped answering`);
      if (tree.bin === OEP_BIN && figures.liveness * 1000 < LIVENESS_LOWER_BOUND_MS) met = false;
    }
  }
  process.exitCode = met ? 0 : 1;
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exitCode = 1;
});
