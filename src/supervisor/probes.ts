import type { DeploymentSpec } from '../spec/types.js';
import type { ReplicaTarget } from '../runtimes/types.js';
import { PROBE_NOT_SENT, probeOnce } from './readiness.js';

export interface ProbeReport {
  /** The readiness probe passed success_threshold times (true) or failed failure_threshold times (false). */
  readiness: (ready: boolean) => void;
  /** The liveness probe failed failure_threshold times in a row; probing has stopped. */
  unhealthy: (failures: number) => void;
  /** A probe could not be sent (the daemon is out of file descriptors); it counted for nothing. */
  notSent?: () => void;
}

/**
 * Probes a ready replica as the cloud does: readiness takes it out of rotation and back,
 * liveness failures past failure_threshold report it unhealthy (the plan then restarts it).
 * Returns a function that stops the probing.
 */
export function watchProbes(target: ReplicaTarget, spec: Pick<DeploymentSpec, 'liveness_probe' | 'readiness_probe'>, isReady: () => boolean, report: ProbeReport): () => void {
  const liveness = spec.liveness_probe;
  const readiness = spec.readiness_probe;
  let livenessFailures = 0;
  let readinessFailures = 0;
  let readinessSuccesses = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const period = Math.min(liveness.period, readiness.period) * 1000;
  const tick = async (): Promise<void> => {
    if (stopped) return;
    const [live, ready] = await Promise.all([
      probeOnce(target.origin + target.livenessPath, liveness.timeout * 1000),
      target.readinessPath === target.livenessPath ? Promise.resolve(-1) : probeOnce(target.origin + target.readinessPath, readiness.timeout * 1000),
    ]);
    if (stopped) return;
    if (live === PROBE_NOT_SENT || ready === PROBE_NOT_SENT) {
      // The daemon is out of file descriptors: no news of the replica, which must not pay for it.
      report.notSent?.();
      timer = setTimeout(() => void tick(), period);
      return;
    }
    const readyStatus = ready === -1 ? live : ready;
    livenessFailures = live === 200 ? 0 : livenessFailures + 1;
    if (readyStatus === 200) {
      readinessFailures = 0;
      readinessSuccesses += 1;
      if (!isReady() && readinessSuccesses >= readiness.success_threshold) report.readiness(true);
    } else {
      readinessSuccesses = 0;
      readinessFailures += 1;
      if (readinessFailures >= readiness.failure_threshold && isReady()) report.readiness(false);
    }
    if (livenessFailures >= liveness.failure_threshold) {
      stopped = true;
      report.unhealthy(livenessFailures);
      return;
    }
    timer = setTimeout(() => void tick(), period);
  };
  timer = setTimeout(() => void tick(), Math.max(readiness.initial_delay, 1) * 1000);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
