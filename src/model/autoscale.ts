import type { DeploymentSpec } from '../spec/types.js';

/**
 * Autoscaling of kubernetes deployments with `scale_settings.type: target_utilization`. In the
 * cloud the utilisation is CPU; locally it is what oep measures without guessing: requests in
 * flight over capacity (max_concurrent_requests_per_instance x replicas), averaged over each
 * `polling_interval`. The count follows Kubernetes' HorizontalPodAutoscaler:
 * ceil(replicas x utilisation / target), within [min_instances, max_instances], unchanged while
 * the ratio is within a 10% tolerance.
 */
export interface TargetUtilization {
  min_instances: number;
  max_instances: number;
  target_utilization_percentage: number;
  polling_interval: number;
}

/** Kubernetes' default tolerance: no change while utilisation / target is within 1 +- 0.1. */
export const SCALE_TOLERANCE = 0.1;

export function targetUtilizationOf(spec: DeploymentSpec): TargetUtilization | undefined {
  const settings = spec.scale_settings;
  if (spec.type !== 'kubernetes' || settings?.type !== 'target_utilization') return undefined;
  return settings;
}

/** How many replicas a configuration starts with: instance_count, or min_instances when autoscaled. */
export function initialReplicas(spec: DeploymentSpec): number {
  return targetUtilizationOf(spec)?.min_instances ?? spec.instance_count;
}

/** The most replicas a configuration may run (what the 429 limit counts). */
export function maxReplicas(spec: DeploymentSpec): number {
  return targetUtilizationOf(spec)?.max_instances ?? spec.instance_count;
}

export interface ScaleInput {
  replicas: number;
  /** Requests in flight, averaged over the polling interval. */
  inflight: number;
  maxConcurrentPerInstance: number;
  settings: TargetUtilization;
}

export interface ScaleDecision {
  replicas: number;
  /** Percent of capacity in use. */
  utilisation: number;
}

export function decideReplicas(input: ScaleInput): ScaleDecision {
  const { settings } = input;
  const capacity = input.maxConcurrentPerInstance * Math.max(input.replicas, 1);
  const utilisation = (input.inflight / capacity) * 100;
  const ratio = utilisation / settings.target_utilization_percentage;
  const wanted = Math.abs(ratio - 1) <= SCALE_TOLERANCE ? input.replicas : Math.ceil(input.replicas * ratio);
  return { replicas: Math.min(settings.max_instances, Math.max(settings.min_instances, wanted)), utilisation };
}
