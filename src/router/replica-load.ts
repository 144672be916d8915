import type { LiveReplica } from './route.js';

/**
 * Requests each replica is answering now, live, mirrored and noise copies alike, and the choice
 * of the least loaded one. Counted per replica record, which the reconciler makes anew for every
 * process or container it starts: a restart never resets a count that requests still hold.
 */
export class ReplicaLoad {
  private readonly counts = new WeakMap<LiveReplica, number>();

  of(replica: LiveReplica): number {
    return this.counts.get(replica) ?? 0;
  }

  add(replica: LiveReplica, delta: number): void {
    this.counts.set(replica, this.of(replica) + delta);
  }

  /** Least outstanding requests among ready replicas (but `except`); ties go to the first. */
  pick(replicas: readonly LiveReplica[], except?: LiveReplica): LiveReplica | undefined {
    let best: LiveReplica | undefined;
    let bestLoad = 0;
    for (const replica of replicas) {
      if (!replica.ready || replica === except) continue;
      const load = this.of(replica);
      if (!best || load < bestLoad) {
        best = replica;
        bestLoad = load;
      }
    }
    return best;
  }
}
