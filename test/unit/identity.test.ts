import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultClientId, endpointResourceId, identityView, makeEndpointIdentity, sameIdentity, subjectFor } from '../../src/model/identity.js';

const UAI = '/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app-id';
const UAI2 = '/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/other';

/** Ids that say where they came from, so tests are exact. */
function ids(): { uuid: () => string; stable: (purpose: string) => string } {
  let n = 0;
  return { uuid: () => `uuid-${++n}`, stable: (purpose) => `stable(${purpose.replace('\u0000', ':')})` };
}

describe('endpoint identities', () => {
  it('no identity block is system-assigned, as in Azure; show has type, principal_id and tenant_id', () => {
    const identity = makeEndpointIdentity(undefined, ids());
    assert.deepEqual(identityView(identity), { type: 'system_assigned', principal_id: 'uuid-1', tenant_id: 'stable(tenant)' });
    assert.equal(defaultClientId(identity), 'uuid-2');
  });

  it('user-assigned identities keep their resource_id and get ids that depend only on it (case aside)', () => {
    const one = makeEndpointIdentity({ type: 'user_assigned', user_assigned_identities: [{ resource_id: UAI }] }, ids());
    const two = makeEndpointIdentity({ type: 'user_assigned', user_assigned_identities: [{ resource_id: UAI.toUpperCase().replace('/SUBSCRIPTIONS', '/subscriptions') }] }, ids());
    assert.deepEqual(identityView(one), {
      type: 'user_assigned',
      tenant_id: 'stable(tenant)',
      user_assigned_identities: [{ resource_id: UAI, client_id: `stable(uai-client:${UAI.toLowerCase()})`, principal_id: `stable(uai-principal:${UAI.toLowerCase()})` }],
    });
    assert.equal(two.user_assigned_identities[0]!.client_id, one.user_assigned_identities[0]!.client_id);
    assert.equal(defaultClientId(one), one.user_assigned_identities[0]!.client_id);
  });

  it('a token request: no clientid is the default identity; a known clientid is that identity; another is refused', () => {
    const system = makeEndpointIdentity(undefined, ids());
    const endpointId = endpointResourceId('ep');
    assert.deepEqual(subjectFor(system, endpointId, undefined), { principal_id: 'uuid-1', client_id: 'uuid-2', tenant_id: 'stable(tenant)', resource_id: endpointId });
    assert.deepEqual(subjectFor(system, endpointId, 'UUID-2'), subjectFor(system, endpointId, ''));
    assert.equal(subjectFor(system, endpointId, 'someone-else'), undefined);

    const user = makeEndpointIdentity({ type: 'user_assigned', user_assigned_identities: [{ resource_id: UAI }, { resource_id: UAI2 }] }, ids());
    const second = user.user_assigned_identities[1]!;
    assert.deepEqual(subjectFor(user, endpointId, second.client_id), { principal_id: second.principal_id, client_id: second.client_id, tenant_id: 'stable(tenant)', resource_id: UAI2 });
    assert.equal(subjectFor(user, endpointId, undefined)?.resource_id, UAI);
    // A user_assigned endpoint has no system identity to hand out.
    assert.equal(subjectFor(user, endpointId, user.system.client_id), undefined);
  });

  it('identity is fixed after create: the same block (or none for system) is the same; anything else is not', () => {
    const system = makeEndpointIdentity(undefined, ids());
    assert.equal(sameIdentity(system, undefined), true);
    assert.equal(sameIdentity(system, { type: 'system_assigned' }), true);
    assert.equal(sameIdentity(system, { type: 'user_assigned', user_assigned_identities: [{ resource_id: UAI }] }), false);
    const user = makeEndpointIdentity({ type: 'user_assigned', user_assigned_identities: [{ resource_id: UAI }, { resource_id: UAI2 }] }, ids());
    assert.equal(sameIdentity(user, { type: 'user_assigned', user_assigned_identities: [{ resource_id: UAI2 }, { resource_id: UAI.toLowerCase() }] }), true);
    assert.equal(sameIdentity(user, { type: 'user_assigned', user_assigned_identities: [{ resource_id: UAI }] }), false);
    assert.equal(sameIdentity(user, undefined), false);
  });
});
