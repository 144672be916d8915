import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { eventually, OepSandbox } from '../e2e/harness.js';
import { killDaemonHard, killScoringServers, ROLLOUT_FIXTURE, scoringServerLeaders } from './replica-support.js';

/**
 * Interrupted deletes finish (issue 25 point 5; the figures are in docs/reliability.md, "The
 * daemon killed during a delete"). The daemon is killed with SIGKILL at each named step of
 * `endpoint delete` and `deployment delete` (the test hook OEP_TEST_PAUSE_AT stops it there, so
 * the moment is exact, not guessed); the next command starts a daemon that finishes the delete:
 * the endpoint's port refuses connections from the moment that command returns, `show` says
 * Deleting and then that it does not exist, changes are refused meanwhile, its replicas are
 * stopped and its files removed. Process runtime, two replicas per deployment.
 */

interface Shown {
  provisioning_state: string;
  replicas: { pid: number }[];
}

const PROCESS = ['--runtime', 'process', '--set', 'instance_count=2', '-o', 'none'];

/** Whether something accepts a TCP connection on 127.0.0.1:port ('refused' is the answer wanted). */
function probePort(port: number): Promise<'accepted' | 'refused' | string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('accepted');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED' ? 'refused' : (error.code ?? error.message)));
  });
}

function daemonLog(oep: OepSandbox): string {
  try {
    return readFileSync(join(oep.home, 'daemon.log'), 'utf8').split('\n').slice(-60).join('\n');
  } catch {
    return '(no daemon log)';
  }
}

/** An endpoint with blue (all traffic) and green, both running; their replicas' pids and the endpoint's port. */
async function setUp(oep: OepSandbox): Promise<{ port: number; blue: number[]; green: number[] }> {
  await oep.ok(['endpoint', 'create', '-f', join(ROLLOUT_FIXTURE, 'endpoint.yml'), '-o', 'none']);
  await oep.ok(['deployment', 'create', '-f', join(ROLLOUT_FIXTURE, 'blue.yml'), '--all-traffic', ...PROCESS]);
  await oep.ok(['deployment', 'create', '-f', join(ROLLOUT_FIXTURE, 'green.yml'), ...PROCESS]);
  const pids = async (name: string): Promise<number[]> =>
    (JSON.parse(await oep.ok(['deployment', 'show', '-n', name, '-e', 'rollout'])) as Shown).replicas.map((replica) => replica.pid).sort();
  const port = Number(new URL((await oep.ok(['endpoint', 'show', '-n', 'rollout', '--query', 'scoring_uri', '-o', 'tsv'])).trim()).port);
  return { port, blue: await pids('blue'), green: await pids('green') };
}

/** Starts the delete, waits for the daemon to pause at the point, checks what a user sees there, then kills the daemon. */
async function killAt(oep: OepSandbox, point: string, command: string[], showCommand: string[], refusedCommand: string[]): Promise<void> {
  const running = oep.start(command);
  await eventually(`the daemon to pause at ${point}`, async () => (existsSync(join(oep.home, `test-paused-at-${point}`)) ? true : undefined), 60_000);
  const shown = JSON.parse(await oep.ok(showCommand)) as Shown;
  assert.equal(shown.provisioning_state, 'Deleting', `${point}: show says Deleting while the delete runs`);
  const refused = await oep.run(refusedCommand);
  assert.equal(refused.code, 1, `${point}: a change while deleting is refused with exit 1\n${refused.stderr}`);
  assert.match(refused.stderr, /is being deleted, so it cannot be updated\.[\s\S]*OEP_ERR_BEING_DELETED/);
  await killDaemonHard(oep);
  await running.exited;
}

/** The first command after the kill starts a daemon; it must say Deleting (being finished) or not found, nothing else. */
async function firstLookAfterRestart(oep: OepSandbox, showCommand: string[], what: string): Promise<string> {
  const first = await oep.run(showCommand);
  if (first.code === 0) return (JSON.parse(first.stdout) as Shown).provisioning_state;
  assert.equal(first.code, 2, `${what}: show after the restart\n${first.stderr}`);
  assert.match(first.stderr, /does not exist/);
  return 'not found';
}

describe('kill -9 of the daemon during endpoint delete: the next daemon finishes it', () => {
  const sandboxes: OepSandbox[] = [];
  after(async () => {
    for (const oep of sandboxes) {
      killScoringServers(oep.home);
      await oep.close();
    }
  });

  for (const point of ['endpoint.delete:marked', 'endpoint.delete:replicas-stopped', 'endpoint.delete:files-removed']) {
    it(`killed at ${point}: no listener after the restart, then gone, nothing left`, async () => {
      const oep = new OepSandbox({ OEP_TEST_PAUSE_AT: point });
      sandboxes.push(oep);
      const { port } = await setUp(oep);
      const show = ['endpoint', 'show', '-n', 'rollout'];
      await killAt(oep, point, ['endpoint', 'delete', '-n', 'rollout', '--yes'], show, ['endpoint', 'update', '-n', 'rollout', '--traffic', 'blue=100', '-o', 'none']);

      const first = await firstLookAfterRestart(oep, show, point);
      // From the moment the restarting command returned: the endpoint being deleted serves nothing.
      assert.equal(await probePort(port), 'refused', `${point}: port ${port} right after the restart (show said ${first})\n${daemonLog(oep)}`);
      assert.ok(['Deleting', 'not found'].includes(first), `${point}: show said ${first}`);
      if (first === 'Deleting') {
        const refused = await oep.run(['endpoint', 'update', '-n', 'rollout', '--traffic', 'blue=100', '-o', 'none']);
        // Refused as being deleted, or (finished meanwhile) as not found: never applied.
        assert.ok(refused.code === 1 || refused.code === 2, `${point}: update after the restart exited ${refused.code}\n${refused.stderr}`);
      }
      await eventually(`${point}: the endpoint to be gone`, async () => ((await oep.run(show)).code === 2 ? true : undefined), 60_000).catch((error: Error) => {
        throw new Error(`${error.message}\n${daemonLog(oep)}`);
      });

      assert.equal(await probePort(port), 'refused', `${point}: port ${port} released`);
      await eventually(`${point}: no scoring server left`, async () => (scoringServerLeaders(oep.home).length === 0 ? true : undefined)).catch(() => undefined);
      assert.deepEqual(scoringServerLeaders(oep.home), [], `${point}: scoring servers left\n${daemonLog(oep)}`);
      const state = JSON.parse(readFileSync(join(oep.home, 'state.json'), 'utf8')) as { endpoints: Record<string, unknown> };
      assert.deepEqual(Object.keys(state.endpoints), []);
      for (const folder of ['logs/rollout', 'run/rollout', 'pairs/rollout.jsonl', 'tls/endpoints/rollout.pem']) {
        assert.equal(existsSync(join(oep.home, folder)), false, `${point}: ${folder} removed`);
      }
      // The record goes last, so at every point the next daemon found it Deleting and finished it.
      assert.match(daemonLog(oep), /finished the delete of endpoint rollout that the previous daemon did not finish/);
      // The name can be used again at once.
      await oep.ok(['endpoint', 'create', '-f', join(ROLLOUT_FIXTURE, 'endpoint.yml'), '-o', 'none']);
    });
  }
});

describe('kill -9 of the daemon during deployment delete: the next daemon finishes it', () => {
  const sandboxes: OepSandbox[] = [];
  after(async () => {
    for (const oep of sandboxes) {
      killScoringServers(oep.home);
      await oep.close();
    }
  });

  for (const point of ['deployment.delete:marked', 'deployment.delete:replicas-stopped']) {
    it(`killed at ${point}: green goes, blue serves on, nothing of green left`, async () => {
      const oep = new OepSandbox({ OEP_TEST_PAUSE_AT: point });
      sandboxes.push(oep);
      const { port, blue } = await setUp(oep);
      const show = ['deployment', 'show', '-n', 'green', '-e', 'rollout'];
      await killAt(oep, point, ['deployment', 'delete', '-n', 'green', '-e', 'rollout', '--yes'], show, [
        'deployment', 'update', '-n', 'green', '-e', 'rollout', '--set', 'environment_variables.ROUND="1"', '-o', 'none',
      ]);

      const first = await firstLookAfterRestart(oep, show, point);
      assert.ok(['Deleting', 'not found'].includes(first), `${point}: show said ${first}`);
      await eventually(`${point}: green to be gone`, async () => ((await oep.run(show)).code === 2 ? true : undefined), 60_000).catch((error: Error) => {
        throw new Error(`${error.message}\n${daemonLog(oep)}`);
      });

      // Blue's replicas were adopted, green's stopped: the scoring servers running are blue's.
      const shownBlue = JSON.parse(await oep.ok(['deployment', 'show', '-n', 'blue', '-e', 'rollout'])) as Shown;
      assert.deepEqual(shownBlue.replicas.map((replica) => replica.pid).sort(), blue, `${point}: blue's replicas adopted`);
      const leaders = await eventually(`${point}: only blue's scoring servers`, async () => {
        const now = scoringServerLeaders(oep.home).sort();
        return JSON.stringify(now) === JSON.stringify(blue) ? now : undefined;
      }).catch(() => scoringServerLeaders(oep.home).sort());
      assert.deepEqual(leaders, blue, `${point}: scoring servers running\n${daemonLog(oep)}`);
      assert.equal(await probePort(port), 'accepted', 'the endpoint keeps its listener');
      const key = (await oep.ok(['endpoint', 'get-credentials', '-n', 'rollout', '--query', 'primaryKey', '-o', 'tsv'])).trim();
      const pinned = await fetch(`http://127.0.0.1:${port}/score`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'azureml-model-deployment': 'green', 'content-type': 'application/json' }, body: '{}' });
      await pinned.arrayBuffer();
      assert.equal(pinned.status, 404, 'a request pinned to the deleted deployment');
      const served = await fetch(`http://127.0.0.1:${port}/score`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: '{}' });
      await served.arrayBuffer();
      assert.equal(served.status, 200, 'blue serves on');
      assert.match(daemonLog(oep), /finished the delete of deployment rollout\/green that the previous daemon did not finish/);
      for (const folder of ['logs/rollout/green', 'run/rollout/green']) {
        assert.equal(existsSync(join(oep.home, folder)), false, `${point}: ${folder} removed`);
      }
      const state = JSON.parse(readFileSync(join(oep.home, 'state.json'), 'utf8')) as { endpoints: { rollout: { deployments: Record<string, unknown> } } };
      assert.deepEqual(Object.keys(state.endpoints.rollout.deployments), ['blue']);
    });
  }
});
