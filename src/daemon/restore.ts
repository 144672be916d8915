import type { Router } from '../router/router.js';
import type { StateStore } from '../state/store.js';
import type { DeploymentRecord } from '../state/types.js';
import type { Reconciler } from '../supervisor/reconciler.js';
import { routeOf } from './views.js';

export interface RestoreOptions {
  store: Pick<StateStore, 'snapshot' | 'mutate'>;
  reconciler: Pick<Reconciler, 'apply' | 'observe'>;
  router: Pick<Router, 'upsert'>;
  log: (line: string) => void;
}

/**
 * Brings back what the state says should run when the daemon starts. Endpoint listeners come
 * first, so their ports accept connections at once (a request waits there for a replica rather
 * than being refused). Then the reconciler looks for the replicas the previous daemon left and
 * is given every deployment: it adopts what still runs with the wanted configuration, stops what
 * nobody wants and starts the rest, retrying (with backoff) what cannot start yet, e.g. while
 * the Docker engine is down; `deployment show`, `traffic show` and `daemon status` say why.
 * Resolves once the listeners are up; the deployments come back in the background.
 */
export async function restoreState(options: RestoreOptions): Promise<void> {
  const state = options.store.snapshot();
  await Promise.all(Object.values(state.endpoints).map((record) => options.router.upsert(routeOf(record))));
  void options.reconciler.observe();
  for (const endpoint of Object.values(state.endpoints)) {
    for (const record of Object.values(endpoint.deployments)) {
      // A deployment being deleted when the daemon stopped is not wanted: what it left is stopped.
      if (record.provisioning_state === 'Deleting') continue;
      const id = `${endpoint.spec.name}/${record.spec.name}`;
      const failed = record.provisioning_state === 'Failed';
      options.reconciler
        .apply({ endpoint: endpoint.spec.name, spec: record.spec, runtime: record.runtime, generation: record.generation, restore: !failed, failed, ...(record.debug && { debug: record.debug }) })
        .then(async () => {
          if (failed) return;
          options.log(`restored ${id}`);
          await markSucceeded(options.store, endpoint.spec.name, record);
        })
        // Replaced by an update or deleted meanwhile: whoever did that reports on it.
        .catch(() => undefined);
    }
  }
}

/** A create or update the previous daemon did not live to finish is done once its replicas are ready. */
async function markSucceeded(store: RestoreOptions['store'], endpoint: string, restored: DeploymentRecord): Promise<void> {
  if (restored.provisioning_state !== 'Creating' && restored.provisioning_state !== 'Updating') return;
  await store.mutate((state) => {
    const current = state.endpoints[endpoint]?.deployments[restored.spec.name];
    if (current && current.generation === restored.generation && (current.provisioning_state === 'Creating' || current.provisioning_state === 'Updating')) {
      current.provisioning_state = 'Succeeded';
    }
  });
}
