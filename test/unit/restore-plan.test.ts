import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isBeingDeleted, planRestore } from '../../src/daemon/restore-plan.js';
import type { DeploymentSpec, EndpointSpec } from '../../src/spec/types.js';
import type { DeploymentRecord, EndpointRecord, OepState, ProvisioningState } from '../../src/state/types.js';

function deployment(name: string, provisioning_state: ProvisioningState = 'Succeeded'): DeploymentRecord {
  return { spec: { name } as DeploymentSpec, runtime: 'process', provisioning_state, generation: 1, created_at: '', updated_at: '' };
}

function endpoint(name: string, provisioning_state: ProvisioningState, ...deployments: DeploymentRecord[]): EndpointRecord {
  return {
    spec: { name, auth_mode: 'key', traffic: {}, mirror_traffic: {} } as unknown as EndpointSpec,
    port: 1,
    keys: { primary: 'p', secondary: 's' },
    token_secret: 'x',
    identity: { type: 'system_assigned', tenant_id: 't', system: { principal_id: 'p', client_id: 'c' }, user_assigned_identities: [] },
    provisioning_state,
    created_at: '',
    updated_at: '',
    deployments: Object.fromEntries(deployments.map((record) => [record.spec.name, record])),
  };
}

function state(...endpoints: EndpointRecord[]): OepState {
  return { version: 1, endpoints: Object.fromEntries(endpoints.map((record) => [record.spec.name, record])) };
}

describe('planRestore: what a starting daemon brings back and what it finishes deleting', () => {
  it('brings back every endpoint and deployment of a state with no delete under way', () => {
    const plan = planRestore(state(endpoint('a', 'Succeeded', deployment('blue'), deployment('green', 'Creating'), deployment('red', 'Failed')), endpoint('b', 'Updating')));
    assert.deepEqual(plan, {
      listen: ['a', 'b'],
      run: [
        { endpoint: 'a', deployment: 'blue' },
        { endpoint: 'a', deployment: 'green' },
        { endpoint: 'a', deployment: 'red' },
      ],
      deleteEndpoints: [],
      deleteDeployments: [],
    });
  });

  it('an endpoint recorded as Deleting gets no listener, none of its deployments runs, and its delete is finished', () => {
    const plan = planRestore(state(endpoint('going', 'Deleting', deployment('blue'), deployment('green', 'Updating')), endpoint('stays', 'Succeeded', deployment('blue'))));
    assert.deepEqual(plan, {
      listen: ['stays'],
      run: [{ endpoint: 'stays', deployment: 'blue' }],
      deleteEndpoints: ['going'],
      deleteDeployments: [],
    });
  });

  it('a deployment recorded as Deleting does not run and its delete is finished; its endpoint and the others come back', () => {
    const plan = planRestore(state(endpoint('ep', 'Succeeded', deployment('blue'), deployment('green', 'Deleting'))));
    assert.deepEqual(plan, {
      listen: ['ep'],
      run: [{ endpoint: 'ep', deployment: 'blue' }],
      deleteEndpoints: [],
      deleteDeployments: [{ endpoint: 'ep', deployment: 'green' }],
    });
  });

  it('a Deleting deployment of a Deleting endpoint goes with its endpoint: one delete, not two', () => {
    const plan = planRestore(state(endpoint('ep', 'Deleting', deployment('green', 'Deleting'))));
    assert.deepEqual(plan.deleteEndpoints, ['ep']);
    assert.deepEqual(plan.deleteDeployments, []);
    assert.deepEqual(plan.run, []);
  });
});

describe('isBeingDeleted', () => {
  it('is true for an endpoint being deleted and for each of its deployments, and for a deployment being deleted', () => {
    const going = endpoint('going', 'Deleting', deployment('blue'));
    const stays = endpoint('stays', 'Succeeded', deployment('blue'), deployment('green', 'Deleting'));
    assert.equal(isBeingDeleted(going), true);
    assert.equal(isBeingDeleted(going, going.deployments.blue), true);
    assert.equal(isBeingDeleted(stays), false);
    assert.equal(isBeingDeleted(stays, stays.deployments.blue), false);
    assert.equal(isBeingDeleted(stays, stays.deployments.green), true);
  });
});
