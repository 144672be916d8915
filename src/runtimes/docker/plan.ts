import { LABELS } from './labels.js';

/** A container as observed on the engine (the parts the plans read). */
export interface ObservedContainer {
  id: string;
  labels: Record<string, string>;
  /** Docker's state: running, exited, created, restarting, paused, dead, removing. */
  state: string;
}

export interface ReplicaPlan {
  /** A running container with the wanted config hash: use it as it is. */
  adopt?: string;
  /** Containers of this replica with the wanted hash that cannot be used (not running). */
  remove: string[];
}

/**
 * What to do for one replica, given the containers already labelled with its endpoint,
 * deployment and replica number in this home. Containers with another config hash are left
 * alone: they belong to the configuration still serving during an update, and are removed when
 * that configuration stops (or by `planSweep` after a daemon restart).
 */
export function planReplica(observed: readonly ObservedContainer[], configHash: string): ReplicaPlan {
  const same = observed.filter((container) => container.labels[LABELS.configHash] === configHash);
  const running = same.find((container) => container.state === 'running');
  return {
    adopt: running?.id,
    remove: same.filter((container) => container !== running).map((container) => container.id),
  };
}
