import { OepError } from '../errors.js';
import type { BatchDeploymentRecord, BatchEndpointRecord, OepState } from '../state/types.js';

/**
 * The rules the batch methods check before they change anything (as rules.ts for online
 * endpoints). Pure: each takes the state (or a record) and throws the OepError a user sees; the
 * handlers (src/daemon/handlers/batch.ts) call them inside the state's mutate, so a refused change
 * leaves the state as it was.
 */

/** The batch endpoints of a state (an older state file has none). */
export function batchEndpointsOf(state: OepState): Record<string, BatchEndpointRecord> {
  state.batch_endpoints ??= {};
  return state.batch_endpoints;
}

export function requireBatchEndpoint(state: OepState, name: string): BatchEndpointRecord {
  const record = state.batch_endpoints?.[name];
  if (!record) {
    throw new OepError('OEP_ERR_ENDPOINT_NOT_FOUND', `Batch endpoint ${name} does not exist.`, {
      hint: 'List batch endpoints with: oep batch-endpoint list',
    });
  }
  return record;
}

export function requireBatchDeployment(state: OepState, endpoint: string, name: string): BatchDeploymentRecord {
  const record = requireBatchEndpoint(state, endpoint).deployments[name];
  if (!record) {
    throw new OepError('OEP_ERR_DEPLOYMENT_NOT_FOUND', `Deployment ${name} does not exist in batch endpoint ${endpoint}.`, {
      hint: `List its deployments with: oep batch-deployment list -e ${endpoint}`,
    });
  }
  return record;
}

export function assertBatchEndpointAbsent(state: OepState, name: string): void {
  if (!state.batch_endpoints?.[name]) return;
  throw new OepError('OEP_ERR_ENDPOINT_EXISTS', `Batch endpoint ${name} already exists.`, {
    hint: `Use "oep batch-endpoint update -n ${name}" to change it, or delete it first.`,
  });
}

export function assertBatchDeploymentAbsent(owner: BatchEndpointRecord, name: string): void {
  if (!owner.deployments[name]) return;
  throw new OepError('OEP_ERR_DEPLOYMENT_EXISTS', `Deployment ${name} already exists in batch endpoint ${owner.spec.name}.`, {
    hint: 'To change it, run the same command as "oep batch-deployment update" (it takes the same -f, -n, -e and --set); to create a new deployment, use another name.',
  });
}

/** An update that names a default deployment names one the endpoint has (Azure checks it at invoke; oep as soon as it is set). */
export function assertDefaultExists(owner: BatchEndpointRecord, deployment: string | undefined): void {
  if (deployment === undefined || owner.deployments[deployment]) return;
  const known = Object.keys(owner.deployments).sort();
  throw new OepError('OEP_ERR_DEPLOYMENT_NOT_FOUND', `Deployment ${deployment} does not exist in batch endpoint ${owner.spec.name}, so it cannot be its default.`, {
    hint:
      known.length > 0
        ? `Its deployments are ${known.join(', ')}. Nothing was changed.`
        : `It has no deployments yet: create one with oep batch-deployment create -e ${owner.spec.name} (the first one becomes the default). Nothing was changed.`,
  });
}

/** The default deployment goes last: while others exist, another one is made the default first. */
export function assertDeletable(owner: BatchEndpointRecord, name: string): void {
  const others = Object.keys(owner.deployments).filter((other) => other !== name);
  if (owner.spec.defaults.deployment_name !== name || others.length === 0) return;
  const endpoint = owner.spec.name;
  throw new OepError('OEP_ERR_DEPLOYMENT_IS_DEFAULT', `Deployment ${name} is the default deployment of batch endpoint ${endpoint} and cannot be deleted while it has other deployments.`, {
    hint: `Make another one the default first: oep batch-endpoint update -n ${endpoint} --set defaults.deployment_name=${others.sort()[0]}`,
  });
}
