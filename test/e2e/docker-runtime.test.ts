import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MLFLOW_IMAGE } from '../server/mlflow-support.js';
import { BASE_IMAGE, closeDockerSandbox, copyToTemp, docker, dockerSkipReason, eventually, killDaemon, orphanContainers, sandboxContainers, SKLEARN_IMAGE, TEST_RUN } from './docker-harness.js';
import { assertPredictions, example, OepSandbox } from './harness.js';

/** What examples/sklearn/train.py printed for sample-request.json (the last bits vary with the CPU). */
const PREDICTION = [5430.917515226918, 4005.6834037998824];

interface Shown {
  provisioning_state: string;
  runtime: string;
  replicas: { id: string; origin: string; ready: boolean }[];
}

const skip = await dockerSkipReason([BASE_IMAGE, SKLEARN_IMAGE, MLFLOW_IMAGE]);

describe('the sklearn example on the docker runtime', { skip }, () => {
  const oep = new OepSandbox();
  const copy = copyToTemp(example('sklearn'));
  const deploymentFile = join(copy.dir, 'blue-deployment.yml');
  const request = join(copy.dir, 'sample-request.json');
  let containerId = '';

  before(async () => {
    await oep.ok(['endpoint', 'create', '-f', join(copy.dir, 'endpoint.yml'), '-o', 'none']);
  });

  after(async () => {
    const left = await closeDockerSandbox(oep);
    copy.remove();
    assert.deepEqual(left, [], 'containers left by this sandbox');
    assert.deepEqual((await orphanContainers()).map((container) => container.Names), [], 'oep containers whose OEP_HOME is gone');
  });

  it('runs on docker by default when an engine answers, and answers with the model prediction', async () => {
    assert.equal(await oep.ok(['config', 'get', 'runtime']), 'auto\n');
    const created = await oep.run(['deployment', 'create', '-f', deploymentFile, '--all-traffic', '--set', 'environment_variables.API_KEY=s3cret']);
    assert.equal(created.code, 0, created.stderr);
    // No fallback notice: the only notices say where tokens come from and which stand-in image runs.
    assert.deepEqual(created.stderr.split('\n').filter((line) => line.startsWith('notice:') && !/managed identity|local stand-in/.test(line)), []);
    const shown = JSON.parse(created.stdout) as Shown;
    containerId = shown.replicas[0]?.id ?? '';
    assert.equal(shown.provisioning_state, 'Succeeded');
    assert.equal(shown.runtime, 'docker');
    assert.equal(shown.replicas.length, 1);
    assert.equal(shown.replicas[0]!.ready, true);
    const out = await oep.ok(['endpoint', 'invoke', '-n', 'sklearn', '--request-file', request]);
    assert.match(out, /^\[.*\]\n$/);
    assertPredictions(JSON.parse(out), PREDICTION);
  });

  it('lays the container out as in the cloud: labels, read-only mounts, environment, port on 127.0.0.1 only', async () => {
    const info = await docker.getContainer(containerId).inspect();
    const labels = info.Config.Labels;
    assert.equal(labels['oep.endpoint'], 'sklearn');
    assert.equal(labels['oep.deployment'], 'blue');
    assert.equal(labels['oep.replica'], '0');
    assert.equal(labels['oep.home-path'], oep.home);
    assert.match(labels['oep.config-hash'] ?? '', /^[0-9a-f]{24}$/);
    assert.match(labels['oep.version'] ?? '', /^\d+\.\d+\.\d+/);
    assert.match(labels['oep.home'] ?? '', /^[0-9a-f]{16}$/);
    assert.equal(labels['oep.test-run'], TEST_RUN, "the test run's label, which its clean-up goes by");
    const mounts = Object.fromEntries(info.Mounts.map((mount) => [mount.Destination, { source: mount.Source, rw: mount.RW }]));
    assert.deepEqual(mounts['/var/azureml-app/azureml-models/blue-model/1/model'], { source: join(copy.dir, 'model'), rw: false });
    assert.deepEqual(mounts['/var/azureml-app/onlinescoring'], { source: join(copy.dir, 'onlinescoring'), rw: false });
    assert.equal(mounts['/var/azureml-server']?.rw, false);
    assert.ok(info.Config.Env.includes('AZUREML_MODEL_DIR=/var/azureml-app/azureml-models/blue-model/1'));
    assert.ok(info.Config.Env.includes('AML_APP_ROOT=/var/azureml-app/onlinescoring'));
    assert.ok(info.Config.Env.includes('AZUREML_ENTRY_SCRIPT=score.py'));
    // Docker appends the image's own variables (PATH...) that the container does not set.
    const imageEnv = new Set((await docker.getImage(info.Image).inspect()).Config.Env ?? []);
    assert.equal(info.Config.Env.filter((entry) => !imageEnv.has(entry)).at(-1), 'API_KEY=s3cret', 'environment_variables come last');
    const bindings = info.NetworkSettings.Ports['5001/tcp'] ?? [];
    assert.ok(bindings.length > 0);
    for (const binding of bindings) assert.equal(binding.HostIp, '127.0.0.1');
  });

  it('get-logs shows the container output; storage-initializer shows image, mounts and masked secrets', async () => {
    const logs = await oep.ok(['deployment', 'get-logs', '-n', 'blue', '-e', 'sklearn']);
    assert.match(logs, /POST \/score 200/);
    const prepared = await oep.ok(['deployment', 'get-logs', '-n', 'blue', '-e', 'sklearn', '--container', 'storage-initializer']);
    assert.match(prepared, /prepared deployment \(runtime: docker\)/);
    // The example names Azure's image; the test sandbox's image map (images/offline.yml) runs the stand-in.
    assert.match(prepared, /^image: oep-test\/python-mlflow:bookworm \(sha256:[0-9a-f]{64}; local stand-in for mcr\.microsoft\.com\/azureml\/openmpi4\.1\.0-ubuntu20\.04:latest \(image_map\), used as it is, no build\)$/m);
    assert.match(prepared, /^ {2}\/var\/azureml-app\/onlinescoring <- .*\/onlinescoring \(read-only\)$/m);
    assert.match(prepared, /^ {2}API_KEY=\*\*\*$/m);
    assert.doesNotMatch(prepared, /s3cret/);
  });

  it('deployment update after an edit to score.py serves the new code in a new container, without a build', async () => {
    const script = join(copy.dir, 'onlinescoring', 'score.py');
    writeFileSync(script, readFileSync(script, 'utf8').replace('return result.tolist()', 'return {"predictions": result.tolist(), "edited": True}'));
    const updated = await oep.run(['deployment', 'update', '-f', deploymentFile, '--set', 'environment_variables.API_KEY=s3cret']);
    assert.equal(updated.code, 0, updated.stderr);
    const shown = JSON.parse(updated.stdout) as Shown;
    const previous = containerId;
    // Later tests follow the container that runs now, whatever this test finds.
    containerId = shown.replicas[0]!.id;
    assert.notEqual(containerId, previous, 'a new container runs the new code');
    const answer = JSON.parse(await oep.ok(['endpoint', 'invoke', '-n', 'sklearn', '--request-file', request])) as { edited: boolean; predictions: number[] };
    assert.equal(answer.edited, true);
    assertPredictions(answer.predictions, PREDICTION);
    const prepared = await oep.ok(['deployment', 'get-logs', '-n', 'blue', '-e', 'sklearn', '--container', 'storage-initializer']);
    assert.match(prepared, /no build/);
    const running = await sandboxContainers(oep);
    assert.deepEqual(running.map((container) => container.Id.slice(0, 12)), [shown.replicas[0]!.id], 'the old container is gone');
  });

  it('a daemon killed with SIGKILL leaves the container running, and the next daemon adopts it', async () => {
    await killDaemon(oep);
    const running = await sandboxContainers(oep, false);
    assert.deepEqual(running.map((container) => container.Id.slice(0, 12)), [containerId]);
    const shown = await eventually('the restored replica', async () => {
      const view = JSON.parse(await oep.ok(['deployment', 'show', '-n', 'blue', '-e', 'sklearn'])) as Shown;
      return view.replicas[0]?.ready ? view : undefined;
    });
    assert.equal(shown.replicas[0]!.id, containerId, 'the same container, adopted');
    const answer = JSON.parse(await oep.ok(['endpoint', 'invoke', '-n', 'sklearn', '--request-file', request])) as { edited: boolean };
    assert.equal(answer.edited, true);
    // The adopted container's log keeps flowing into the replica log.
    await eventually('the adopted container to log the request', async () => {
      const logs = await oep.ok(['deployment', 'get-logs', '-n', 'blue', '-e', 'sklearn', '--lines', '3']);
      return /POST \/score 200/.test(logs) ? true : undefined;
    });
    assert.equal((await sandboxContainers(oep)).length, 1);
  });

  it('oep daemon stop stops and removes the containers; the next start brings them back', async () => {
    await oep.ok(['daemon', 'stop']);
    assert.deepEqual(await sandboxContainers(oep, true, true), [], 'replicas and spares removed');
    const shown = await eventually('the restarted replica', async () => {
      const view = JSON.parse(await oep.ok(['deployment', 'show', '-n', 'blue', '-e', 'sklearn'])) as Shown;
      return view.replicas[0]?.ready ? view : undefined;
    });
    assert.notEqual(shown.replicas[0]!.id, containerId);
    assert.equal((await sandboxContainers(oep)).length, 1);
  });

  it('deleting the endpoint removes its containers', async () => {
    await oep.ok(['endpoint', 'delete', '-n', 'sklearn', '--yes']);
    assert.deepEqual(await sandboxContainers(oep, true, true), [], 'replicas and spares removed');
  });
});
