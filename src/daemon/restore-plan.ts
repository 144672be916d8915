import type { DeploymentRecord, EndpointRecord, OepState } from '../state/types.js';

export interface DeploymentRef {
  endpoint: string;
  deployment: string;
}

/** What a starting daemon does with the state it finds, decided before anything runs. */
export interface RestorePlan {
  /** Endpoints whose listener opens (every endpoint that is not being deleted). */
  listen: string[];
  /** Deployments handed to the reconciler, to adopt or start (or to keep as Failed). */
  run: DeploymentRef[];
  /** Endpoints recorded as Deleting: the delete a killed daemon did not finish is finished. */
  deleteEndpoints: string[];
  /** Deployments recorded as Deleting in an endpoint that stays: their delete is finished. */
  deleteDeployments: DeploymentRef[];
}

/**
 * Decides what comes back and what goes when the daemon starts. An endpoint recorded as Deleting
 * gets no listener and none of its deployments runs: it must not serve a request or take an
 * update, and its delete is finished. A deployment recorded as Deleting is not run either (its
 * endpoint's route leaves it out) and its delete is finished. Everything else comes back.
 */
export function planRestore(state: OepState): RestorePlan {
  const plan: RestorePlan = { listen: [], run: [], deleteEndpoints: [], deleteDeployments: [] };
  for (const [endpoint, owner] of Object.entries(state.endpoints)) {
    if (owner.provisioning_state === 'Deleting') {
      plan.deleteEndpoints.push(endpoint);
      continue;
    }
    plan.listen.push(endpoint);
    for (const [deployment, record] of Object.entries(owner.deployments)) {
      if (record.provisioning_state === 'Deleting') plan.deleteDeployments.push({ endpoint, deployment });
      else plan.run.push({ endpoint, deployment });
    }
  }
  return plan;
}

/** Whether a deployment (or, without one, the endpoint) is being deleted: its own delete, or its endpoint's. */
export function isBeingDeleted(owner: EndpointRecord, record?: DeploymentRecord): boolean {
  return owner.provisioning_state === 'Deleting' || record?.provisioning_state === 'Deleting';
}
