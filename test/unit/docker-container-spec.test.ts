import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OepError } from '../../src/errors.js';
import { planContainer, type ContainerInput } from '../../src/runtimes/docker/container-spec.js';
import type { DeploymentSpec, InferenceConfig } from '../../src/spec/types.js';
import { containerInput, deploymentSpec } from './docker-fixtures.js';

function spec(overrides: Partial<DeploymentSpec> = {}): DeploymentSpec {
  return deploymentSpec({
    model: { path: '/src/model-1/model/' },
    code_configuration: { code: '/src/model-1/onlinescoring/', scoring_script: 'score.py' },
    environment: { image: 'python:3.11' },
    ...overrides,
  });
}

function input(overrides: Partial<ContainerInput> = {}): ContainerInput {
  return containerInput(spec(), overrides);
}

const ROUTES: InferenceConfig = {
  liveness_route: { port: 8080, path: '/live' },
  readiness_route: { port: 8080, path: '/ready' },
  scoring_route: { port: 8080, path: '/predict' },
};

describe('planContainer', () => {
  it('mounts model, code and server read-only at the cloud paths and runs oep server on 5001', () => {
    const plan = planContainer(input());
    assert.deepEqual(plan.options.HostConfig?.Binds, [
      '/src/model-1/model:/var/azureml-app/azureml-models/blue-model/1/model:ro',
      '/src/model-1/onlinescoring:/var/azureml-app/onlinescoring:ro',
      '/opt/oep/server:/var/azureml-server:ro',
    ]);
    assert.deepEqual(plan.options.Entrypoint, ['python3', '/var/azureml-server/oep_server.py']);
    assert.deepEqual(plan.options.Cmd, ['--host', '0.0.0.0', '--port', '5001']);
    assert.equal(plan.options.WorkingDir, '/var/azureml-app/onlinescoring');
    assert.equal(plan.options.HostConfig?.Init, true);
    assert.deepEqual(plan.options.ExposedPorts, { '5001/tcp': {} });
    assert.deepEqual(plan.options.HostConfig?.PortBindings, { '5001/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] });
    assert.deepEqual([plan.scoringPath, plan.readinessPath, plan.livenessPath], ['/score', '/', '/']);
  });

  it('sets the cloud environment, with environment_variables last and overriding', () => {
    const plan = planContainer(input({ spec: spec({ environment_variables: { WORKER_COUNT: '2', AZUREML_ENTRY_SCRIPT: 'other.py' } }) }));
    assert.deepEqual(plan.options.Env, [
      'PYTHONUNBUFFERED=1',
      'PYTHONDONTWRITEBYTECODE=1',
      'AZUREML_MODEL_DIR=/var/azureml-app/azureml-models/blue-model/1',
      'AML_APP_ROOT=/var/azureml-app/onlinescoring',
      'AZUREML_ENTRY_SCRIPT=other.py',
      'WORKER_COUNT=2',
    ]);
  });

  it('gives every replica of a configuration one config hash (known before the plan decides), and each its own name', () => {
    const first = planContainer(input({ replica: 0 }));
    const second = planContainer(input({ replica: 1 }));
    assert.equal(first.configHash, second.configHash);
    assert.notEqual(first.name, second.name);
    assert.notEqual(planContainer(input({ replica: 0, generation: 8 })).configHash, first.configHash);
  });

  it('labels the container with endpoint, deployment, replica, generation, config hash, version and home', () => {
    const plan = planContainer(input({ replica: 2, generation: 7 }));
    const labels = plan.options.Labels ?? {};
    assert.equal(labels['oep.endpoint'], 'ep');
    assert.equal(labels['oep.deployment'], 'blue');
    assert.equal(labels['oep.replica'], '2');
    assert.equal(labels['oep.generation'], '7');
    assert.equal(labels['oep.config-hash'], plan.configHash);
    assert.equal(labels['oep.version'], '0.1.0');
    assert.match(labels['oep.home'] ?? '', /^[0-9a-f]{16}$/);
    assert.equal(labels['oep.home-path'], '/home/ada/.local/state/oep');
    assert.equal(plan.name, `oep-ep-blue-2-${plan.configHash.slice(0, 10)}`);
  });

  it('adds oep.test-run only while OEP_TEST_RUN is set, and leaves the config hash alone', () => {
    const saved = process.env.OEP_TEST_RUN;
    try {
      delete process.env.OEP_TEST_RUN;
      const plain = planContainer(input());
      assert.equal(plain.options.Labels?.['oep.test-run'], undefined);
      process.env.OEP_TEST_RUN = 'run-1';
      const tagged = planContainer(input());
      assert.equal(tagged.options.Labels?.['oep.test-run'], 'run-1');
      assert.equal(tagged.configHash, plain.configHash);
    } finally {
      if (saved === undefined) delete process.env.OEP_TEST_RUN;
      else process.env.OEP_TEST_RUN = saved;
    }
  });

  it('the config hash is stable, and changes with what shapes the container', () => {
    const base = planContainer(input()).configHash;
    assert.equal(planContainer(input()).configHash, base);
    for (const changed of [
      input({ generation: 2 }),
      input({ image: { reference: 'python:3.11', id: 'sha256:222' } }),
      input({ server: { dir: '/opt/oep/server', digest: 'd2' } }),
      input({ home: '/tmp/other-home' }),
      input({ gpu: true }),
      input({ spec: spec({ environment_variables: { A: '1' } }) }),
    ]) {
      assert.notEqual(planContainer(changed).configHash, base);
    }
  });

  it('a GPU deployment asks for every GPU', () => {
    assert.deepEqual(planContainer(input({ gpu: true })).options.HostConfig?.DeviceRequests, [{ Driver: 'nvidia', Count: -1, Capabilities: [['gpu']] }]);
  });

  it("a custom container keeps the image's command, uses its routes and port, and mounts the model at model_mount_path", () => {
    const plan = planContainer(
      input({
        spec: spec({
          code_configuration: undefined,
          model_mount_path: '/var/tfserving-model-mount',
          model: { path: '/src/half_plus_two' },
          environment: { image: 'tensorflow/serving', inference_config: ROUTES },
        }),
      }),
    );
    assert.equal(plan.options.Entrypoint, undefined);
    assert.equal(plan.options.Cmd, undefined);
    assert.equal(plan.options.HostConfig?.Init, undefined);
    assert.deepEqual(plan.options.HostConfig?.Binds, ['/src/half_plus_two:/var/tfserving-model-mount/half_plus_two:ro']);
    assert.deepEqual(plan.options.HostConfig?.PortBindings, { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] });
    assert.deepEqual([plan.containerPort, plan.scoringPath, plan.readinessPath, plan.livenessPath], [8080, '/predict', '/ready', '/live']);
    assert.deepEqual(plan.options.Env, ['AZUREML_MODEL_DIR=/var/tfserving-model-mount']);
  });

  it("managed identity: the socket's folder mounted read-only, MSI_* before environment_variables, the forwarder's variables; none for a custom container", () => {
    const identity = { socketDir: '/home/ada/.local/state/oep/msi/socket', secret: 'msi-secret', clientId: 'client-1' };
    const plan = planContainer(input({ identity, spec: spec({ environment_variables: { DEFAULT_IDENTITY_CLIENT_ID: 'mine' } }) }));
    assert.ok(plan.options.HostConfig?.Binds?.includes('/home/ada/.local/state/oep/msi/socket:/var/run/oep-msi:ro'));
    const env = plan.options.Env ?? [];
    for (const line of ['MSI_ENDPOINT=http://127.0.0.1:46808/MSI/auth', 'MSI_SECRET=msi-secret', 'DEFAULT_IDENTITY_CLIENT_ID=mine', 'OEP_MSI_SOCKET=/var/run/oep-msi/msi.sock', 'OEP_MSI_PORT=46808']) {
      assert.ok(env.includes(line), `${line} in ${env.join(' ')}`);
    }
    assert.ok(!env.some((line) => /^(IDENTITY_|AZURE_)/.test(line)), env.join(' '));
    assert.notEqual(plan.configHash, planContainer(input({ identity: { ...identity, clientId: 'client-2' } })).configHash);
    const custom = planContainer(input({ identity, spec: spec({ code_configuration: undefined, environment: { image: 'tensorflow/serving', inference_config: ROUTES } }) }));
    assert.ok(!(custom.options.Env ?? []).some((line) => /MSI/.test(line)));
    assert.ok(!(custom.options.HostConfig?.Binds ?? []).some((bind) => bind.includes('oep-msi')));
  });

  it('routes on different ports and remote model paths are refused with a reason', () => {
    const split = { ...ROUTES, liveness_route: { port: 8081, path: '/live' } };
    assert.throws(
      () => planContainer(input({ spec: spec({ environment: { image: 'x', inference_config: split } }) })),
      (error: unknown) => error instanceof OepError && /use different ports \(8080, 8081\)/.test(error.message),
    );
    assert.throws(
      () => planContainer(input({ spec: spec({ model: { path: 'azureml://registries/azureml/models/x/versions/1' } }) })),
      (error: unknown) => error instanceof OepError && /model\.path of deployment blue is not a local path/.test(error.message),
    );
  });
});
