import { OepError } from '../../errors.js';
import { requireEndpoint } from '../rules.js';
import type { Handlers } from '../server.js';
import type { HandlerContext } from './context.js';

export type DaemonHandlers = Pick<Handlers, 'status' | 'shutdown' | 'restart' | 'dashboard.url'>;

/** The daemon's own methods: its status, stop, restart under the keeper, the dashboard's URL. */
export function daemonHandlers(ctx: HandlerContext): DaemonHandlers {
  const { deps } = ctx;
  const { store, reconciler, router } = deps;
  return {
    async status() {
      const state = store.snapshot();
      return {
        pid: process.pid,
        version: deps.version,
        home: deps.paths.home,
        socket: deps.paths.socket,
        endpoints: Object.keys(state.endpoints).length,
        metrics_url: deps.metricsUrl?.() ?? null,
        problems: [...Object.values(router.problems()), ...reconciler.problems()],
        entry: deps.entry ?? '',
        keeper: deps.keeper ? { ...(deps.keeper.info() ?? { pid: 0, restarts: 0 }), connected: deps.keeper.connected } : null,
      };
    },

    async shutdown() {
      setImmediate(deps.shutdown);
      return { stopping: true };
    },

    async restart(params) {
      return { restarting: deps.keeper?.restart(params.entry) ?? false, pid: process.pid };
    },

    async 'dashboard.url'(params) {
      if (params.endpoint !== undefined) requireEndpoint(store.snapshot(), params.endpoint);
      const url = deps.dashboardUrl?.(params.endpoint);
      if (!url) throw new OepError('OEP_ERR_DAEMON_UNAVAILABLE', 'The daemon does not serve the dashboard yet.', { hint: 'Try again in a moment, or restart it: oep daemon stop' });
      return { url };
    },
  };
}
