import { OepError } from '../errors.js';
import { openDebugWarning } from '../model/debug.js';
import type { StateStore } from '../state/store.js';
import type { DeploymentRecord } from '../state/types.js';
import type { Reconciler } from '../supervisor/reconciler.js';
import type { DebugGate } from './debug-gate.js';
import { isBeingDeleted } from './restore-plan.js';
import type { CallContext } from './server.js';

/** What a roll-out reads and changes. */
export interface RolloutDeps {
  store: Pick<StateStore, 'mutate'>;
  reconciler: Pick<Reconciler, 'apply' | 'remove'>;
  debugGate?: Pick<DebugGate, 'whenOpen' | 'checked'>;
  /** How long an open debug port may go without a debugger (for the warning's text). */
  debugIdleMs: number;
  /** Makes the router (and the debug gate) follow the endpoint's record. */
  syncRoute: (endpoint: string) => Promise<unknown>;
}

/**
 * Makes the record's configuration the wanted one and waits until its replicas are ready (the
 * previous configuration serving meanwhile), then records the outcome and (optionally) moves
 * all traffic. The bookkeeping: a failure marks the deployment Failed unless a newer generation
 * or a delete came meanwhile; a deployment deleted while it was starting is stopped and the
 * command told so (OEP_ERR_DEPLOYMENT_NOT_FOUND).
 */
export async function rollOut(deps: RolloutDeps, record: DeploymentRecord, context: CallContext, allTraffic: boolean): Promise<void> {
  const endpoint = record.spec.endpoint_name;
  const name = record.spec.name;
  const stopWatching = watchOpenDebugPort(deps, record, context);
  try {
    await deps.reconciler.apply({
      endpoint,
      spec: record.spec,
      runtime: record.runtime,
      generation: record.generation,
      ...(record.debug && { debug: record.debug }),
      ...(record.python && { python: record.python }),
      emit: context.emit,
    });
    // Ready means debugpy listened (before the script loaded): the gate's look at it is moments away.
    if (stopWatching) await deps.debugGate?.checked(endpoint, name, 5000);
  } catch (error) {
    const failure = error instanceof OepError ? error : new OepError('OEP_ERR_DEPLOYMENT_FAILED', (error as Error).message);
    await recordFailure(deps, record, failure);
    throw failure;
  } finally {
    stopWatching?.();
  }
  const gone = await recordSuccess(deps, record, allTraffic);
  if (gone) {
    // Deleted while it was starting: make sure nothing of it runs (the delete itself does too).
    await deps.reconciler.remove(endpoint, name, record.runtime);
    throw new OepError('OEP_ERR_DEPLOYMENT_NOT_FOUND', `Deployment ${name} of endpoint ${endpoint} was deleted while it was starting.`);
  }
  await deps.syncRoute(endpoint);
}

/** --debug: if the replica's debugpy turns out to answer without the token, this command says so. */
function watchOpenDebugPort(deps: RolloutDeps, record: DeploymentRecord, context: CallContext): (() => void) | undefined {
  const debug = record.debug;
  if (!debug || debug.open) return undefined;
  const name = record.spec.name;
  return deps.debugGate?.whenOpen(record.spec.endpoint_name, name, (reason) =>
    context.emit({ phase: 'warning', message: openDebugWarning(name, debug, reason, deps.debugIdleMs) }),
  );
}

async function recordFailure(deps: RolloutDeps, record: DeploymentRecord, failure: OepError): Promise<void> {
  await deps.store.mutate((state) => {
    const owner = state.endpoints[record.spec.endpoint_name];
    const current = owner?.deployments[record.spec.name];
    // Deleted meanwhile: the state says Deleting until the delete ends, not Failed.
    if (!owner || !current || current.generation !== record.generation || isBeingDeleted(owner, current)) return;
    current.provisioning_state = 'Failed';
    current.failure = { phase: failure.phase ?? 'start', message: failure.message, details: failure.details };
  });
}

/** Marks the roll-out's generation Succeeded; true when the deployment was deleted meanwhile. */
async function recordSuccess(deps: RolloutDeps, record: DeploymentRecord, allTraffic: boolean): Promise<boolean> {
  const name = record.spec.name;
  return deps.store.mutate((state) => {
    const owner = state.endpoints[record.spec.endpoint_name];
    const current = owner?.deployments[name];
    if (!owner || !current || isBeingDeleted(owner, current)) return true;
    if (current.generation !== record.generation) return false;
    current.provisioning_state = 'Succeeded';
    if (allTraffic) {
      owner.spec.traffic = { [name]: 100 };
      delete owner.spec.mirror_traffic[name];
    }
    return false;
  });
}
