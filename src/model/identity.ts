/**
 * Endpoint identities as Azure shows them (docs/contract.md section 9): pure data and rules, no I/O.
 * An endpoint without `identity:` is system-assigned, as in Azure. Ids are made by the daemon
 * at create (src/daemon) and never change afterwards, as Azure fixes an endpoint's identity.
 */

import { LOCAL_WORKSPACE, onlineEndpointResourceId } from './arm-id.js';

/** What `endpoint show` prints under `identity` (azure-ai-ml's shape: a list of user-assigned identities). */
export interface EndpointIdentityView {
  type: 'system_assigned' | 'user_assigned';
  principal_id?: string;
  tenant_id: string;
  user_assigned_identities?: UserAssignedIdentity[];
}

export interface UserAssignedIdentity {
  resource_id: string;
  client_id: string;
  principal_id: string;
}

/** The identities of an endpoint as kept in state. */
export interface EndpointIdentity {
  type: 'system_assigned' | 'user_assigned';
  tenant_id: string;
  /** The system-assigned identity (always made: Azure gives a user_assigned endpoint none, but tokens need an app id). */
  system: { principal_id: string; client_id: string };
  user_assigned_identities: UserAssignedIdentity[];
}

/** Where ids come from, injected so that tests are exact: `uuid()` fresh ones, `stable(purpose)` the home's. */
export interface IdentityIds {
  uuid: () => string;
  stable: (purpose: string) => string;
}

/** The local subscription and resource group of the ARM-shaped ids oep shows (model/arm-id.ts). */
export const LOCAL_SUBSCRIPTION = LOCAL_WORKSPACE.subscription;
export const LOCAL_RESOURCE_GROUP = LOCAL_WORKSPACE.resourceGroup;

/** An endpoint's ARM-shaped id, as Azure's `id`: the same as `endpoint show` prints. */
export function endpointResourceId(endpoint: string): string {
  return onlineEndpointResourceId(endpoint);
}

/**
 * The identities of a new endpoint. The system-assigned one is new with each endpoint (Azure
 * makes a new principal when an endpoint is re-created); a user-assigned identity is the same
 * Entra object wherever it is used, so its ids depend only on its resource id (and the home).
 * The tenant is the home's.
 */
export function makeEndpointIdentity(spec: { type: 'system_assigned' | 'user_assigned'; user_assigned_identities?: { resource_id: string }[] } | undefined, ids: IdentityIds): EndpointIdentity {
  const type = spec?.type ?? 'system_assigned';
  return {
    type,
    tenant_id: ids.stable('tenant'),
    system: { principal_id: ids.uuid(), client_id: ids.uuid() },
    user_assigned_identities: (type === 'user_assigned' ? (spec?.user_assigned_identities ?? []) : []).map((item) => {
      const key = item.resource_id.trim().toLowerCase();
      return { resource_id: item.resource_id.trim(), client_id: ids.stable(`uai-client\u0000${key}`), principal_id: ids.stable(`uai-principal\u0000${key}`) };
    }),
  };
}

/** Whether an update's `identity` asks for the same identities the endpoint has (they are fixed after create). */
export function sameIdentity(identity: EndpointIdentity, spec: { type: string; user_assigned_identities?: { resource_id: string }[] } | undefined): boolean {
  const type = spec?.type ?? 'system_assigned';
  if (type !== identity.type) return false;
  const wanted = (spec?.user_assigned_identities ?? []).map((item) => item.resource_id.trim().toLowerCase()).sort();
  const have = identity.user_assigned_identities.map((item) => item.resource_id.toLowerCase()).sort();
  return type === 'system_assigned' || JSON.stringify(wanted) === JSON.stringify(have);
}

export function identityView(identity: EndpointIdentity): EndpointIdentityView {
  if (identity.type === 'user_assigned') {
    return { type: 'user_assigned', tenant_id: identity.tenant_id, user_assigned_identities: identity.user_assigned_identities.map((item) => ({ ...item })) };
  }
  return { type: 'system_assigned', principal_id: identity.system.principal_id, tenant_id: identity.tenant_id };
}

/** Who a token is for: the principal, its app (client) id, and the ARM id Azure puts in `xms_mirid`. */
export interface TokenSubject {
  principal_id: string;
  client_id: string;
  tenant_id: string;
  /** The identity's ARM id (user-assigned) or the endpoint's (system-assigned); empty for a user (the developer). */
  resource_id: string;
}

/**
 * The identity a token request names: `clientid` must be one of the endpoint's identities; none
 * means the endpoint's default (system-assigned; for a user_assigned endpoint, its first identity).
 * Returns undefined for a client id the endpoint does not have.
 */
export function subjectFor(identity: EndpointIdentity, endpointResourceId: string, clientId: string | undefined): TokenSubject | undefined {
  const wanted = clientId?.trim().toLowerCase();
  const system = { ...identity.system, tenant_id: identity.tenant_id, resource_id: endpointResourceId };
  const assigned = identity.user_assigned_identities.map((item) => ({ principal_id: item.principal_id, client_id: item.client_id, tenant_id: identity.tenant_id, resource_id: item.resource_id }));
  if (!wanted) return identity.type === 'user_assigned' && assigned[0] ? assigned[0] : system;
  if (identity.type === 'system_assigned' && system.client_id.toLowerCase() === wanted) return system;
  return assigned.find((item) => item.client_id.toLowerCase() === wanted);
}

/** The client id a deployment gets in DEFAULT_IDENTITY_CLIENT_ID: its endpoint's default identity. */
export function defaultClientId(identity: EndpointIdentity): string {
  return identity.type === 'user_assigned' && identity.user_assigned_identities[0] ? identity.user_assigned_identities[0].client_id : identity.system.client_id;
}
