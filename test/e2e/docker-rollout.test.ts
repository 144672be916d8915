import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { MLFLOW_IMAGE } from '../server/mlflow-support.js';
import { closeDockerSandbox, dockerSkipReason, SKLEARN_IMAGE } from './docker-harness.js';
import { assertPredictions, example, OepSandbox } from './harness.js';

/** What examples/sklearn/train.py printed for sample-request.json (the last bits vary with the CPU). */
const PREDICTION = [5430.917515226918, 4005.6834037998824];

describe('safe rollout on Docker: the sklearn example, blue and green in containers', async () => {
  const skip = await dockerSkipReason([SKLEARN_IMAGE, MLFLOW_IMAGE]);
  const oep = new OepSandbox();
  let uri = '';
  let key = '';
  const body = readFileSync(example('sklearn', 'sample-request.json'), 'utf8');
  const score = async (headers: Record<string, string> = {}) => {
    const res = await fetch(uri, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers }, body });
    return { status: res.status, deployment: res.headers.get('azureml-model-deployment'), body: JSON.parse(await res.text()) as number[] };
  };

  before(async () => {
    if (skip) return;
    await oep.ok(['endpoint', 'create', '-f', example('sklearn', 'endpoint.yml'), '-o', 'none']);
    await oep.ok(['deployment', 'create', '-f', example('sklearn', 'blue-deployment.yml'), '--all-traffic', '--runtime', 'docker', '-o', 'none']);
    await oep.ok(['deployment', 'create', '-f', example('sklearn', 'green-deployment.yml'), '--runtime', 'docker', '-o', 'none']);
    uri = (await oep.ok(['endpoint', 'show', '-n', 'sklearn', '--query', 'scoring_uri', '-o', 'tsv'])).trim();
    key = (await oep.ok(['endpoint', 'get-credentials', '-n', 'sklearn', '--query', 'primaryKey', '-o', 'tsv'])).trim();
  });
  after(async () => {
    if (skip) return oep.close();
    // Delete first, so that the deletion itself is checked; whatever happens, nothing is left.
    const deleted = await oep.run(['endpoint', 'delete', '-n', 'sklearn', '--yes']);
    const left = await closeDockerSandbox(oep);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.deepEqual(left, [], 'containers left by this sandbox');
  });

  it('splits 50/50 exactly and pins with the header', { skip }, async () => {
    await oep.ok(['traffic', 'set', '-n', 'sklearn', 'blue=50', 'green=50']);
    try {
      const served: string[] = [];
      for (let i = 0; i < 10; i++) {
        const answer = await score();
        assert.equal(answer.status, 200);
        assertPredictions(answer.body, PREDICTION);
        served.push(answer.deployment!);
      }
      assert.equal(served.filter((name) => name === 'green').length, 5);
    } finally {
      // The next test mirrors to green, which a deployment with live traffic cannot be.
      await oep.ok(['traffic', 'set', '-n', 'sklearn', 'blue=100']);
    }
    const pinned = await score({ 'azureml-model-deployment': 'green' });
    assert.equal(pinned.deployment, 'green');
    assertPredictions(pinned.body, PREDICTION);
  });

  it('mirrors to a container without the client seeing it', { skip }, async () => {
    await oep.ok(['traffic', 'mirror', '-n', 'sklearn', 'green=50']);
    try {
      for (let i = 0; i < 10; i++) assert.equal((await score()).deployment, 'blue');
      const view = JSON.parse(await oep.ok(['traffic', 'show', '-n', 'sklearn', '-o', 'json'])) as { deployments: { name: string; mirrored: number }[] };
      assert.equal(view.deployments.find((row) => row.name === 'green')!.mirrored, 5);
    } finally {
      await oep.ok(['traffic', 'mirror', '-n', 'sklearn', 'green=0']);
    }
    assert.equal(await oep.ok(['deployment', 'list', '-e', 'sklearn', '--query', '[].name', '-o', 'tsv']), 'blue\ngreen\n');
    assert.equal((await oep.ok(['deployment', 'show', '-n', 'green', '-e', 'sklearn', '--query', 'runtime', '-o', 'tsv'])).trim(), 'docker');
  });
});
