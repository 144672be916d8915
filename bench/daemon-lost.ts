/**
 * The CLI when the daemon goes away (issue 25 point 6; the figures in docs/reliability.md):
 * `BENCH_KILLS` (default 30) kill -9 of the daemon at moments spread over a `deployment update`
 * (process runtime), each followed by the deployment settling. Counted per CLI: the commands the
 * kill interrupted, the crashes ("this is a bug" and a stack trace), what the CLI said about the
 * update (recorded / not recorded) and whether that was true (the deployment runs the update
 * once it has settled, or not).
 *
 * `BENCH_BASELINE_BIN=/path/to/older/bin/oep.js` runs the same kills with an older build first
 * (its own daemon too), for the before-and-after of one run.
 */
import { join } from 'node:path';
import { OEP_BIN, OepSandbox } from '../test/e2e/harness.js';
import { faultOf, runOep, updateKilled, type KillPoint, type LostRound } from '../test/faults/daemon-lost-support.js';
import { killScoringServers, ROLLOUT_FIXTURE } from '../test/faults/replica-support.js';

const KILLS = Number(process.env.BENCH_KILLS ?? 30);

/**
 * Every third kill once a replica of the update runs (the update is accepted then: the command is
 * cut for sure); the others ms after the CLI starts, spread over 0-1.4 s (the CLI loads in a few
 * hundred ms). The same for every build.
 */
function killPoint(index: number): KillPoint {
  return index % 3 === 2 ? 'new-replica' : (index * 137) % 1400;
}

async function measure(label: string, bin: string): Promise<void> {
  const oep = new OepSandbox();
  const outcomes: LostRound[] = [];
  try {
    for (const args of [
      ['endpoint', 'create', '-f', join(ROLLOUT_FIXTURE, 'endpoint.yml'), '-o', 'none'],
      ['deployment', 'create', '-f', join(ROLLOUT_FIXTURE, 'blue.yml'), '--all-traffic', '--runtime', 'process', '-o', 'none'],
    ]) {
      const result = await runOep(oep, args, bin).exited;
      if (result.code !== 0) throw new Error(`${label}: oep ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
    }
    const started = Date.now();
    for (let index = 0; index < KILLS; index++) outcomes.push(await updateKilled(oep, index + 1, killPoint(index), bin));
    const interrupted = outcomes.filter((outcome) => outcome.code !== 0);
    const crashed = outcomes.filter((outcome) => outcome.crashed);
    const appliedWhenCrashed = crashed.filter((outcome) => outcome.applied).length;
    const said = (claim: LostRound['claim']): number => outcomes.filter((outcome) => outcome.claim === claim).length;
    const wrong = outcomes.filter((outcome) => !outcome.crashed && faultOf(outcome) !== undefined);
    console.log(
      `${label}: ${KILLS} kills during deployment update in ${((Date.now() - started) / 1000).toFixed(0)} s; ` +
        `${outcomes.filter((outcome) => outcome.killed).length} while the command ran, ${interrupted.length} interrupted it (exit ${[...new Set(interrupted.map((outcome) => outcome.code))].join('/') || '-'}), ` +
        `${outcomes.length - interrupted.length} did not (exit 0, update applied: ${outcomes.filter((outcome) => outcome.code === 0 && outcome.applied).length}); ` +
        `crashes (stack trace): ${crashed.length} (the update applied in ${appliedWhenCrashed} of them); ` +
        `said recorded: ${said('recorded')}, not recorded: ${said('not recorded')}, nothing changed (cut during the first read): ${said('read')}, not known: ${said('not known')}; ` +
        `wrong or incomplete messages: ${wrong.length}`,
    );
    for (const outcome of wrong) console.log(`  kill at ${String(outcome.kill)}: ${faultOf(outcome)}\n${outcome.stderr}`);
  } finally {
    killScoringServers(oep.home);
    await runOep(oep, ['daemon', 'stop'], bin).exited;
    await oep.close();
  }
}

async function main(): Promise<void> {
  const baseline = process.env.BENCH_BASELINE_BIN;
  if (baseline) await measure(`baseline (${baseline})`, baseline);
  await measure('this build', OEP_BIN);
}

await main();
