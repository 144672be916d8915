import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { restoreState } from '../../src/daemon/restore.js';
import type { EndpointRoute } from '../../src/router/router.js';
import type { DeploymentSpec } from '../../src/spec/types.js';
import type { DeploymentRecord, OepState, ProvisioningState } from '../../src/state/types.js';
import type { DeploymentIntent } from '../../src/supervisor/reconciler.js';
import { stateWith } from './controller-support.js';

function deployment(name: string, provisioning_state: ProvisioningState = 'Succeeded', generation = 1): DeploymentRecord {
  return {
    spec: { name, endpoint_name: 'ep', instance_count: 1, request_settings: { request_timeout_ms: 5000, max_concurrent_requests_per_instance: 1, max_queue_wait_ms: 500 } } as DeploymentSpec,
    runtime: 'docker',
    provisioning_state,
    generation,
    created_at: '',
    updated_at: '',
  };
}

/** Records the order of calls: the listeners must come before anything else. */
function fakes(state: OepState) {
  const calls: string[] = [];
  const intents: DeploymentIntent[] = [];
  const settle = new Map<string, () => void>();
  return {
    calls,
    intents,
    settle,
    store: {
      snapshot: () => structuredClone(state),
      mutate: async <T>(change: (draft: OepState) => T | Promise<T>): Promise<T> => change(state),
    },
    router: { upsert: async (route: EndpointRoute) => void calls.push(`listen ${route.name}:${route.port}`) },
    /** The deletes restore finishes, recorded in the same order list. */
    deletes: {
      endpoint: async (name: string) => void calls.push(`finish delete of endpoint ${name}`),
      deployment: async (endpoint: string, name: string) => void calls.push(`finish delete of ${endpoint}/${name}`),
    },
    reconciler: {
      observe: async (): Promise<void> => void calls.push('observe'),
      apply: (intent: DeploymentIntent) => {
        calls.push(`apply ${intent.spec.name}${intent.restore ? ' (restore)' : ''}${intent.failed ? ' (failed)' : ''}`);
        intents.push(intent);
        return new Promise<void>((resolve) => settle.set(intent.spec.name, resolve));
      },
    },
  };
}

describe('restoreState', () => {
  it('opens the listeners first, then looks for leftovers, then hands every deployment to the reconciler', async () => {
    const state = stateWith(deployment('blue'), deployment('broken', 'Failed'), deployment('going', 'Deleting'));
    const fake = fakes(state);
    await restoreState({ ...fake, log: () => undefined });
    await new Promise((resolve) => setImmediate(resolve));
    // The deployment being deleted is not run: its delete is finished once the leftovers are known.
    assert.deepEqual(fake.calls, ['listen ep:1', 'observe', 'apply blue (restore)', 'apply broken (failed)', 'finish delete of ep/going']);
  });

  it('an endpoint being deleted when the daemon died gets no listener, runs nothing, and its delete is finished after the look for leftovers', async () => {
    const state = stateWith(deployment('blue'), deployment('green', 'Updating'));
    state.endpoints.ep!.provisioning_state = 'Deleting';
    state.endpoints.other = { ...structuredClone(state.endpoints.ep!), spec: { ...state.endpoints.ep!.spec, name: 'other' }, port: 2, provisioning_state: 'Succeeded', deployments: {} };
    const fake = fakes(state);
    let looked!: () => void;
    fake.reconciler.observe = () => new Promise<void>((resolve) => (looked = () => resolve(void fake.calls.push('observe'))));
    const logged: string[] = [];
    await restoreState({ ...fake, log: (line) => logged.push(line) });
    assert.deepEqual(fake.calls, ['listen other:2'], 'no listener for ep, none of its deployments applied, no delete before the leftovers are known');
    looked();
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(fake.calls, ['listen other:2', 'observe', 'finish delete of endpoint ep']);
    assert.deepEqual(logged, [
      'endpoint ep was being deleted when the previous daemon stopped: finishing the delete (no listener, nothing runs)',
      'finished the delete of endpoint ep that the previous daemon did not finish',
    ]);
  });

  it('a delete that cannot be finished is logged and leaves the record as it is', async () => {
    const state = stateWith(deployment('going', 'Deleting'));
    const fake = fakes(state);
    fake.deletes.deployment = async () => {
      throw new Error('the disk is full');
    };
    const logged: string[] = [];
    await restoreState({ ...fake, log: (line) => logged.push(line) });
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(logged.at(-1), 'could not finish the delete of deployment ep/going: the disk is full (it stays Deleting; oep ... delete runs it again)');
    assert.equal(state.endpoints.ep!.deployments.going!.provisioning_state, 'Deleting');
  });

  it('a create the previous daemon did not finish is Succeeded once its replicas are ready', async () => {
    const state = stateWith(deployment('blue', 'Creating'), deployment('green', 'Updating', 2));
    const fake = fakes(state);
    const logged: string[] = [];
    await restoreState({ ...fake, log: (line) => logged.push(line) });
    fake.settle.get('blue')!();
    // An update came in meanwhile: the restored configuration is not the one to mark.
    state.endpoints.ep!.deployments.green!.generation = 3;
    fake.settle.get('green')!();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(state.endpoints.ep!.deployments.blue!.provisioning_state, 'Succeeded');
    assert.equal(state.endpoints.ep!.deployments.green!.provisioning_state, 'Updating');
    assert.deepEqual(logged, ['restored ep/blue', 'restored ep/green']);
  });
});
