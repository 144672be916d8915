import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { eventually, OepSandbox } from '../e2e/harness.js';
import { daemonPid, killDaemonHard, killScoringServers, loadLoop, ROLLOUT_FIXTURE, scoringServerLeaders, scoringServersOf } from './replica-support.js';

/**
 * The replica lifecycle under faults (issue 11; the figures are in docs/reliability.md): process
 * replicas outlive a daemon killed with SIGKILL and are adopted, nothing is left running that no
 * deployment wants, and the endpoint answers the first request after a restart.
 */

interface Shown {
  name: string;
  provisioning_state: string;
  replicas: { pid: number; ready: boolean }[];
}

/** A generous request timeout: a request may wait for a replica that a loaded machine starts slowly. */
const PATIENT = ['--set', 'request_settings.request_timeout_ms=60000'];

async function setUp(oep: OepSandbox, instances: number): Promise<{ uri: string; key: string }> {
  await oep.ok(['endpoint', 'create', '-f', join(ROLLOUT_FIXTURE, 'endpoint.yml'), '-o', 'none']);
  await oep.ok(['deployment', 'create', '-f', join(ROLLOUT_FIXTURE, 'blue.yml'), '--all-traffic', '--runtime', 'process', '--set', `instance_count=${instances}`, ...PATIENT, '-o', 'none']);
  const uri = (await oep.ok(['endpoint', 'show', '-n', 'rollout', '--query', 'scoring_uri', '-o', 'tsv'])).trim();
  const key = (await oep.ok(['endpoint', 'get-credentials', '-n', 'rollout', '--query', 'primaryKey', '-o', 'tsv'])).trim();
  return { uri, key };
}

function describeProcess(pid: number): string {
  try {
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    return `${pid} ${environ.filter((entry) => /^(DEPLOYMENT_LABEL|ROUND)=/.test(entry)).join(' ')}`;
  } catch {
    return `${pid} (gone)`;
  }
}

function daemonLogTail(oep: OepSandbox): string {
  try {
    return readFileSync(join(oep.home, 'daemon.log'), 'utf8').split('\n').slice(-80).join('\n');
  } catch {
    return '(no daemon log)';
  }
}

async function score(uri: string, key: string): Promise<number | string> {
  try {
    const res = await fetch(uri, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: '{}' });
    await res.arrayBuffer();
    return res.status;
  } catch (error) {
    return (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
  }
}

/** Waits until every deployment has settled and each replica it shows is ready; returns them. */
async function settled(oep: OepSandbox): Promise<Shown[]> {
  return eventually(
    'every deployment to settle',
    async () => {
      const shown = JSON.parse(await oep.ok(['deployment', 'list', '-e', 'rollout'])) as Shown[];
      const done = shown.every((deployment) => deployment.provisioning_state === 'Succeeded' || deployment.provisioning_state === 'Failed');
      // A deployment that runs shows each of its replicas, all ready (a restarted daemon may still be adopting them).
      const ready = shown.every((deployment) => deployment.provisioning_state === 'Failed' || (deployment.replicas.length > 0 && deployment.replicas.every((replica) => replica.ready)));
      return done && ready ? shown : undefined;
    },
    120_000,
  );
}

describe('kill -9 of the daemon during creates and updates (process runtime)', () => {
  const oep = new OepSandbox();
  after(async () => {
    killScoringServers(oep.home);
    await oep.close();
  });

  it('leaves no stray scoring server: the next daemon adopts or stops every one', async () => {
    await setUp(oep, 2);
    // Kill moments spread over a create or update (ms after the command starts); fixed, so a failure replays.
    const moments = [0, 150, 300, 450, 600, 800, 1000, 250, 700, 1200];
    for (const [round, moment] of moments.entries()) {
      const creating = round % 3 === 2;
      const command = creating
        ? ['deployment', 'create', '-f', join(ROLLOUT_FIXTURE, 'green.yml'), '--runtime', 'process', '-o', 'none']
        : ['deployment', 'update', '-n', 'blue', '-e', 'rollout', '--set', `environment_variables.ROUND="${round}"`, '-o', 'none'];
      const running = oep.start(command);
      await sleep(moment);
      // The command may not have (re)started the daemon yet: kill it once it is there.
      await eventually('a daemon to kill', async () => (daemonPid(oep) !== undefined ? true : undefined), 30_000);
      await killDaemonHard(oep);
      await running.exited;
      if (creating) await oep.run(['deployment', 'delete', '-n', 'green', '-e', 'rollout', '--yes']);
    }
    const shown = await settled(oep);
    const wanted = shown.flatMap((deployment) => deployment.replicas.map((replica) => replica.pid)).sort();
    // Every scoring server that runs is one a deployment shows: none left over, none unknown.
    const leaders = await eventually('only the wanted scoring servers to run', async () => {
      const now = scoringServerLeaders(oep.home).sort();
      return JSON.stringify(now) === JSON.stringify(wanted) ? now : undefined;
    }).catch(() => scoringServerLeaders(oep.home).sort());
    assert.deepEqual(leaders, wanted, `scoring servers running: ${leaders.map(describeProcess).join('; ')}\ndaemon log:\n${daemonLogTail(oep)}`);
    assert.ok(wanted.length >= 2, `blue runs its 2 replicas: ${JSON.stringify(shown)}`);
  });

  it('oep daemon stop stops the replicas it adopted', async () => {
    await oep.ok(['daemon', 'stop']);
    assert.deepEqual(scoringServersOf(oep.home), []);
  });
});

describe('the first request after a daemon restart', () => {
  const oep = new OepSandbox();
  let uri = '';
  let key = '';
  before(async () => ({ uri, key } = await setUp(oep, 1)));
  after(async () => {
    killScoringServers(oep.home);
    await oep.close();
  });

  it('after kill -9: answered 200 by the same replica, adopted', async () => {
    const [before] = scoringServerLeaders(oep.home);
    await killDaemonHard(oep);
    assert.deepEqual(scoringServerLeaders(oep.home), [before], 'the replica outlives the daemon');
    await oep.ok(['endpoint', 'list', '-o', 'none']);
    assert.equal(await score(uri, key), 200);
    const shown = JSON.parse(await oep.ok(['deployment', 'show', '-n', 'blue', '-e', 'rollout'])) as Shown;
    assert.deepEqual(shown.replicas.map((replica) => replica.pid), [before]);
    const log = await oep.ok(['deployment', 'get-logs', '-n', 'blue', '-e', 'rollout']);
    assert.match(log, new RegExp(`^\\S+ oep: replica 0 adopted from an earlier daemon \\(pid ${before}\\)$`, 'm'));
  });

  it('after oep daemon stop: answered 200 (the request waits for the new replica), never refused', async () => {
    await oep.ok(['daemon', 'stop']);
    assert.deepEqual(scoringServersOf(oep.home), []);
    await oep.ok(['endpoint', 'list', '-o', 'none']);
    assert.equal(await score(uri, key), 200);
  });

  it('under load across a kill -9: no refused connection and no 503 once the restarting command returned', async () => {
    const load = loadLoop(uri, key, { parallel: 2, maxRequests: 20_000 });
    try {
      await eventually('some answers before the kill', async () => (load.outcomes.length >= 20 ? true : undefined));
      await killDaemonHard(oep);
      await oep.ok(['endpoint', 'list', '-o', 'none']);
      const returnedAt = Date.now() - load.startedAt;
      await eventually('20 answers after the restart', async () => (load.outcomes.filter((outcome) => outcome.at > returnedAt).length >= 20 ? true : undefined));
      const outcomes = await load.stop();
      const failed = outcomes.filter((outcome) => outcome.at > returnedAt && outcome.result !== 200);
      assert.deepEqual(failed, []);
    } finally {
      await load.stop();
    }
  });
});

describe('one of two replicas killed under load', () => {
  const oep = new OepSandbox();
  after(async () => {
    killScoringServers(oep.home);
    await oep.close();
  });

  it('loses no request, before and after a daemon restart (adopted replicas too)', async () => {
    const { uri, key } = await setUp(oep, 2);
    for (const round of ['own replicas', 'adopted replicas']) {
      if (round === 'adopted replicas') {
        await killDaemonHard(oep);
        await oep.ok(['endpoint', 'list', '-o', 'none']);
      }
      const shown = await settled(oep);
      const victim = shown[0]!.replicas[0]!.pid;
      const load = loadLoop(uri, key, { parallel: 2, maxRequests: 5_000 });
      try {
        await eventually('some answers before the kill', async () => (load.outcomes.length >= 50 ? true : undefined));
        process.kill(victim, 'SIGKILL');
        const killedAt = Date.now() - load.startedAt;
        await eventually('200 answers after the kill', async () => (load.outcomes.filter((outcome) => outcome.at > killedAt).length >= 200 ? true : undefined), 60_000);
      } finally {
        await load.stop();
      }
      const failed = load.outcomes.filter((outcome) => outcome.result !== 200);
      assert.deepEqual(failed, [], `${round}: ${load.outcomes.length} requests`);
      await eventually(`${round}: the killed replica to be replaced`, async () => {
        const now = JSON.parse(await oep.ok(['deployment', 'show', '-n', 'blue', '-e', 'rollout'])) as Shown;
        return now.replicas.length === 2 && now.replicas.every((replica) => replica.ready && replica.pid !== victim) ? true : undefined;
      }, 60_000);
    }
  });
});
