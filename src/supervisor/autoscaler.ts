import { decideReplicas, type TargetUtilization } from '../model/autoscale.js';
import { deploymentKey } from '../model/deployment-key.js';

/** A deployment the autoscaler looks after: a steady configuration with target_utilization. */
export interface AutoscaledDeployment {
  endpoint: string;
  deployment: string;
  generation: number;
  replicas: number;
  maxConcurrentPerInstance: number;
  settings: TargetUtilization;
}

export interface AutoscalerOptions {
  deployments: () => AutoscaledDeployment[];
  /** Requests in flight to a deployment right now (the router's count). */
  inflight: (endpoint: string, deployment: string) => number;
  scale: (endpoint: string, deployment: string, replicas: number) => void;
  log: (line: string) => void;
  /** How often in-flight requests are sampled (ms). */
  sampleMs?: number;
  now?: () => number;
}

interface Window {
  generation: number;
  startedAt: number;
  sum: number;
  samples: number;
}

/**
 * Samples each autoscaled deployment's in-flight requests and, every `polling_interval`
 * seconds, asks `decideReplicas` (src/model/autoscale.ts) for its count; a change is a change of
 * the desired state that the reconciler carries out, and a line in the daemon's log.
 */
export class Autoscaler {
  private readonly windows = new Map<string, Window>();
  private timer?: NodeJS.Timeout;
  private readonly now: () => number;

  constructor(private readonly options: AutoscalerOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), this.options.sampleMs ?? 200);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** One sample of every autoscaled deployment, and a decision for those whose interval is over. */
  tick(): void {
    const now = this.now();
    const seen = new Set<string>();
    for (const target of this.options.deployments()) {
      const id = deploymentKey(target.endpoint, target.deployment);
      seen.add(id);
      let window = this.windows.get(id);
      if (!window || window.generation !== target.generation) {
        window = { generation: target.generation, startedAt: now, sum: 0, samples: 0 };
        this.windows.set(id, window);
      }
      window.sum += this.options.inflight(target.endpoint, target.deployment);
      window.samples += 1;
      if (now - window.startedAt < target.settings.polling_interval * 1000) continue;
      const inflight = window.sum / window.samples;
      const decision = decideReplicas({ replicas: target.replicas, inflight, maxConcurrentPerInstance: target.maxConcurrentPerInstance, settings: target.settings });
      this.windows.set(id, { generation: target.generation, startedAt: now, sum: 0, samples: 0 });
      if (decision.replicas === target.replicas) continue;
      this.options.log(
        `${id}: autoscale ${target.replicas} -> ${decision.replicas} replicas (utilisation ${Math.round(decision.utilisation)}% of ${target.replicas} x ${target.maxConcurrentPerInstance} concurrent requests over ${target.settings.polling_interval} s, target ${target.settings.target_utilization_percentage}%, min ${target.settings.min_instances}, max ${target.settings.max_instances})`,
      );
      this.options.scale(target.endpoint, target.deployment, decision.replicas);
    }
    for (const id of this.windows.keys()) if (!seen.has(id)) this.windows.delete(id);
  }
}
