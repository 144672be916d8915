import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type Dockerode from 'dockerode';
import { OepError } from '../../src/errors.js';
import { planContainer, type ContainerInput } from '../../src/runtimes/docker/container-spec.js';
import { ensureInternalNetwork, internalNetworkName, internalOrigin } from '../../src/runtimes/docker/network.js';
import type { DeploymentSpec } from '../../src/spec/types.js';
import { containerInput, deploymentSpec } from './docker-fixtures.js';

function input(spec: Partial<DeploymentSpec>, overrides: Partial<ContainerInput> = {}): ContainerInput {
  const deployment = deploymentSpec({
    code_configuration: { code: '/src/code', scoring_script: 'score.py' },
    environment: { image: 'python:3.11' },
    ...spec,
  });
  return containerInput(deployment, overrides);
}

describe('docker: egress disabled and data collection in the container plan', () => {
  it('an internal network replaces the published port', () => {
    const open = planContainer(input({}));
    assert.deepEqual(open.options.HostConfig?.PortBindings, { '5001/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] });
    assert.equal(open.network, undefined);
    const closed = planContainer(input({ egress_public_network_access: 'disabled' }, { network: 'oep-net' }));
    assert.equal(closed.options.HostConfig?.NetworkMode, 'oep-net');
    assert.equal(closed.options.HostConfig?.PortBindings, undefined);
    assert.equal(closed.network, 'oep-net');
    assert.notEqual(closed.configHash, open.configHash);
  });

  it('mounts the data-collector folder read-write only when the script collects', () => {
    const collector = { sampling_rate: 1, collections: { model_inputs: { enabled: true }, request: { enabled: true } } };
    const plan = planContainer(input({ data_collector: collector }, { dataCollectorDir: '/home/ada/.local/state/oep/data-collector/ep/blue' }));
    assert.ok(plan.options.HostConfig?.Binds?.includes('/home/ada/.local/state/oep/data-collector/ep/blue:/var/oep-data-collector:rw'));
    assert.equal(plan.environment.OEP_DATA_COLLECTOR_DIR, '/var/oep-data-collector');
    const payloadOnly = planContainer(
      input({ data_collector: { sampling_rate: 1, collections: { request: { enabled: true } } } }, { dataCollectorDir: '/x' }),
    );
    assert.ok(!payloadOnly.options.HostConfig?.Binds?.some((bind) => bind.startsWith('/x:')), 'the router logs payloads; the container needs no folder');
    assert.equal(payloadOnly.environment.OEP_DATA_COLLECTOR_DIR, undefined);
  });

  it('names the network after the home, endpoint and deployment', () => {
    assert.match(internalNetworkName({ home: '/h', endpoint: 'ep', deployment: 'blue' }), /^oep-[0-9a-f]{12}-ep-blue-internal$/);
    assert.notEqual(internalNetworkName({ home: '/h1', endpoint: 'ep', deployment: 'blue' }), internalNetworkName({ home: '/h2', endpoint: 'ep', deployment: 'blue' }));
  });

  it('the router reaches the container at its address on the network', () => {
    const info = { NetworkSettings: { Networks: { 'oep-net': { IPAddress: '172.20.0.2' } } } } as unknown as Dockerode.ContainerInspectInfo;
    assert.equal(internalOrigin(info, 'oep-net', 5001), 'http://172.20.0.2:5001');
    assert.equal(internalOrigin(undefined, 'oep-net', 5001), 'http://127.0.0.1:0');
  });

  it('refuses where the host cannot reach a bridge network, before touching Docker', async () => {
    const docker = {} as Dockerode;
    await assert.rejects(ensureInternalNetwork(docker, { home: '/h', endpoint: 'ep', deployment: 'blue' }, 'darwin'), (error: unknown) => {
      assert.ok(error instanceof OepError);
      assert.equal(error.code, 'OEP_ERR_RUNTIME_UNAVAILABLE');
      assert.match(error.message, /egress_public_network_access: disabled/);
      return true;
    });
  });
});
