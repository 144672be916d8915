import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { eventually, OepSandbox, REPO_ROOT } from './harness.js';

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'rollout');

interface Shown {
  current_instance_count?: number;
  replicas: { ready: boolean }[];
}

describe('autoscaling a kubernetes deployment (scale_settings.type: target_utilization)', () => {
  const oep = new OepSandbox();
  const gates = mkdtempSync(join(tmpdir(), 'oep-gates-'));
  const gate = join(gates, 'gate');
  after(async () => {
    // Never leave a request held at the gate.
    writeFileSync(gate, '');
    await oep.close();
    rmSync(gates, { recursive: true, force: true });
  });

  const show = async (): Promise<Shown> => JSON.parse(await oep.ok(['deployment', 'show', '-n', 'blue', '-e', 'rollout'])) as Shown;

  it('runs min_instances, scales up under load and back down when idle, and logs each change', async () => {
    await oep.ok(['endpoint', 'create', '-f', join(FIXTURE, 'endpoint.yml'), '--set', 'compute=azureml:k8s', '-o', 'none']);
    await oep.ok([
      'deployment', 'create', '-f', join(FIXTURE, 'blue.yml'), '--runtime', 'process', '--all-traffic', '-o', 'none',
      '--set', 'type=kubernetes', '--set', 'scale_settings.type=target_utilization', '--set', 'scale_settings.min_instances=1',
      '--set', 'scale_settings.max_instances=3', '--set', 'scale_settings.polling_interval=1', '--set', 'request_settings.request_timeout_ms=120000',
    ]);
    const first = await show();
    assert.equal(first.current_instance_count, 1);
    assert.equal(first.replicas.length, 1);

    const uri = (await oep.ok(['endpoint', 'show', '-n', 'rollout', '--query', 'scoring_uri', '-o', 'tsv'])).trim();
    const key = (await oep.ok(['endpoint', 'get-credentials', '-n', 'rollout', '--query', 'primaryKey', '-o', 'tsv'])).trim();
    // Two requests held at the gate: 2 in flight on 1 replica x 1 concurrent request = 200% of a 70% target.
    const held = [0, 1].map((n) =>
      fetch(uri, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ n, gate_blue: gate }) }).then(async (res) => {
        await res.text();
        return res.status;
      }),
    );
    try {
      const scaled = await eventually('the deployment to scale up to 3', async () => {
        const shown = await show();
        return shown.current_instance_count === 3 && shown.replicas.length === 3 && shown.replicas.every((replica) => replica.ready) ? shown : undefined;
      }, 60_000);
      assert.equal(scaled.replicas.length, 3);
      assert.match(await oep.ok(['traffic', 'show', '-n', 'rollout']), /^blue\s+100% #+\s+-\s+3\/3\s/m);
    } finally {
      writeFileSync(gate, '');
    }
    assert.deepEqual(await Promise.all(held), [200, 200]);
    await eventually('the deployment to scale back to 1 when idle', async () => {
      const shown = await show();
      return shown.current_instance_count === 1 && shown.replicas.length === 1 ? true : undefined;
    }, 60_000);
    const log = readFileSync(join(oep.home, 'daemon.log'), 'utf8');
    // The average over a polling interval in which the requests arrived may take two steps up.
    assert.match(log, /rollout\/blue: autoscale 1 -> [23] replicas \(utilisation \d+% of 1 x 1 concurrent requests over 1 s, target 70%, min 1, max 3\)/);
    // Down again in one step or two, as the requests finish within an interval or across two.
    assert.match(log, /rollout\/blue: autoscale 3 -> [12] replicas \(utilisation \d+% of 3 x 1 concurrent requests over 1 s, target 70%, min 1, max 3\)/);
    assert.match(log, /rollout\/blue: autoscale [23] -> 1 replicas \(utilisation \d+% of [23] x 1 concurrent requests over 1 s, target 70%, min 1, max 3\)/);
    assert.ok(existsSync(`${gate}.passed`));
  });
});
