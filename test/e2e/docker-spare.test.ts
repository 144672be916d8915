/**
 * The docker runtime's warm spare (src/runtimes/docker/spare-container.ts): once a replica is
 * ready, a container for the deployment's next start is made and started with oep-server
 * imported; the next start with the same launch takes it, a changed launch does not, and a
 * daemon that restarts adopts a taken spare (by its record) and removes one never taken.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type Docker from 'dockerode';
import { BASE_IMAGE, closeDockerSandbox, docker, dockerSkipReason, eventually, isWaitingSpare, killDaemon, orphanContainers, sandboxContainers, TEST_RUN } from './docker-harness.js';
import { OepSandbox } from './harness.js';

interface Shown {
  replicas: { id: string; ready: boolean }[];
}

const skip = await dockerSkipReason([BASE_IMAGE]);

const SCRIPT = (version: number): string => `import os

def init():
    pass

def run(raw_data):
    return {"version": ${version}, "greeting": os.environ.get("GREETING")}
`;

const DEPLOYMENT = (greeting: string): string => `name: blue
endpoint_name: spare
code_configuration:
  code: .
  scoring_script: score.py
environment:
  image: ${BASE_IMAGE}
instance_type: Standard_DS3_v2
environment_variables:
  GREETING: ${greeting}
`;

describe('the docker runtime keeps a warm spare container for the next start', { skip }, () => {
  const oep = new OepSandbox();
  const dir = mkdtempSync(join(tmpdir(), 'oep-spare-'));
  const deploymentFile = join(dir, 'deployment.yml');
  let replicaId = '';
  let spareId = '';

  /** The deployment's spare that no start has taken, once one runs. */
  const waitingSpare = (other = ''): Promise<Docker.ContainerInfo> =>
    eventually('a waiting spare of the deployment', async () => {
      const all = await sandboxContainers(oep, false, true);
      return all.find((container) => isWaitingSpare(container, oep.home) && container.Id.slice(0, 12) !== other);
    }, 60_000);

  const shownReplica = (): Promise<string> =>
    eventually('the ready replica', async () => {
      const view = JSON.parse(await oep.ok(['deployment', 'show', '-n', 'blue', '-e', 'spare'])) as Shown;
      return view.replicas.length === 1 && view.replicas[0]!.ready ? view.replicas[0]!.id : undefined;
    }, 60_000);

  const invoke = async (): Promise<{ version: number; greeting: string }> => JSON.parse(await oep.ok(['endpoint', 'invoke', '-n', 'spare', '--deployment-name', 'blue', '--request-file', join(dir, 'request.json')])) as { version: number; greeting: string };

  const gone = async (id: string): Promise<boolean> => (await docker.getContainer(id).inspect().then(() => false, () => true));

  before(async () => {
    writeFileSync(join(dir, 'endpoint.yml'), 'name: spare\nauth_mode: key\n');
    writeFileSync(join(dir, 'request.json'), '{}');
    writeFileSync(join(dir, 'score.py'), SCRIPT(1));
    writeFileSync(deploymentFile, DEPLOYMENT('hello'));
    await oep.ok(['endpoint', 'create', '-f', join(dir, 'endpoint.yml'), '-o', 'none']);
  });

  after(async () => {
    const left = await closeDockerSandbox(oep);
    rmSync(dir, { recursive: true, force: true });
    assert.deepEqual(left, [], 'containers left by this sandbox (replicas and spares)');
    assert.deepEqual((await orphanContainers()).map((container) => container.Names), [], 'oep containers whose OEP_HOME is gone');
  });

  it('once the replica is ready, a spare runs: labelled a spare of the deployment and of this test run, with no replica, generation or config hash', async () => {
    await oep.ok(['deployment', 'create', '-f', deploymentFile, '--all-traffic', '--runtime', 'docker', '-o', 'none']);
    replicaId = await shownReplica();
    const spare = await waitingSpare();
    spareId = spare.Id.slice(0, 12);
    assert.notEqual(spareId, replicaId);
    assert.equal(spare.State, 'running');
    assert.equal(spare.Labels['oep.endpoint'], 'spare');
    assert.equal(spare.Labels['oep.deployment'], 'blue');
    assert.equal(spare.Labels['oep.test-run'], TEST_RUN);
    assert.match(spare.Labels['oep.spare'] ?? '', /^[0-9a-f]{24}$/);
    for (const label of ['oep.replica', 'oep.generation', 'oep.config-hash']) assert.equal(spare.Labels[label], undefined, `a spare has no ${label}`);
    // The replica itself is a cold start: it carries its replica labels and no spare label.
    const replica = await docker.getContainer(replicaId).inspect();
    assert.equal(replica.Config.Labels['oep.spare'], undefined);
    assert.equal(replica.Config.Labels['oep.generation'], '1');
    // The same container as a cold start, but for its entry and stdin.
    const made = await docker.getContainer(spareId).inspect();
    assert.deepEqual(made.Config.Env.slice().sort(), replica.Config.Env.slice().sort());
    assert.deepEqual(made.HostConfig.Binds, replica.HostConfig.Binds);
    assert.equal(made.Config.Image, replica.Config.Image);
    assert.equal(made.Config.WorkingDir, replica.Config.WorkingDir);
    assert.deepEqual(made.Config.Entrypoint, [replica.Config.Entrypoint![0], '/var/azureml-server/oep_spare.py']);
  });

  it('an update after an edit to score.py takes the spare, which serves the code written after it was made', async () => {
    writeFileSync(join(dir, 'score.py'), SCRIPT(2));
    await oep.ok(['deployment', 'update', '-f', deploymentFile, '-o', 'none']);
    const now = await shownReplica();
    assert.equal(now, spareId, 'the replica of gen 2 is the container that waited as the spare');
    assert.deepEqual(await invoke(), { version: 2, greeting: 'hello' });
    const prepared = await oep.ok(['deployment', 'get-logs', '-n', 'blue', '-e', 'spare', '--container', 'storage-initializer']);
    assert.match(prepared, new RegExp(`container: ${spareId} \\(a warm spare, made ahead with the same image, options and mounts\\) for replica 0`));
    assert.match(prepared, /oep_spare\.py --container/);
    // Its log is the replica's from the first line: the server's start, then the request.
    const logs = await oep.ok(['deployment', 'get-logs', '-n', 'blue', '-e', 'spare']);
    assert.match(logs, /oep-server: ready on/);
    assert.equal(await gone(replicaId), true, 'the replica of gen 1 is removed');
    replicaId = now;
  });

  it('a daemon killed with SIGKILL: the next one adopts the taken spare as the replica and removes the spare never taken', async () => {
    const waiting = (await waitingSpare(replicaId)).Id.slice(0, 12);
    await killDaemon(oep);
    assert.equal(await shownReplica(), replicaId, 'the taken spare is adopted, not replaced');
    assert.deepEqual(await invoke(), { version: 2, greeting: 'hello' });
    await eventually('the spare left by the killed daemon to be removed', async () => ((await gone(waiting)) ? true : undefined), 30_000);
    const log = readFileSync(join(oep.home, 'daemon.log'), 'utf8');
    assert.match(log, new RegExp(`(discard|forget) blue spare ${waiting} \\(`));
  });

  it('a changed launch (an environment variable in the YAML) starts cold and removes the spare', async () => {
    const waiting = (await waitingSpare(replicaId)).Id.slice(0, 12);
    writeFileSync(deploymentFile, DEPLOYMENT('changed'));
    await oep.ok(['deployment', 'update', '-f', deploymentFile, '-o', 'none']);
    const now = await shownReplica();
    assert.notEqual(now, waiting, 'the spare of the old launch is not used');
    const replica = await docker.getContainer(now).inspect();
    assert.equal(replica.Config.Labels['oep.spare'], undefined, 'a cold start');
    assert.ok(replica.Config.Env.includes('GREETING=changed'));
    assert.deepEqual(await invoke(), { version: 2, greeting: 'changed' });
    await eventually('the stale spare to be removed', async () => ((await gone(waiting)) ? true : undefined), 30_000);
    // The next spare is made for the new launch.
    const next = await waitingSpare(now);
    const made = await docker.getContainer(next.Id).inspect();
    assert.ok(made.Config.Env.includes('GREETING=changed'));
  });

  it('deleting the endpoint removes the replica and the spare', async () => {
    await waitingSpare(await shownReplica());
    await oep.ok(['endpoint', 'delete', '-n', 'spare', '--yes']);
    assert.deepEqual(await sandboxContainers(oep, true, true), []);
  });
});
