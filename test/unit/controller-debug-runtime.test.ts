import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { freePort } from '../server/harness.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createHandlers, type ControllerDeps } from '../../src/daemon/controller.js';
import type { CallContext } from '../../src/daemon/server.js';
import type { ProgressEvent } from '../../src/model/progress.js';
import type { Router } from '../../src/router/router.js';
import type { EndpointSpec } from '../../src/spec/types.js';
import { oepPaths } from '../../src/state/paths.js';
import type { StateStore } from '../../src/state/store.js';
import type { OepState, RuntimeKind } from '../../src/state/types.js';
import type { DeploymentIntent } from '../../src/supervisor/reconciler.js';
import { deploymentSpec } from './docker-fixtures.js';


/** The controller with an in-memory state, a reconciler whose replicas are ready at once, and a router that listens nowhere. */
function controller(state: OepState) {
  const intents: DeploymentIntent[] = [];
  const deps: ControllerDeps = {
    paths: oepPaths(process.env.OEP_HOME!),
    store: {
      snapshot: () => structuredClone(state),
      mutate: async <T>(change: (draft: OepState) => T | Promise<T>): Promise<T> => change(state),
    } as unknown as StateStore,
    reconciler: {
      apply: async (intent: DeploymentIntent) => void intents.push(intent),
      remove: async () => undefined,
      replicas: () => [],
      logFile: () => '',
      problem: () => undefined,
      problems: () => [],
      replicaCount: () => 1,
    },
    router: { upsert: async () => undefined, remove: async () => undefined, inflightOf: () => 0 } as unknown as Router,
    defaultRuntime: async () => 'docker',
    checkRuntime: async () => undefined,
    version: 'test',
    shutdown: () => undefined,
  };
  const handlers = createHandlers(deps);
  const update = async (params: { runtime?: RuntimeKind; debug?: { port: number; wait: boolean } }): Promise<{ runtime: string; notices: string[] }> => {
    const events: ProgressEvent[] = [];
    const context: CallContext = { emit: (event) => void events.push(event), log: () => undefined, accept: () => undefined, signal: new AbortController().signal };
    const view = (await handlers['deployment.update']({ spec: deploymentSpec(), ...params }, context)) as { runtime: string };
    return { runtime: view.runtime, notices: events.filter((event) => event.phase === 'notice').map((event) => event.message) };
  };
  return { update, intents, record: () => state.endpoints.ep!.deployments.blue! };
}

function stateWithDeployment(runtime: RuntimeKind): OepState {
  const spec = deploymentSpec();
  return {
    version: 1,
    endpoints: {
      ep: {
        spec: { name: 'ep', tags: {}, auth_mode: 'key', traffic: {}, mirror_traffic: {}, public_network_access: 'enabled', kind: 'managed' } as EndpointSpec,
        port: 1,
        keys: { primary: 'p', secondary: 's' },
        token_secret: 'x',
        identity: { type: 'system_assigned', tenant_id: 't', system: { principal_id: 'p', client_id: 'c' }, user_assigned_identities: [] },
        provisioning_state: 'Succeeded',
        created_at: '',
        updated_at: '',
        deployments: { blue: { spec, runtime, provisioning_state: 'Succeeded', generation: 1, created_at: '', updated_at: '' } },
      },
    },
  };
}

describe('deployment.update: the runtime after --debug', () => {
  const home = mkdtempSync(join(tmpdir(), 'oep-controller-'));
  const saved = process.env.OEP_HOME;
  before(() => (process.env.OEP_HOME = home));
  after(() => {
    if (saved === undefined) delete process.env.OEP_HOME;
    else process.env.OEP_HOME = saved;
    rmSync(home, { recursive: true, force: true });
  });

  it('a docker deployment debugged with --runtime process goes back to docker on a plain update, and says so', async () => {
    const oep = controller(stateWithDeployment('docker'));
    const debug = { port: await freePort(), wait: false };
    const debugged = await oep.update({ runtime: 'process', debug });
    assert.equal(debugged.runtime, 'process');
    assert.equal(oep.record().runtime_before_debug, 'docker');
    // Debugged again without --runtime: still on process, still remembering docker.
    assert.equal((await oep.update({ debug })).runtime, 'process');
    assert.equal(oep.record().runtime_before_debug, 'docker');

    const plain = await oep.update({});
    assert.equal(plain.runtime, 'docker');
    assert.deepEqual(plain.notices, ['deployment blue goes back to the docker runtime it ran on before --debug (--runtime chooses another)']);
    assert.equal(oep.record().runtime, 'docker');
    assert.equal(oep.record().runtime_before_debug, undefined);
    assert.equal(oep.record().debug, undefined);
    assert.deepEqual(oep.intents.map((intent) => `${intent.runtime}${intent.debug ? ' (debug)' : ''}`), ['process (debug)', 'process (debug)', 'docker']);
    // And stays there.
    assert.deepEqual(await oep.update({}), { runtime: 'docker', notices: [] });
  });

  it('an explicit --runtime on the update after --debug wins', async () => {
    const oep = controller(stateWithDeployment('docker'));
    await oep.update({ runtime: 'process', debug: { port: await freePort(), wait: false } });
    assert.deepEqual(await oep.update({ runtime: 'process' }), { runtime: 'process', notices: [] });
    assert.equal(oep.record().runtime_before_debug, undefined);
    assert.deepEqual(await oep.update({}), { runtime: 'process', notices: [] });
  });
});
