import { OepError } from '../errors.js';
import { checkTrafficRules, type TrafficMap } from '../model/traffic.js';
import { sameIdentity, type EndpointIdentity } from '../model/identity.js';
import { secondLocalDeployment } from '../model/local-endpoint.js';
import type { DeploymentSpec, EndpointSpec } from '../spec/types.js';
import type { DeploymentRecord, EndpointRecord, OepState } from '../state/types.js';

/**
 * The rules the daemon's methods check before they change anything. Pure: each takes the state
 * (or a record) and the change asked for, and throws the OepError a user sees when the change is
 * not allowed. The handlers (src/daemon/handlers/) call them inside the state's mutate, so a
 * refused change leaves the state as it was.
 */

/** As Azure: an endpoint holds at most 20 deployments. */
export const MAX_DEPLOYMENTS_PER_ENDPOINT = 20;

export function requireEndpoint(state: OepState, name: string): EndpointRecord {
  const record = state.endpoints[name];
  if (!record) {
    throw new OepError('OEP_ERR_ENDPOINT_NOT_FOUND', `Online endpoint ${name} does not exist.`, {
      hint: 'List endpoints with: oep endpoint list',
    });
  }
  return record;
}

export function requireDeployment(state: OepState, endpoint: string, name: string): DeploymentRecord {
  const record = requireEndpoint(state, endpoint).deployments[name];
  if (!record) {
    throw new OepError('OEP_ERR_DEPLOYMENT_NOT_FOUND', `Deployment ${name} does not exist in endpoint ${endpoint}.`, {
      hint: `List deployments with: oep deployment list -e ${endpoint}`,
    });
  }
  return record;
}

/**
 * Azure answers 409 Conflict to a change of a resource that is being deleted: oep refuses it the
 * same way (OEP_ERR_BEING_DELETED, exit 1: the command is right, the resource is going away),
 * so an endpoint or deployment being deleted takes no update and runs nothing new.
 */
export function refuseWhileDeleting(owner: EndpointRecord, record: DeploymentRecord | undefined, change: string): void {
  const name = owner.spec.name;
  if (owner.provisioning_state === 'Deleting') {
    throw new OepError('OEP_ERR_BEING_DELETED', `Online endpoint ${name} is being deleted, so it cannot be ${change}.`, {
      hint: `Wait for the delete to finish ("oep endpoint show -n ${name}" says Deleting until then, then that it does not exist), and create it again if you need it.`,
    });
  }
  if (record?.provisioning_state === 'Deleting') {
    throw new OepError('OEP_ERR_BEING_DELETED', `Deployment ${record.spec.name} of endpoint ${name} is being deleted, so it cannot be ${change}.`, {
      hint: `Wait for the delete to finish ("oep deployment show -n ${record.spec.name} -e ${name}" says Deleting until then, then that it does not exist), and create it again if you need it.`,
    });
  }
}

/** An endpoint name is taken until its record is gone (one being deleted too). */
export function assertEndpointAbsent(state: OepState, spec: EndpointSpec): void {
  const existing = state.endpoints[spec.name];
  if (!existing) return;
  refuseWhileDeleting(existing, undefined, 'created again until its delete has finished');
  throw new OepError('OEP_ERR_ENDPOINT_EXISTS', `Online endpoint ${spec.name} already exists.`, {
    hint: `Use "oep endpoint update -n ${spec.name}" to change it, or delete it first.`,
  });
}

/** A new endpoint has no deployments, so its traffic can name none. */
export function assertNoTrafficYet(spec: EndpointSpec): void {
  const named = [...Object.keys(spec.traffic), ...Object.keys(spec.mirror_traffic)];
  if (named.length === 0) return;
  throw new OepError('OEP_ERR_TRAFFIC_INVALID', `Endpoint ${spec.name} has no deployments yet, so its traffic cannot name ${named.join(', ')}.`, {
    hint: 'Create the endpoint without traffic, create its deployments, then set traffic with "oep endpoint update --traffic".',
  });
}

/** Azure fixes an endpoint's compute, identity and auth_mode at create: an update from a file keeps them. */
export function assertFixedAtCreate(record: EndpointRecord, spec: EndpointSpec): void {
  const name = record.spec.name;
  if ((spec.compute ?? null) !== (record.spec.compute ?? null)) {
    const describe = (compute: string | undefined): string => (compute ? `compute ${compute}` : 'no compute (managed)');
    throw new OepError('OEP_ERR_SPEC_INVALID', `compute of endpoint ${name} cannot change from ${describe(record.spec.compute)} to ${describe(spec.compute)}.`, {
      hint: 'Delete and re-create the endpoint to move it to another compute. Nothing was changed.',
    });
  }
  if (!sameIdentity(record.identity, spec.identity)) {
    throw new OepError('OEP_ERR_SPEC_INVALID', `identity of endpoint ${name} cannot change after it is created (it is ${describeIdentity(record.identity)}).`, {
      hint: 'Keep identity as it was in the YAML, or delete and re-create the endpoint to give it other identities. Nothing was changed.',
    });
  }
  if (spec.auth_mode !== record.spec.auth_mode) {
    throw new OepError('OEP_ERR_SPEC_INVALID', `auth_mode of endpoint ${name} cannot change from ${record.spec.auth_mode} to ${spec.auth_mode}.`, {
      hint: 'Delete and re-create the endpoint to change its auth mode.',
    });
  }
}

export function assertTraffic(traffic: TrafficMap, mirror: TrafficMap, deployments: string[], kubernetes: boolean, endpoint: string): void {
  const problems = checkTrafficRules(traffic, mirror, deployments, kubernetes, endpoint);
  if (problems.length > 0) {
    throw new OepError('OEP_ERR_TRAFFIC_INVALID', problems.length === 1 ? problems[0]! : `${problems.length} problems with the traffic rules:`, {
      details: problems.length === 1 ? [] : problems,
      hint: 'Nothing was changed. Fix the traffic values and run the command again.',
    });
  }
}

/** A deployment's type must match its endpoint's: kubernetes endpoints (compute set) take `type: kubernetes`. */
export function assertDeploymentFits(owner: EndpointRecord, spec: DeploymentSpec): void {
  const second = owner.local ? secondLocalDeployment(owner.spec.name, Object.keys(owner.deployments), spec.name) : undefined;
  if (second) throw new OepError('OEP_ERR_LIMIT_EXCEEDED', second.message, { hint: second.hint });
  const endpointKind = owner.spec.kind;
  if (endpointKind === spec.type) return;
  const endpointText = endpointKind === 'kubernetes' ? `a kubernetes endpoint (compute: ${owner.spec.compute})` : 'a managed endpoint (no compute)';
  throw new OepError('OEP_ERR_SPEC_INVALID', `Deployment ${spec.name} is of type ${spec.type}, but ${owner.spec.name} is ${endpointText}.`, {
    hint:
      endpointKind === 'kubernetes'
        ? 'Set type: kubernetes in the deployment YAML, or deploy it to a managed endpoint. Nothing was changed.'
        : 'Remove type: kubernetes from the deployment YAML (managed is the default), or deploy it to a kubernetes endpoint. Nothing was changed.',
  });
}

/** As `az ml online-deployment create` does, whatever the state (Failed too): docs/behaviour.md. */
export function assertDeploymentAbsent(owner: EndpointRecord, name: string): void {
  const existing = owner.deployments[name];
  if (!existing) return;
  refuseWhileDeleting(owner, existing, 'created again until its delete has finished');
  throw new OepError('OEP_ERR_DEPLOYMENT_EXISTS', `Deployment ${name} already exists in endpoint ${owner.spec.name} (${existing.provisioning_state}).`, {
    hint: 'To change it, run the same command as "oep deployment update" (it takes the same -f, -n, -e and --set); to create a new deployment, use another name.',
  });
}

export function assertRoomForDeployment(owner: EndpointRecord): void {
  if (Object.keys(owner.deployments).length < MAX_DEPLOYMENTS_PER_ENDPOINT) return;
  throw new OepError('OEP_ERR_LIMIT_EXCEEDED', `Endpoint ${owner.spec.name} already has ${MAX_DEPLOYMENTS_PER_ENDPOINT} deployments, the most an endpoint can have.`, {
    hint: 'Delete a deployment first.',
  });
}

/** A deployment with live traffic is not deleted (mirror traffic does not hold it). */
export function assertNoLiveTraffic(owner: EndpointRecord, name: string): void {
  const live = owner.spec.traffic[name] ?? 0;
  if (live <= 0) return;
  const endpoint = owner.spec.name;
  throw new OepError('OEP_ERR_DEPLOYMENT_HAS_TRAFFIC', `Deployment ${name} has ${live}% of the live traffic of endpoint ${endpoint} and cannot be deleted.`, {
    hint: `Move its traffic first, e.g. oep endpoint update -n ${endpoint} --traffic "<other>=100".`,
  });
}

/** `regenerate-keys --key-type`: checked before the endpoint is looked up, as before. */
export function assertKeyType(keyType: string): asserts keyType is 'primary' | 'secondary' {
  if (keyType === 'primary' || keyType === 'secondary') return;
  throw new OepError('OEP_ERR_USAGE', `--key-type must be primary or secondary, not "${keyType}".`);
}

/** `regenerate-keys`: only endpoints that have keys or a signing secret, and not while being deleted. */
export function assertKeysRegenerable(record: EndpointRecord): void {
  const name = record.spec.name;
  refuseWhileDeleting(record, undefined, 'given new keys');
  if (record.spec.auth_mode === 'aad_token') {
    // azure-ai-ml's begin_regenerate_keys refuses every endpoint whose auth_mode is not key.
    throw new OepError('OEP_ERR_USAGE', `Endpoint '${name}' does not use keys for authentication.`, {
      hint: `aad_token endpoints take Microsoft Entra ID tokens, which expire on their own; get a fresh one with: oep endpoint get-credentials -n ${name}`,
    });
  }
}

/** "system-assigned", or "user-assigned: <resource ids>", for messages. */
function describeIdentity(identity: EndpointIdentity): string {
  return identity.type === 'user_assigned' ? `user-assigned: ${identity.user_assigned_identities.map((item) => item.resource_id).join(', ')}` : 'system-assigned';
}
