import { DEFAULT_OPEN_DEBUG_IDLE_MS } from '../model/debug.js';
import type { DeploymentRecord } from '../state/types.js';
import { createDeleter } from './deleter.js';
import { batchHandlers } from './handlers/batch.js';
import { batchJobHandlers } from './handlers/batch-jobs.js';
import { daemonHandlers } from './handlers/daemon.js';
import { deploymentHandlers } from './handlers/deployment.js';
import { endpointHandlers } from './handlers/endpoint.js';
import { trafficHandlers } from './handlers/traffic.js';
import type { ControllerDeps, HandlerContext } from './handlers/context.js';
import { isBeingDeleted } from './restore-plan.js';
import { rollOut } from './rollout.js';
import type { CallContext, Handlers } from './server.js';
import { pauseForTest } from './test-pause.js';
import { homeViewSources } from './view-sources.js';
import { routeOf, type DeploymentLive, type ViewSources } from './views.js';

export type { ControllerDeps, RuntimeChoices } from './handlers/context.js';
export { MAX_DEPLOYMENTS_PER_ENDPOINT, requireDeployment, requireEndpoint } from './rules.js';

/**
 * The daemon's methods, by noun (src/daemon/handlers/): each checks its rules
 * (src/daemon/rules.ts) against the current state, then changes it; deployments roll out
 * through src/daemon/rollout.ts. `views`: what the views read from the home (by default the
 * daemon's own, from deps.paths).
 */
export function createHandlers(deps: ControllerDeps, views: ViewSources = homeViewSources(deps.paths)): Handlers {
  const ctx = createHandlerContext(deps, views);
  return {
    ...daemonHandlers(ctx),
    ...endpointHandlers(ctx),
    ...trafficHandlers(ctx),
    ...deploymentHandlers(ctx),
    ...batchHandlers(ctx),
    ...batchJobHandlers(ctx),
  };
}

/** The steps more than one group of handlers takes, bound to this daemon's dependencies. */
function createHandlerContext(deps: ControllerDeps, views: ViewSources): HandlerContext {
  const { store, reconciler, router } = deps;
  const syncRoute = async (name: string): Promise<Map<string, string> | undefined> => {
    const record = store.snapshot().endpoints[name];
    // An endpoint being deleted has no listener: it serves no request (after a restart neither).
    if (record && !isBeingDeleted(record)) await router.upsert(routeOf(record, views));
    else await router.remove(name);
    // The debug gate follows the state too (deployments debugged, their ports; none once deleted).
    return deps.debugGate?.sync(store.snapshot());
  };
  const pause = (point: string): Promise<void> => pauseForTest(deps.paths.home, point, deps.log ?? (() => undefined));
  const deleter = createDeleter({
    paths: deps.paths,
    store,
    reconciler,
    syncRoute,
    releaseRuntime: deps.releaseRuntime,
    closeEndpointLogs: deps.closeEndpointLogs,
    pairs: deps.pairs,
    pause,
  });
  const debugOptions = { peersKnown: deps.debugGate?.peersKnown ?? true, idleMs: deps.debugIdleMs ?? DEFAULT_OPEN_DEBUG_IDLE_MS };
  const rolloutDeps = { store, reconciler, debugGate: deps.debugGate, debugIdleMs: debugOptions.idleMs, syncRoute };
  return {
    deps,
    now: deps.now ?? Date.now,
    views,
    syncRoute,
    pause,
    deleter,
    debugOptions,
    liveOf: (endpoint: string, name: string): DeploymentLive => ({
      replicas: reconciler.replicas(endpoint, name),
      problem: reconciler.problem(endpoint, name),
      replicaCount: reconciler.replicaCount(endpoint, name),
      inflightOf: (replica) => router.inflightOf(replica),
    }),
    rollOut: (record: DeploymentRecord, context: CallContext, allTraffic: boolean) => rollOut(rolloutDeps, record, context, allTraffic),
  };
}
