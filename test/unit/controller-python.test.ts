import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { restoreState } from '../../src/daemon/restore.js';
import { OepError } from '../../src/errors.js';
import type { PythonChoice } from '../../src/model/process-interpreter.js';
import type { OepState, RuntimeKind } from '../../src/state/types.js';
import type { DeploymentIntent } from '../../src/supervisor/reconciler.js';
import { deploymentSpec } from './docker-fixtures.js';
import { recordingContext, recordingController, stateWith, useTemporaryHome } from './controller-support.js';

const SYSTEM: PythonChoice = { named: 'python3', source: 'default', path: '/usr/bin/python3' };
const VENV: PythonChoice = { named: '/home/ada/venv/bin/python', source: 'OEP_PYTHON', path: '/home/ada/venv/bin/python' };
const GONE: PythonChoice = { named: '/home/ada/gone/bin/python', source: 'OEP_PYTHON', path: '/home/ada/gone/bin/python', problem: 'missing' };

function emptyState(): OepState {
  return stateWith();
}

/** The controller with an in-memory state, a reconciler that records what it is asked to run, and a router that listens nowhere. */
function controller(state: OepState, defaultRuntime: RuntimeKind = 'process') {
  const { handlers, intents } = recordingController(state, defaultRuntime);
  const call = async (method: 'deployment.create' | 'deployment.update', params: { runtime?: RuntimeKind; python?: PythonChoice }) => {
    const { context, notices } = recordingContext();
    const view = (await handlers[method]({ spec: deploymentSpec(), ...params }, context)) as Record<string, unknown>;
    return { view, notices: notices() };
  };
  return {
    create: (params: { runtime?: RuntimeKind; python?: PythonChoice }) => call('deployment.create', params),
    update: (params: { runtime?: RuntimeKind; python?: PythonChoice }) => call('deployment.update', params),
    intents,
    record: () => state.endpoints.ep!.deployments.blue,
  };
}

describe('deployment.create|update: the interpreter the command resolved', () => {
  useTemporaryHome('oep-controller-python-');

  it('create on the process runtime records it, shows it and hands it to the reconciler', async () => {
    const oep = controller(emptyState());
    const { view } = await oep.create({ runtime: 'process', python: VENV });
    assert.deepEqual(oep.record()!.python, { path: '/home/ada/venv/bin/python', source: 'OEP_PYTHON' });
    assert.equal(view.python, '/home/ada/venv/bin/python');
    assert.deepEqual(oep.intents.map((intent) => intent.python), [{ path: '/home/ada/venv/bin/python', source: 'OEP_PYTHON' }]);
  });

  it('an update with another interpreter switches it, says so, and rolls out a new generation', async () => {
    const oep = controller(emptyState());
    await oep.create({ runtime: 'process', python: VENV });
    const updated = await oep.update({ python: SYSTEM });
    assert.deepEqual(oep.record()!.python, { path: '/usr/bin/python3', source: 'default' });
    assert.equal(updated.view.python, '/usr/bin/python3');
    assert.deepEqual(updated.notices, [
      "deployment blue: the process runtime's interpreter changes from /home/ada/venv/bin/python (OEP_PYTHON) to /usr/bin/python3 (the default: python3 on PATH); its replicas restart with it",
    ]);
    assert.deepEqual(oep.intents.map((intent) => `gen ${intent.generation} ${intent.python?.path}`), ['gen 1 /home/ada/venv/bin/python', 'gen 2 /usr/bin/python3']);
    // The same interpreter again: no notice.
    assert.deepEqual((await oep.update({ python: SYSTEM })).notices, []);
  });

  it('one that cannot run is refused on the process runtime, and nothing changes', async () => {
    const state = emptyState();
    const oep = controller(state);
    await assert.rejects(oep.create({ python: GONE }), (error: unknown) => error instanceof OepError && error.code === 'OEP_ERR_PYTHON_NOT_FOUND');
    assert.equal(oep.record(), undefined);
    await oep.create({ python: VENV });
    const before = structuredClone(state);
    await assert.rejects(oep.update({ python: GONE }), /OEP_PYTHON names the Python interpreter "\/home\/ada\/gone\/bin\/python", which does not exist\./);
    assert.deepEqual(state, before);
    assert.equal(oep.intents.length, 1);
  });

  it('docker neither checks nor records it; moving to docker drops it, and back to process records the command\'s', async () => {
    const oep = controller(emptyState(), 'docker');
    const { view } = await oep.create({ python: GONE });
    assert.equal(oep.record()!.runtime, 'docker');
    assert.equal(oep.record()!.python, undefined);
    assert.equal('python' in view, false);
    await oep.update({ runtime: 'process', python: SYSTEM });
    assert.deepEqual(oep.record()!.python, { path: '/usr/bin/python3', source: 'default' });
    await oep.update({ runtime: 'docker' });
    assert.equal(oep.record()!.python, undefined);
  });

  it('a request without one (a caller that sends none) keeps what was recorded', async () => {
    const oep = controller(emptyState());
    await oep.create({ python: VENV });
    await oep.update({});
    assert.deepEqual(oep.record()!.python, { path: '/home/ada/venv/bin/python', source: 'OEP_PYTHON' });
    assert.equal(oep.intents.at(-1)!.python?.path, '/home/ada/venv/bin/python');
  });
});

describe('daemon start: the recorded interpreter', () => {
  it('each deployment is restored with the interpreter its record keeps (none for older records)', async () => {
    const state = emptyState();
    const spec = deploymentSpec();
    const deployments = state.endpoints.ep!.deployments;
    deployments.blue = { spec, runtime: 'process', provisioning_state: 'Succeeded', generation: 3, created_at: '', updated_at: '', python: { path: '/home/ada/venv/bin/python', source: 'OEP_PYTHON' } };
    deployments.green = { spec: { ...spec, name: 'green' }, runtime: 'process', provisioning_state: 'Succeeded', generation: 1, created_at: '', updated_at: '' };
    const intents: DeploymentIntent[] = [];
    await restoreState({
      store: { snapshot: () => structuredClone(state), mutate: async <T>(change: (draft: OepState) => T | Promise<T>): Promise<T> => change(state) },
      reconciler: { observe: async () => undefined, apply: async (intent) => void intents.push(intent) },
      router: { upsert: async () => undefined },
      log: () => undefined,
    });
    assert.deepEqual(
      intents.map((intent) => [intent.spec.name, intent.generation, intent.python]),
      [
        ['blue', 3, { path: '/home/ada/venv/bin/python', source: 'OEP_PYTHON' }],
        ['green', 1, undefined],
      ],
    );
  });
});
