import type { Router } from '../router/router.js';
import type { StateStore } from '../state/store.js';
import type { DeploymentRecord } from '../state/types.js';
import type { Reconciler } from '../supervisor/reconciler.js';
import { routeOf, type ViewSources } from './views.js';
import { homeViewSources } from './view-sources.js';
import { oepPaths, resolveOepHome } from '../state/paths.js';
import { findFreePort } from '../runtimes/free-port.js';
import { planRestore } from './restore-plan.js';
import type { CallContext, Handlers } from './server.js';

/** Finishes deletes: the daemon's own `endpoint.delete` and `deployment.delete`, run again. */
export interface RestoreDeletes {
  endpoint: (name: string) => Promise<void>;
  deployment: (endpoint: string, name: string) => Promise<void>;
}

export interface RestoreOptions {
  store: Pick<StateStore, 'snapshot' | 'mutate'>;
  reconciler: Pick<Reconciler, 'apply' | 'observe'>;
  router: Pick<Router, 'upsert'>;
  log: (line: string) => void;
  /** Finishes the deletes a killed daemon left (records in Deleting); without it they wait for a delete command. */
  deletes?: RestoreDeletes;
  /** What the routes read from the home (secrets, certificates); by default the home OEP_HOME names. */
  views?: Omit<ViewSources, 'userName'>;
}

/**
 * Brings back what the state says should run when the daemon starts. Endpoint listeners come
 * first, so their ports accept connections at once (a request waits there for a replica rather
 * than being refused). Then the reconciler looks for the replicas the previous daemon left and
 * is given every deployment: it adopts what still runs with the wanted configuration, stops what
 * nobody wants and starts the rest, retrying (with backoff) what cannot start yet, e.g. while
 * the Docker engine is down; `deployment show`, `traffic show` and `daemon status` say why.
 * A delete the previous daemon did not finish (an endpoint or deployment recorded as Deleting)
 * is finished as the delete command does it: no listener opens for such an endpoint and none of
 * its deployments runs, so it never serves a request; `show` says Deleting until it is gone.
 * Resolves once the listeners are up; the deployments come back, and the deletes end, in the
 * background.
 */
export async function restoreState(options: RestoreOptions): Promise<void> {
  await gateLegacyDebugging(options);
  const state = options.store.snapshot();
  const views = options.views ?? homeViewSources(oepPaths(resolveOepHome()));
  const plan = planRestore(state);
  await Promise.all(plan.listen.map((name) => options.router.upsert(routeOf(state.endpoints[name]!, views))));
  const observed = options.reconciler.observe();
  for (const { endpoint: name, deployment } of plan.run) {
    const endpoint = state.endpoints[name]!;
    const record = endpoint.deployments[deployment]!;
    const id = `${name}/${deployment}`;
    const failed = record.provisioning_state === 'Failed';
    options.reconciler
      .apply({ endpoint: name, spec: record.spec, runtime: record.runtime, generation: record.generation, restore: !failed, failed, ...(record.debug && { debug: record.debug }), ...(record.python && { python: record.python }) })
      .then(async () => {
        if (failed) return;
        options.log(`restored ${id}`);
        await markSucceeded(options.store, name, record);
      })
      // Replaced by an update or deleted meanwhile: whoever did that reports on it.
      .catch(() => undefined);
  }
  // After the look for leftovers: the replicas a deleted deployment left are known, then stopped.
  void observed.catch(() => undefined).then(() => finishDeletes(plan, options));
}

/**
 * The deletes a killed daemon left, finished in the background (the reconciler stops what their
 * replicas left once it has looked for them). A failure is logged; the record stays Deleting and
 * the next delete command, or the next daemon start, runs the delete again.
 */
function finishDeletes(plan: ReturnType<typeof planRestore>, options: RestoreOptions): void {
  const deletes = options.deletes;
  if (!deletes) return;
  const report = (what: string, work: Promise<void>): void =>
    void work.then(
      () => options.log(`finished the delete of ${what} that the previous daemon did not finish`),
      (error: Error) => options.log(`could not finish the delete of ${what}: ${error.message} (it stays Deleting; oep ... delete runs it again)`),
    );
  for (const name of plan.deleteEndpoints) {
    options.log(`endpoint ${name} was being deleted when the previous daemon stopped: finishing the delete (no listener, nothing runs)`);
    report(`endpoint ${name}`, deletes.endpoint(name));
  }
  for (const { endpoint, deployment } of plan.deleteDeployments) {
    options.log(`deployment ${endpoint}/${deployment} was being deleted when the previous daemon stopped: finishing the delete`);
    report(`deployment ${endpoint}/${deployment}`, deletes.deployment(endpoint, deployment));
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

/**
 * The delete commands' own handlers as the deletes restore finishes, with a context nobody
 * listens to; `purge` as the interrupted command asked (the record keeps it).
 */
export function deletesThrough(handlers: Pick<Handlers, 'endpoint.delete' | 'deployment.delete'>): RestoreDeletes {
  const quiet = (): CallContext => ({ emit: () => undefined, log: () => undefined, accept: () => undefined, signal: new AbortController().signal });
  return {
    endpoint: async (name) => void (await handlers['endpoint.delete']({ name }, quiet())),
    deployment: async (endpoint, name) => void (await handlers['deployment.delete']({ endpoint, name }, quiet())),
  };
}
