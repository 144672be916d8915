/**
 * The replica-lifecycle faults of issue 11, measured on the process runtime (the figures in
 * docs/reliability.md):
 * - strays: `BENCH_KILLS` (default 30) kill -9 of the daemon while a `deployment update` or
 *   `create` runs, then one command: how many scoring-server processes run beyond the ones the
 *   deployments show, and how many are left after `oep daemon stop` (both should be 0);
 * - gap after `oep daemon stop` + one command, and after kill -9 + one command: refused
 *   connections and non-200 answers seen by a client that keeps sending, and the time from the
 *   command's start to the first 200;
 * - one of two replicas killed with SIGKILL under load (4 clients), before and after a daemon
 *   restart (replicas it started, replicas it adopted): failed requests.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { OepSandbox } from '../test/e2e/harness.js';
import { daemonPid, killDaemonHard, killScoringServers, loadLoop, ROLLOUT_FIXTURE, scoringServerLeaders, scoringServersOf } from '../test/faults/replica-support.js';

const KILLS = Number(process.env.BENCH_KILLS ?? 30);
const GAP_RUNS = Number(process.env.BENCH_GAP_RUNS ?? 3);

async function main(): Promise<void> {
  const oep = new OepSandbox();
  try {
    await oep.ok(['endpoint', 'create', '-f', join(ROLLOUT_FIXTURE, 'endpoint.yml'), '-o', 'none']);
    await oep.ok(['deployment', 'create', '-f', join(ROLLOUT_FIXTURE, 'blue.yml'), '--all-traffic', '--runtime', 'process', '--set', 'instance_count=2', '-o', 'none']);
    const uri = (await oep.ok(['endpoint', 'show', '-n', 'rollout', '--query', 'scoring_uri', '-o', 'tsv'])).trim();
    const key = (await oep.ok(['endpoint', 'get-credentials', '-n', 'rollout', '--query', 'primaryKey', '-o', 'tsv'])).trim();

    for (const how of ['daemon stop', 'kill -9'] as const) {
      for (let run = 0; run < GAP_RUNS; run++) {
        if (how === 'daemon stop') await oep.ok(['daemon', 'stop']);
        else await killDaemonHard(oep);
        const load = loadLoop(uri, key);
        const commandAt = Date.now() - load.startedAt;
        await oep.ok(['endpoint', 'list', '-o', 'none']);
        const returnedAt = Date.now() - load.startedAt;
        // Wait for the first 200 (bounded), then keep the load on for another 2 s.
        const deadline = Date.now() + 30_000;
        while (!load.outcomes.some((outcome) => outcome.result === 200 && outcome.at >= commandAt) && Date.now() < deadline) await sleep(20);
        await sleep(2000);
        const outcomes = await load.stop();
        const after = outcomes.filter((outcome) => outcome.at >= returnedAt);
        const first200 = outcomes.find((outcome) => outcome.result === 200 && outcome.at >= commandAt);
        const failed = after.filter((outcome) => outcome.result !== 200);
        const kinds = [...new Set(failed.map((outcome) => String(outcome.result)))].join(', ') || 'none';
        console.log(
          `gap after ${how} (run ${run + 1}): command took ${returnedAt - commandAt} ms; first 200 ${first200 ? first200.at - commandAt : 'never'} ms after the command started; ` +
            `${failed.length} failed request(s) after the command returned (${kinds}) of ${after.length}`,
        );
        // Let the deployment settle before the next round.
        await oep.ok(['deployment', 'show', '-n', 'blue', '-e', 'rollout', '-o', 'none']);
        await sleep(1500);
      }
    }

    for (const round of ['own', 'adopted']) {
      if (round === 'adopted') {
        await killDaemonHard(oep);
        await oep.ok(['endpoint', 'list', '-o', 'none']);
      }
      await sleep(1500);
      const shown = JSON.parse(await oep.ok(['deployment', 'show', '-n', 'blue', '-e', 'rollout'])) as { replicas: { pid: number }[] };
      const load = loadLoop(uri, key, { parallel: 4 });
      await sleep(2000);
      process.kill(shown.replicas[0]!.pid, 'SIGKILL');
      await sleep(8000);
      const outcomes = await load.stop();
      const failed = outcomes.filter((outcome) => outcome.result !== 200);
      console.log(`one of two ${round} replicas killed under load (4 clients, 10 s): ${failed.length} failed of ${outcomes.length} requests`);
      // Let the killed replica come back.
      await sleep(3000);
    }

    let n = 0;
    for (let kill = 0; kill < KILLS; kill++) {
      // Alternate updates of blue and create/delete of green, killed at a random moment.
      const args =
        kill % 3 === 2
          ? ['deployment', 'create', '-f', join(ROLLOUT_FIXTURE, 'green.yml'), '--runtime', 'process', '-o', 'none']
          : ['deployment', 'update', '-n', 'blue', '-e', 'rollout', '--set', `environment_variables.ROUND="${(n += 1)}"`, '-o', 'none'];
      const running = oep.start(args);
      await sleep(Math.floor(Math.random() * 1500));
      if (daemonPid(oep) === undefined) await sleep(300);
      await killDaemonHard(oep);
      await running.exited;
      if (kill % 3 === 2) await oep.run(['deployment', 'delete', '-n', 'green', '-e', 'rollout', '--yes']);
    }
    await oep.ok(['endpoint', 'list', '-o', 'none']);
    // Let the daemon settle: every deployment either ready or failed, then count.
    const deadline = Date.now() + 60_000;
    let wanted = 0;
    let running = 0;
    for (;;) {
      const shown = JSON.parse(await oep.ok(['deployment', 'list', '-e', 'rollout'])) as { name: string; provisioning_state: string; instance_count: number; replicas: { pid: number; ready: boolean }[] }[];
      wanted = shown.reduce((sum, deployment) => sum + deployment.replicas.length, 0);
      const settled = shown.every((deployment) => deployment.provisioning_state === 'Succeeded' || deployment.provisioning_state === 'Failed')
        && shown.every((deployment) => deployment.provisioning_state === 'Failed' || (deployment.replicas.length > 0 && deployment.replicas.every((replica) => replica.ready)));
      running = leaders(oep.home);
      if ((settled && running === wanted) || Date.now() > deadline) break;
      await sleep(500);
    }
    console.log(`strays after ${KILLS} kill -9 during creates/updates: ${running - wanted} (scoring servers running ${running}, replicas the daemon shows ${wanted})`);
    await oep.ok(['daemon', 'stop']);
    await sleep(500);
    console.log(`scoring-server processes left after oep daemon stop: ${scoringServersOf(oep.home).length}`);
  } finally {
    killScoringServers(oep.home);
    await oep.close();
  }
}

/** Scoring servers, not counting their workers (each server forks WORKER_COUNT of them). */
function leaders(home: string): number {
  return scoringServerLeaders(home).length;
}

await main();
