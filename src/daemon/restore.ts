import type { Router } from '../router/router.js';
import type { StateStore } from '../state/store.js';
import type { DeploymentRecord } from '../state/types.js';
import type { Reconciler } from '../supervisor/reconciler.js';
import { routeOf } from './views.js';
import { findFreePort } from '../runtimes/free-port.js';

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
  await gateLegacyDebugging(options);
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
        .apply({ endpoint: endpoint.spec.name, spec: record.spec, runtime: record.runtime, generation: record.generation, restore: !failed, failed, ...(record.debug && { debug: record.debug }), ...(record.python && { python: record.python }) })
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

/**
 * A deployment debugged under an oep from before the debug gate has debugpy listening straight on
 * its debug port, answering anyone: it gets a backend port and a new generation, so its replica
 * is replaced by one that listens there and takes the token, and the gate takes the debug port.
 */
async function gateLegacyDebugging(options: RestoreOptions): Promise<void> {
  const legacy: { endpoint: string; deployment: string; port: number }[] = [];
  for (const owner of Object.values(options.store.snapshot().endpoints)) {
    for (const [name, record] of Object.entries(owner.deployments)) {
      if (record.debug && record.debug.backendPort === undefined) legacy.push({ endpoint: owner.spec.name, deployment: name, port: await findFreePort() });
    }
  }
  if (legacy.length === 0) return;
  await options.store.mutate((state) => {
    for (const { endpoint, deployment, port } of legacy) {
      const record = state.endpoints[endpoint]?.deployments[deployment];
      if (!record?.debug || record.debug.backendPort !== undefined) continue;
      record.debug.backendPort = port;
      record.generation += 1;
      options.log(`${endpoint}/${deployment}: debugged by an older oep (debugpy answering anyone on ${record.debug.port}): its replica is replaced by one behind the debug gate`);
    }
  });
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
