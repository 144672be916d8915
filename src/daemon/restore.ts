import { OepError } from '../errors.js';
import type { Router } from '../router/router.js';
import type { StateStore } from '../state/store.js';
import type { DeploymentRecord } from '../state/types.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import { routeOf } from './views.js';

export interface RestorerOptions {
  store: Pick<StateStore, 'snapshot'>;
  supervisor: Pick<Supervisor, 'deploy' | 'replicas'>;
  router: Pick<Router, 'upsert'>;
  log: (line: string) => void;
  /** Wait before the first retry of a deployment that could not start; doubles up to maxRetryMs. */
  firstRetryMs?: number;
  maxRetryMs?: number;
}

/**
 * Brings back what the state says should run when the daemon starts: endpoint listeners first,
 * then every deployment that was running. A deployment that cannot start (say, the Docker engine
 * is not up yet) is retried with backoff until it starts, is deleted or is updated, and the
 * reason is kept for `deployment show`, `traffic show` and `daemon status` meanwhile.
 */
export class Restorer {
  private readonly problems = new Map<string, string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly options: RestorerOptions) {}

  async restoreAll(): Promise<void> {
    const state = this.options.store.snapshot();
    for (const record of Object.values(state.endpoints)) await this.options.router.upsert(routeOf(record));
    await Promise.all(
      Object.values(state.endpoints).flatMap((endpoint) =>
        Object.values(endpoint.deployments)
          .filter(wantsRunning)
          .map((deployment) => this.attempt(endpoint.spec.name, deployment, this.options.firstRetryMs ?? 2000)),
      ),
    );
  }

  /** Why a deployment that should run has no replicas yet, or undefined. */
  problem(endpoint: string, deployment: string): string | undefined {
    return this.problems.get(key(endpoint, deployment));
  }

  all(): string[] {
    return [...this.problems.values()];
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private async attempt(endpoint: string, record: DeploymentRecord, nextDelayMs: number): Promise<void> {
    const id = key(endpoint, record.spec.name);
    this.timers.delete(id);
    if (this.closed || !this.stillWanted(endpoint, record)) {
      this.problems.delete(id);
      return;
    }
    try {
      await this.options.supervisor.deploy({
        endpoint,
        spec: record.spec,
        runtime: record.runtime,
        generation: record.generation,
        emit: () => undefined,
      });
      this.problems.delete(id);
      this.options.log(`restored ${id}`);
    } catch (error) {
      if (this.closed || !this.stillWanted(endpoint, record)) {
        this.problems.delete(id);
        return;
      }
      const reason = (error as Error).message;
      const hint = error instanceof OepError && error.hint ? ` ${error.hint}` : '';
      const problem = `Deployment ${record.spec.name} of endpoint ${endpoint} could not start after the daemon restarted: ${reason}${hint} oep keeps trying (next in ${Math.ceil(nextDelayMs / 1000)} s).`;
      if (!this.problems.has(id)) this.options.log(`could not restore ${id}: ${reason}`);
      this.problems.set(id, problem);
      const timer = setTimeout(() => void this.attempt(endpoint, record, Math.min(nextDelayMs * 2, this.options.maxRetryMs ?? 30_000)), nextDelayMs);
      timer.unref();
      this.timers.set(id, timer);
    }
  }

  /** The same generation is still meant to run (not deleted, updated, failed or started since). */
  private stillWanted(endpoint: string, record: DeploymentRecord): boolean {
    const current = this.options.store.snapshot().endpoints[endpoint]?.deployments[record.spec.name];
    return current !== undefined && current.generation === record.generation && wantsRunning(current) && this.options.supervisor.replicas(endpoint, record.spec.name).length === 0;
  }
}

function wantsRunning(deployment: DeploymentRecord): boolean {
  return deployment.provisioning_state !== 'Deleting' && deployment.provisioning_state !== 'Failed';
}

function key(endpoint: string, deployment: string): string {
  return `${endpoint}/${deployment}`;
}
