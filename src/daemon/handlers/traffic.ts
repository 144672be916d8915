import { comparePairs } from '../../model/compare.js';
import { requireEndpoint } from '../rules.js';
import type { Handlers } from '../server.js';
import { trafficView } from '../views.js';
import type { HandlerContext } from './context.js';

export type TrafficHandlers = Pick<Handlers, 'endpoint.traffic' | 'traffic.compare'>;

/** What the traffic does: the allocation with live counts (`traffic show`), the mirrored pairs compared. */
export function trafficHandlers(ctx: HandlerContext): TrafficHandlers {
  const { deps, now } = ctx;
  const { store, reconciler, router } = deps;
  return {
    async 'endpoint.traffic'(params) {
      const name = params.name;
      return trafficView(requireEndpoint(store.snapshot(), name), {
        stats: router.stats(name),
        replicas: (deployment) => reconciler.replicas(name, deployment),
        replicaCount: (deployment) => reconciler.replicaCount(name, deployment),
        listenProblem: router.problem(name),
        deploymentProblem: (deployment) => reconciler.problem(name, deployment),
      });
    },

    async 'traffic.compare'(params) {
      const name = params.name;
      requireEndpoint(store.snapshot(), name);
      const since = params.sinceMs === undefined ? undefined : new Date(now() - params.sinceMs).toISOString();
      const report = comparePairs(deps.pairs?.pairs(name) ?? [], { endpoint: name, since, tolerance: params.tolerance });
      return { ...report, recording: deps.pairs?.stats(name) ?? { ring_size: 0, stored: 0, sampled_out: 0 } };
    },
  };
}
