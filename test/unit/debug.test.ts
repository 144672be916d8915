import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { debugSettingsOf } from '../../src/engine/debug-launch.js';
import { OepError } from '../../src/errors.js';
import { attachConfiguration, debugEnvironment, debugProblem, debugpyMissingHint, runtimeOfUpdate } from '../../src/model/debug.js';
import { describeStep, planReplicas, type DesiredDeployment, type ObservedReplica } from '../../src/model/replica-plan.js';
import { planContainer, type ContainerInput } from '../../src/runtimes/docker/container-spec.js';
import type { DeploymentSpec } from '../../src/spec/types.js';
import { containerInput, deploymentSpec } from './docker-fixtures.js';

function spec(overrides: Partial<DeploymentSpec> = {}): DeploymentSpec {
  return deploymentSpec({
    model: { path: '/src/model-1/model' },
    code_configuration: { code: '/src/model-1/onlinescoring', scoring_script: 'score.py' },
    environment: { image: 'python:3.11' },
    ...overrides,
  });
}

const FOLDERS = { serverDir: '/opt/oep/server', processModelDir: '/home/ada/.local/state/oep/run/ep/blue/azureml-models/blue-model/1' };

describe('attachConfiguration', () => {
  it('docker: maps the cloud paths of code, model and oep server back to the host folders', () => {
    assert.deepEqual(attachConfiguration(spec(), 'docker', { port: 5678, wait: false }, FOLDERS), {
      name: 'oep: blue (ep)',
      type: 'debugpy',
      request: 'attach',
      connect: { host: '127.0.0.1', port: 5678 },
      pathMappings: [
        { localRoot: '/src/model-1/onlinescoring', remoteRoot: '/var/azureml-app/onlinescoring' },
        { localRoot: '/src/model-1/model', remoteRoot: '/var/azureml-app/azureml-models/blue-model/1/model' },
        { localRoot: '/opt/oep/server', remoteRoot: '/var/azureml-server' },
      ],
      justMyCode: true,
    });
  });

  it('process: the code runs from its own folder (identity), the model through the link tree', () => {
    assert.deepEqual(attachConfiguration(spec(), 'process', { port: 5700, wait: true }, FOLDERS).pathMappings, [
      { localRoot: '/src/model-1/onlinescoring', remoteRoot: '/src/model-1/onlinescoring' },
      { localRoot: '/src/model-1/model', remoteRoot: '/home/ada/.local/state/oep/run/ep/blue/azureml-models/blue-model/1/model' },
    ]);
  });
});

describe('debug settings', () => {
  it('the server variables: debugpy on a host and (backend) port with the debug token, waiting only with --debug-wait', () => {
    assert.deepEqual(debugEnvironment({ port: 5678, wait: false, backendPort: 41000 }, '127.0.0.1', 41000, 'T'), {
      OEP_DEBUGPY: '127.0.0.1:41000',
      OEP_DEBUGPY_TOKEN: 'T',
      PYDEVD_DISABLE_FILE_VALIDATION: '1',
    });
    assert.equal(debugEnvironment({ port: 5678, wait: false }, '127.0.0.1', 41000, 'T', true).OEP_DEBUGPY_OWN_USER, '1');
    assert.deepEqual(debugEnvironment({ port: 6000, wait: true }, '0.0.0.0', 5678, 'T'), {
      OEP_DEBUGPY: '0.0.0.0:5678',
      OEP_DEBUGPY_TOKEN: 'T',
      OEP_DEBUGPY_WAIT: '1',
      PYDEVD_DISABLE_FILE_VALIDATION: '1',
    });
  });

  it('flags: --debug alone is port 5678 without waiting; the other flags need --debug; ports are checked', () => {
    assert.equal(debugSettingsOf({}), undefined);
    assert.deepEqual(debugSettingsOf({ debug: true }), { port: 5678, wait: false });
    assert.deepEqual(debugSettingsOf({ debug: true, debugPort: '6001', debugWait: true, vscode: true }), { port: 6001, wait: true });
    const usage = (flags: Parameters<typeof debugSettingsOf>[0], message: RegExp): void => {
      assert.throws(() => debugSettingsOf(flags), (error: unknown) => error instanceof OepError && error.code === 'OEP_ERR_USAGE' && message.test(error.message));
    };
    usage({ debugWait: true, vscode: true }, /^--debug-wait, --vscode go with --debug\.$/);
    usage({ debugPort: '6001' }, /^--debug-port goes with --debug\.$/);
    usage({ debug: true, debugPort: '70000' }, /--debug-port must be a port number \(1-65535\), not "70000"/);
    usage({ debug: true, debugPort: '12ab' }, /not "12ab"/);
  });

  it('a custom container cannot be debugged: it runs its own server', () => {
    const routes = { port: 8080, path: '/' };
    const custom = spec({ environment: { image: 'me/server:1', inference_config: { liveness_route: routes, readiness_route: routes, scoring_route: routes } } });
    assert.match(debugProblem(custom)!, /custom container .* --debug cannot start debugpy in it/);
    assert.equal(debugProblem(spec()), undefined);
  });

  it('says how to add debugpy where the environment comes from', () => {
    assert.match(debugpyMissingHint(spec(), 'process', '/usr/bin/python3'), /"\/usr\/bin\/python3 -m pip install debugpy", or on Debian and Ubuntu "apt install python3-debugpy"/);
    assert.match(debugpyMissingHint(spec({ environment: { image: 'python:3.11', conda_file: '/src/env/conda.yml' } }), 'docker'), /Add debugpy to the pip list of the environment's conda file \(\/src\/env\/conda.yml\)/);
    assert.match(debugpyMissingHint(spec({ environment: { build: { path: '/src/env', dockerfile_path: 'Dockerfile' } } }), 'docker'), /"RUN pip install debugpy" to the Dockerfile .*\/src\/env/);
    assert.match(debugpyMissingHint(spec(), 'docker'), /Use an image that has debugpy/);
  });
});

describe('runtimeOfUpdate: the runtime an update gives a deployment', () => {
  it('a docker deployment debugged on process goes back to docker on the next update without --debug', () => {
    const debugged = runtimeOfUpdate({ runtime: 'docker' }, { runtime: 'process', debug: true });
    assert.deepEqual(debugged, { runtime: 'process', runtimeBeforeDebug: 'docker' });
    // Debugged again, with or without --runtime: where it ran before debugging is kept.
    const again = runtimeOfUpdate(debugged, { debug: true });
    assert.deepEqual(again, { runtime: 'process', runtimeBeforeDebug: 'docker' });
    assert.deepEqual(runtimeOfUpdate(again, { debug: false }), { runtime: 'docker' });
  });

  it('an explicit --runtime always wins', () => {
    assert.deepEqual(runtimeOfUpdate({ runtime: 'process', runtimeBeforeDebug: 'docker' }, { runtime: 'process', debug: false }), { runtime: 'process' });
    // Debugged on docker after all: nothing to go back to.
    assert.deepEqual(runtimeOfUpdate({ runtime: 'process', runtimeBeforeDebug: 'docker' }, { runtime: 'docker', debug: true }), { runtime: 'docker' });
  });

  it('--debug on the runtime it already has, and updates without --debug, remember nothing', () => {
    assert.deepEqual(runtimeOfUpdate({ runtime: 'docker' }, { debug: true }), { runtime: 'docker' });
    assert.deepEqual(runtimeOfUpdate({ runtime: 'process' }, { debug: false }), { runtime: 'process' });
    assert.deepEqual(runtimeOfUpdate({ runtime: 'process' }, { runtime: 'docker', debug: false }), { runtime: 'docker' });
  });
});

describe('planContainer with --debug', () => {
  const input = (overrides: Partial<ContainerInput> = {}): ContainerInput => containerInput(spec({ environment_variables: { OEP_DEBUGPY: '' } }), overrides);

  it('debugpy listens inside on 5678 (never the server port), published on the host 127.0.0.1 at the chosen port', () => {
    const plan = planContainer(input({ debug: { port: 5001, wait: true } }));
    assert.deepEqual(plan.options.HostConfig!.PortBindings, {
      '5001/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }],
      '5678/tcp': [{ HostIp: '127.0.0.1', HostPort: '5001' }],
    });
    assert.deepEqual(plan.options.ExposedPorts, { '5001/tcp': {}, '5678/tcp': {} });
    // After the user's variables: an environment_variables entry cannot turn debugging off.
    assert.equal(plan.environment.OEP_DEBUGPY, '0.0.0.0:5678');
    assert.equal(plan.environment.OEP_DEBUGPY_WAIT, '1');
    assert.notEqual(plan.configHash, planContainer(input()).configHash);
  });

  it('without --debug nothing of it is there', () => {
    const plan = planContainer(input({ spec: spec() }));
    assert.equal(plan.environment.OEP_DEBUGPY, undefined);
    assert.deepEqual(Object.keys(plan.options.HostConfig!.PortBindings!), ['5001/tcp']);
  });

  it('an internal network (egress disabled) publishes no port: a clear error', () => {
    assert.throws(
      () => planContainer(input({ debug: { port: 5678, wait: false }, network: 'oep-internal' })),
      (error: unknown) => error instanceof OepError && error.code === 'OEP_ERR_RUNTIME_UNAVAILABLE' && /internal network, where Docker publishes no port for debugpy/.test(error.message),
    );
  });
});

describe('planReplicas: recreate (the fixed debug port)', () => {
  const want = (overrides: Partial<DesiredDeployment> = {}): DesiredDeployment => ({
    endpoint: 'ep',
    deployment: 'blue',
    runtime: 'process',
    generation: 4,
    replicas: 1,
    status: 'rolling',
    recreate: true,
    ...overrides,
  });
  const replica = (generation: number, phase: ObservedReplica['phase']): ObservedReplica => ({
    endpoint: 'ep',
    deployment: 'blue',
    index: 0,
    generation,
    phase,
    served: phase !== 'starting',
    restarts: 0,
  });
  const steps = (desired: DesiredDeployment, replicas: ObservedReplica[]): string[] => planReplicas({ desired: [desired], replicas, found: [], now: 0 }).steps.map(describeStep);

  it('stops the older replica first, starts the new one once it is gone, completes when it is ready', () => {
    assert.deepEqual(steps(want(), [replica(3, 'ready')]), ['stop blue#0 gen 3 (replaced by gen 4, stopped first)']);
    assert.deepEqual(steps(want(), [replica(3, 'stopping')]), []);
    assert.deepEqual(steps(want(), []), ['start blue#0 gen 4']);
    assert.deepEqual(steps(want(), [replica(4, 'ready')]), ['complete blue gen 4']);
  });

  it('without recreate the new generation starts while the old one serves', () => {
    assert.deepEqual(steps(want({ recreate: undefined }), [replica(3, 'ready')]), ['start blue#0 gen 4']);
  });
});
