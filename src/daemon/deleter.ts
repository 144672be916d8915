import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { PairRecorder } from '../router/pairs.js';
import type { RuntimeKind } from '../state/types.js';
import { deploymentLogDir, type OepPaths } from '../state/paths.js';
import type { StateStore } from '../state/store.js';
import type { Reconciler } from '../supervisor/reconciler.js';
import { removeEndpointCertificate } from '../tls/local-ca.js';

export interface DeleterDeps {
  paths: OepPaths;
  store: Pick<StateStore, 'snapshot' | 'mutate'>;
  reconciler: Pick<Reconciler, 'remove'>;
  /** Makes the router and the debug gate match the state (a Deleting endpoint or deployment gets no route). */
  syncRoute: (endpoint: string) => Promise<unknown>;
  releaseRuntime?: (kind: RuntimeKind, endpoint: string, deployment: string, options: { purge: boolean }) => Promise<void>;
  closeEndpointLogs?: (endpoint: string) => void;
  pairs?: Pick<PairRecorder, 'forget'>;
  /** The test hook's named points (src/daemon/test-pause.ts); absent: none. */
  pause?: (point: string) => Promise<void>;
}

export interface Deleter {
  /** Finishes the delete of an endpoint recorded as Deleting. */
  endpoint(name: string, options: { purge: boolean }): Promise<void>;
  /** Finishes the delete of a deployment recorded as Deleting. */
  deployment(endpoint: string, name: string, options: { purge: boolean }): Promise<void>;
}

/**
 * The work of a delete once the state says Deleting, shared by the delete commands and by a
 * daemon that finds a delete its predecessor did not finish. Every step can be done again (a
 * listener already closed, replicas already gone, files already removed change nothing), and the
 * record goes last: a daemon killed at any step leaves it Deleting, and the next one runs the
 * delete again from the start. A delete asked while the same one runs joins it.
 */
export function createDeleter(deps: DeleterDeps): Deleter {
  const running = new Map<string, Promise<void>>();
  const once = (key: string, work: () => Promise<void>): Promise<void> => {
    const current = running.get(key);
    if (current) return current;
    const started = work().finally(() => running.delete(key));
    running.set(key, started);
    return started;
  };
  const pause = deps.pause ?? (async () => undefined);

  const deleteEndpoint = async (name: string, purge: boolean): Promise<void> => {
    // No listener first: an endpoint being deleted serves no request.
    await deps.syncRoute(name);
    const record = deps.store.snapshot().endpoints[name];
    for (const [deployment, owned] of Object.entries(record?.deployments ?? {})) {
      await deps.reconciler.remove(name, deployment, owned.runtime);
      await deps.releaseRuntime?.(owned.runtime, name, deployment, { purge });
    }
    await pause('endpoint.delete:replicas-stopped');
    deps.closeEndpointLogs?.(name);
    await deps.pairs?.forget(name);
    await rm(deploymentLogDir(deps.paths, name, ''), { recursive: true, force: true });
    await rm(join(deps.paths.runDir, name), { recursive: true, force: true });
    removeEndpointCertificate(deps.paths.home, name);
    await pause('endpoint.delete:files-removed');
    await deps.store.mutate((state) => void delete state.endpoints[name]);
  };

  const deleteDeployment = async (endpoint: string, name: string, purge: boolean): Promise<void> => {
    // Out of the route first: a pinned request or a mirror copy no longer goes to it.
    await deps.syncRoute(endpoint);
    const record = deps.store.snapshot().endpoints[endpoint]?.deployments[name];
    if (record) {
      await deps.reconciler.remove(endpoint, name, record.runtime);
      await deps.releaseRuntime?.(record.runtime, endpoint, name, { purge });
    }
    await pause('deployment.delete:replicas-stopped');
    await rm(deploymentLogDir(deps.paths, endpoint, name), { recursive: true, force: true });
    await deps.store.mutate((state) => {
      const owner = state.endpoints[endpoint];
      if (!owner) return;
      delete owner.deployments[name];
      delete owner.spec.mirror_traffic[name];
      delete owner.spec.traffic[name];
    });
    await deps.syncRoute(endpoint);
  };

  return {
    endpoint: (name, options) => once(`endpoint ${name}`, () => deleteEndpoint(name, options.purge)),
    deployment: (endpoint, name, options) => once(`deployment ${endpoint}/${name}`, () => deleteDeployment(endpoint, name, options.purge)),
  };
}
