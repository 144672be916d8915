import assert from 'node:assert/strict';
import { freePort } from '../server/harness.js';
import { describe, it } from 'node:test';
import type { OepState, RuntimeKind } from '../../src/state/types.js';
import { deploymentSpec } from './docker-fixtures.js';
import { recordingContext, recordingController, stateWith, useTemporaryHome } from './controller-support.js';


/** The controller with an in-memory state, a reconciler whose replicas are ready at once, and a router that listens nowhere. */
function controller(state: OepState) {
  const { handlers, intents } = recordingController(state, 'docker');
  const update = async (params: { runtime?: RuntimeKind; debug?: { port: number; wait: boolean } }): Promise<{ runtime: string; notices: string[] }> => {
    const { context, notices } = recordingContext();
    const view = (await handlers['deployment.update']({ spec: deploymentSpec(), ...params }, context)) as { runtime: string };
    return { runtime: view.runtime, notices: notices() };
  };
  return { update, intents, record: () => state.endpoints.ep!.deployments.blue! };
}

function stateWithDeployment(runtime: RuntimeKind): OepState {
  return stateWith({ spec: deploymentSpec(), runtime, provisioning_state: 'Succeeded', generation: 1, created_at: '', updated_at: '' });
}

describe('deployment.update: the runtime after --debug', () => {
  useTemporaryHome('oep-controller-');

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
