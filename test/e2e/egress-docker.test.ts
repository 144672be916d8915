import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type Docker from 'dockerode';
import { BASE_IMAGE, closeDockerSandbox, docker, dockerSkipReason, eventually, sandboxContainers, TEST_RUN } from './docker-harness.js';
import { OepSandbox, REPO_ROOT } from './harness.js';

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'egress');

const skip = await dockerSkipReason([BASE_IMAGE]);

/** oep networks of a sandbox, found by the label every oep network carries. */
function sandboxNetworks(oep: OepSandbox): Promise<Docker.NetworkInspectInfo[]> {
  return docker.listNetworks({ filters: { label: [`oep.home-path=${oep.home}`] } });
}

describe('egress_public_network_access: disabled on the docker runtime', { skip }, () => {
  const oep = new OepSandbox();
  let canary: Docker.Container | undefined;
  /** A server on Docker's default bridge: any container with outbound access reaches it. */
  let target = { host: '', port: 8000 };
  let scoringUri = '';
  let key = '';

  const probe = async (deployment: string, to: { host: string; port: number }) => {
    const response = await fetch(scoringUri, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, 'azureml-model-deployment': deployment },
      body: JSON.stringify(to),
    });
    return { status: response.status, body: (await response.json()) as { connected: boolean; error?: string } };
  };

  before(async () => {
    canary = await docker.createContainer({
      Image: BASE_IMAGE,
      Cmd: ['python3', '-m', 'http.server', String(target.port)],
      Labels: { 'oep.test-run': TEST_RUN, 'oep.test': 'egress-canary' },
      HostConfig: { AutoRemove: true },
    });
    await canary.start();
    const info = await canary.inspect();
    target = { ...target, host: info.NetworkSettings.Networks.bridge?.IPAddress ?? '' };
    assert.match(target.host, /^\d+\.\d+\.\d+\.\d+$/);
    await oep.ok(['endpoint', 'create', '-f', join(FIXTURE, 'endpoint.yml'), '-o', 'none']);
    scoringUri = (await oep.ok(['endpoint', 'show', '-n', 'egress', '--query', 'scoring_uri', '-o', 'tsv'])).trim();
    key = (await oep.ok(['endpoint', 'get-credentials', '-n', 'egress', '--query', 'primaryKey', '-o', 'tsv'])).trim();
  });

  after(async () => {
    const left = await closeDockerSandbox(oep);
    await canary?.remove({ force: true }).catch(() => undefined);
    const networks = await sandboxNetworks(oep).catch(() => []);
    for (const network of networks) await docker.getNetwork(network.Id).remove().catch(() => undefined);
    assert.deepEqual(left, [], 'containers left by this sandbox');
    assert.deepEqual(networks.map((network) => network.Name), [], 'networks left by this sandbox');
  });

  it('a deployment with outbound access reaches the server next door (the control)', async () => {
    await oep.ok(['deployment', 'create', '-f', join(FIXTURE, 'deployment.yml'), '-n', 'open', '--set', 'egress_public_network_access=enabled', '--runtime', 'docker', '-o', 'none']);
    const answer = await probe('open', target);
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, { connected: true });
  });

  it('the disabled deployment answers through the router but cannot open a connection out', async () => {
    const created = await oep.run(['deployment', 'create', '-f', join(FIXTURE, 'deployment.yml'), '--runtime', 'docker', '-o', 'none']);
    assert.equal(created.code, 0, created.stderr);
    const blocked = await probe('closed', target);
    assert.equal(blocked.status, 200);
    assert.equal(blocked.body.connected, false, JSON.stringify(blocked.body));
    const internet = await probe('closed', { host: '1.1.1.1', port: 53 });
    assert.equal(internet.status, 200);
    assert.equal(internet.body.connected, false, JSON.stringify(internet.body));
  });

  it('runs the container on an internal network of its own, labelled, with no published port', async () => {
    const containers = (await sandboxContainers(oep, false)).filter((container) => container.Labels['oep.deployment'] === 'closed');
    assert.equal(containers.length, 1);
    const info = await docker.getContainer(containers[0]!.Id).inspect();
    const networks = Object.keys(info.NetworkSettings.Networks);
    assert.equal(networks.length, 1);
    assert.match(networks[0]!, /^oep-[0-9a-f]{12}-egress-closed-internal$/);
    assert.deepEqual(info.NetworkSettings.Ports ?? {}, {});
    const network = await docker.getNetwork(networks[0]!).inspect();
    assert.equal(network.Internal, true);
    assert.equal(network.Labels?.['oep.endpoint'], 'egress');
    assert.equal(network.Labels?.['oep.deployment'], 'closed');
    assert.equal(network.Labels?.['oep.home-path'], oep.home);
    assert.equal(network.Labels?.['oep.test-run'], TEST_RUN);
    const shown = JSON.parse(await oep.ok(['deployment', 'show', '-n', 'closed', '-e', 'egress'])) as { replicas: { origin: string }[] };
    assert.equal(shown.replicas[0]!.origin, `http://${info.NetworkSettings.Networks[networks[0]!]!.IPAddress}:5001`);
    const log = await oep.ok(['deployment', 'get-logs', '-n', 'closed', '-e', 'egress', '--container', 'storage-initializer']);
    assert.match(log, new RegExp(`internal network ${networks[0]!} \\(no outbound access\\), port 5001`));
  });

  it('deleting the deployment removes its network', async () => {
    assert.equal((await sandboxNetworks(oep)).length, 1);
    await oep.ok(['deployment', 'delete', '-n', 'closed', '-e', 'egress', '--yes']);
    await eventually('the network to go', async () => ((await sandboxNetworks(oep)).length === 0 ? true : undefined), 10_000);
  });
});
