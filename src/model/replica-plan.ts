import type { RuntimeKind } from './runtime-kind.js';
import { deploymentKey } from './deployment-key.js';

/**
 * The replica plan: given what should run (desired) and what runs (observed), the steps that
 * bring one closer to the other. Pure: no I/O, no clock (the time comes in), so every decision
 * about a replica's life (start, adopt, restart, replace, scale, stop) is made here and tested
 * as "state in, steps out". The executor (src/supervisor/reconciler.ts) applies the steps and
 * decides nothing.
 */

/**
 * Where a deployment's current configuration (its generation) stands:
 * - rolling: a create or update is starting it; the first replica that fails to start fails it.
 * - restoring: the daemon is bringing it back after a restart; failed starts are retried.
 * - steady: it has run in full once; replicas that die or fail to start are restarted.
 * - failing: its roll-out failed; its replicas are being stopped (older ones keep serving).
 * - failed: its roll-out failed and its replicas are gone; older ones (if any) keep serving.
 */
export type DeploymentStatus = 'rolling' | 'restoring' | 'steady' | 'failing' | 'failed';

export interface DesiredDeployment {
  endpoint: string;
  deployment: string;
  runtime: RuntimeKind;
  generation: number;
  /** How many replicas of this generation should run (instance_count, or the autoscaler's count). */
  replicas: number;
  status: DeploymentStatus;
  /** The config hash a found replica needs to be adopted (set once the runtime prepared the configuration). */
  configHash?: string;
  /**
   * The runtime's preparation of this configuration (Docker: its image, which the hash covers),
   * while it is not done: `preparing`: nothing of this generation starts or is adopted yet, what
   * serves goes on serving; `failed`: replicas start (and their starts say what is wrong) but no
   * found replica is adopted, since its hash cannot be checked.
   */
  preparation?: 'preparing' | 'failed';
  /**
   * Older replicas stop before this generation starts (Kubernetes' Recreate strategy) instead of
   * after it is ready: they hold something the new one needs, e.g. the fixed port of --debug.
   */
  recreate?: boolean;
}

/**
 * - starting: being started (or adopted) and not ready yet;
 * - ready / unready: running, and its readiness probe passes / fails;
 * - unhealthy: running, but failed its liveness probe failure_threshold times;
 * - exited: was ready, then ended;
 * - failed: its start failed (could not start, or was never ready);
 * - stopping: being stopped on purpose.
 */
export type ReplicaPhase = 'starting' | 'ready' | 'unready' | 'unhealthy' | 'exited' | 'failed' | 'stopping';

/** A replica this daemon manages: one per deployment, generation and index. */
export interface ObservedReplica {
  endpoint: string;
  deployment: string;
  index: number;
  generation: number;
  phase: ReplicaPhase;
  /** Has been ready at least once: it served, as opposed to one still coming up. */
  served: boolean;
  /** How many times it was restarted. */
  restarts: number;
  /** exited or failed: when it may be started again (the restart backoff). */
  retryAt?: number;
}

/** A replica left by an earlier daemon (a container by its labels, a process by its record). */
export interface FoundReplica {
  id: string;
  runtime: RuntimeKind;
  endpoint: string;
  deployment: string;
  index: number;
  generation: number;
  configHash?: string;
  /** Still running (for a process: the recorded pid with the recorded start time). */
  alive: boolean;
  /**
   * A container made ahead of a start and never taken (runtimes/docker/spare-container.ts): it
   * runs no replica, so it is always discarded, never adopted. Its index and generation mean nothing.
   */
  spare?: boolean;
}

export interface PlanInput {
  desired: readonly DesiredDeployment[];
  replicas: readonly ObservedReplica[];
  found: readonly FoundReplica[];
  /** Runtimes whose leftover replicas are still being looked for: their deployments wait. */
  observing?: readonly RuntimeKind[];
  /** The daemon is stopping (nothing is desired any more, and that is why). */
  closing?: boolean;
  now: number;
}

interface ReplicaRef {
  endpoint: string;
  deployment: string;
  index: number;
  generation: number;
}

export type Step =
  | ({ action: 'start' } & ReplicaRef)
  | ({ action: 'restart'; restart: number } & ReplicaRef)
  | ({ action: 'adopt'; found: string } & ReplicaRef)
  | ({ action: 'stop'; reason: string } & ReplicaRef)
  /** Stop a replica that failed its liveness probe; it is then restarted like one that exited. */
  | ({ action: 'recycle'; reason: string } & ReplicaRef)
  /** Stop a found replica nobody wants (or forget one that no longer runs); `spare`: a spare never taken. */
  | ({ action: 'discard'; found: string; alive: boolean; reason: string; spare?: boolean } & ReplicaRef)
  /** The roll-out of a generation failed (replica `index` could not start): stop its replicas. */
  | { action: 'fail'; endpoint: string; deployment: string; generation: number; index: number }
  /** The failed generation's replicas are all gone: report the failure. */
  | { action: 'failed'; endpoint: string; deployment: string; generation: number }
  /** Every replica of the generation is ready and nothing older is left. */
  | { action: 'complete'; endpoint: string; deployment: string; generation: number };

export interface Plan {
  steps: Step[];
  /** When the plan should be computed again although nothing changed (a restart backoff ends). */
  wakeAt?: number;
}

/** Restart backoff: 1 s before the first restart, doubling up to 30 s. */
export function restartDelayMs(restart: number): number {
  return Math.min(1000 * 2 ** Math.max(0, restart - 1), 30_000);
}

export function planReplicas(input: PlanInput): Plan {
  const steps: Step[] = [];
  let wakeAt: number | undefined;
  const wake = (at: number): void => void (wakeAt = wakeAt === undefined ? at : Math.min(wakeAt, at));
  const observing = new Set(input.observing ?? []);
  const desired = new Map(input.desired.map((entry) => [key(entry), entry]));
  const keys = new Set([...desired.keys(), ...input.replicas.map(key), ...input.found.map(key)]);

  for (const id of [...keys].sort()) {
    const want = desired.get(id);
    const replicas = input.replicas.filter((replica) => key(replica) === id).sort(byGenerationAndIndex);
    const found = input.found.filter((replica) => key(replica) === id).sort(byGenerationAndIndex);
    if (!want) {
      const reason = input.closing ? 'daemon stopping' : 'deployment deleted';
      for (const replica of replicas) if (replica.phase !== 'stopping') steps.push(stop(replica, reason));
      for (const replica of found) steps.push(discard(replica, replica.alive ? reason : 'not running'));
      continue;
    }
    if (observing.has(want.runtime)) continue;
    planDeployment(want, replicas, found, input.now, steps, wake);
  }
  return wakeAt === undefined ? { steps } : { steps, wakeAt };
}

function planDeployment(
  want: DesiredDeployment,
  replicas: ObservedReplica[],
  found: FoundReplica[],
  now: number,
  steps: Step[],
  wake: (at: number) => void,
): void {
  const { generation, replicas: count } = want;
  const current = replicas.filter((replica) => replica.generation === generation);
  const older = replicas.filter((replica) => replica.generation !== generation);
  const failedRollout = want.status === 'failing' || want.status === 'failed';
  /** Restarts a replica that ended, once its backoff is over; a liveness failure is stopped first. */
  const keepRunning = (replica: ObservedReplica): void => {
    if (replica.phase === 'unhealthy') steps.push({ action: 'recycle', ...ref(replica), reason: 'failed its liveness probe' });
    if (replica.phase !== 'exited' && replica.phase !== 'failed') return;
    const at = replica.retryAt ?? now;
    if (at <= now) steps.push({ action: 'restart', ...ref(replica), restart: replica.restarts });
    else wake(at);
  };

  if (failedRollout) {
    for (const replica of current) if (replica.phase !== 'stopping') steps.push(stop(replica, `roll-out of gen ${generation} failed`));
    if (want.status === 'failing' && current.length === 0) steps.push({ action: 'failed', endpoint: want.endpoint, deployment: want.deployment, generation });
    // What served before the failed update goes on serving.
    for (const replica of older) {
      if (!replica.served && replica.phase !== 'stopping') steps.push(stop(replica, `replaced by gen ${generation}`));
      else keepRunning(replica);
    }
    for (const replica of found) steps.push(discard(replica, replica.alive ? `roll-out of gen ${generation} failed` : 'not running'));
    return;
  }

  // A create or update fails at the first replica that could not start: stop its replicas.
  const failure = want.status === 'rolling' ? current.find((replica) => replica.phase === 'failed' && !replica.served) : undefined;
  if (failure) {
    steps.push({ action: 'fail', endpoint: want.endpoint, deployment: want.deployment, generation, index: failure.index });
    for (const replica of current) if (replica.phase !== 'stopping') steps.push(stop(replica, `roll-out of gen ${generation} failed`));
    for (const replica of older) {
      if (!replica.served && replica.phase !== 'stopping') steps.push(stop(replica, `replaced by gen ${generation}`));
      else keepRunning(replica);
    }
    return;
  }

  if (want.recreate && older.length > 0) {
    for (const replica of older) if (replica.phase !== 'stopping') steps.push(stop(replica, `replaced by gen ${generation}, stopped first`));
    return;
  }

  if (want.preparation === 'preparing') {
    for (const replica of older) {
      if (!replica.served && replica.phase !== 'stopping') steps.push(stop(replica, `replaced by gen ${generation}`));
      else keepRunning(replica);
    }
    return;
  }

  const adopted = new Set<string>();
  for (let index = 0; index < count; index++) {
    const replica = current.find((each) => each.index === index);
    if (replica) {
      keepRunning(replica);
      continue;
    }
    const candidate = found.find(
      (each) => each.alive && !each.spare && each.generation === generation && each.index === index && adoptable(want, each),
    );
    if (candidate) {
      adopted.add(candidate.id);
      steps.push({ action: 'adopt', found: candidate.id, endpoint: want.endpoint, deployment: want.deployment, index, generation });
    } else {
      steps.push({ action: 'start', endpoint: want.endpoint, deployment: want.deployment, index, generation });
    }
  }
  for (const replica of current) if (replica.index >= count && replica.phase !== 'stopping') steps.push(stop(replica, `scaled down to ${count}`));

  // The new generation replaces the old only once all of its replicas are ready.
  const complete = Array.from({ length: count }, (_, index) => current.find((each) => each.index === index)).every((replica) => replica?.phase === 'ready');
  for (const replica of older) {
    if (replica.phase === 'stopping') continue;
    if (!replica.served || complete) steps.push(stop(replica, `replaced by gen ${generation}`));
    else keepRunning(replica);
  }

  for (const replica of found) {
    if (adopted.has(replica.id)) continue;
    const reason = discardReason(want, replica, current);
    // undefined: a replica of ours is starting in its place and may be adopting it (containers are found by label too).
    if (reason !== undefined) steps.push(discard(replica, reason));
  }

  // Done once what served before is gone; replicas that never served may still be stopping.
  const leftovers = [...older, ...current.filter((replica) => replica.index >= count)].some((replica) => replica.served);
  if ((want.status === 'rolling' || want.status === 'restoring') && complete && !leftovers) {
    steps.push({ action: 'complete', endpoint: want.endpoint, deployment: want.deployment, generation });
  }
}

/** A found replica of the wanted generation and index runs the wanted configuration. */
function adoptable(want: DesiredDeployment, found: FoundReplica): boolean {
  if (want.preparation === 'failed') return false;
  return want.configHash === undefined || found.configHash === want.configHash;
}

function discardReason(want: DesiredDeployment, replica: FoundReplica, current: ObservedReplica[]): string | undefined {
  if (!replica.alive) return 'not running';
  if (replica.spare) return 'a spare never taken';
  if (replica.generation < want.generation) return `replaced by gen ${want.generation}`;
  if (replica.generation > want.generation) return `gen ${replica.generation} is not wanted`;
  if (replica.index >= want.replicas) return `scaled down to ${want.replicas}`;
  if (want.configHash !== undefined && replica.configHash !== want.configHash) return 'configuration changed';
  const mine = current.find((each) => each.index === replica.index);
  // Ours is starting in its place (or about to: the preparation failed, so it was not adopted):
  // the found one stays until ours runs.
  if (mine === undefined || mine.phase === 'starting') return undefined;
  return 'a replica of ours runs in its place';
}

function stop(replica: ObservedReplica, reason: string): Step {
  return { action: 'stop', ...ref(replica), reason };
}

function discard(replica: FoundReplica, reason: string): Step {
  return { action: 'discard', found: replica.id, alive: replica.alive, ...ref(replica), reason, ...(replica.spare && { spare: true }) };
}

function ref(replica: ReplicaRef): ReplicaRef {
  return { endpoint: replica.endpoint, deployment: replica.deployment, index: replica.index, generation: replica.generation };
}

function key(entry: { endpoint: string; deployment: string }): string {
  return deploymentKey(entry.endpoint, entry.deployment);
}

function byGenerationAndIndex(a: ReplicaRef, b: ReplicaRef): number {
  return a.generation - b.generation || a.index - b.index;
}

/** One line per step, for the daemon's log and for tests: `start blue#1 gen 3`, `stop green#2 gen 1 (deployment deleted)`. */
export function describeStep(step: Step): string {
  switch (step.action) {
    case 'start':
      return `start ${step.deployment}#${step.index} gen ${step.generation}`;
    case 'restart':
      return `restart ${step.deployment}#${step.index} gen ${step.generation} (restart ${step.restart})`;
    case 'adopt':
      return `adopt ${step.deployment}#${step.index} gen ${step.generation}`;
    case 'stop':
      return `stop ${step.deployment}#${step.index} gen ${step.generation} (${step.reason})`;
    case 'recycle':
      return `recycle ${step.deployment}#${step.index} gen ${step.generation} (${step.reason})`;
    case 'discard':
      if (step.spare) return `${step.alive ? 'discard' : 'forget'} ${step.deployment} spare ${step.found} (${step.reason})`;
      return `${step.alive ? 'discard' : 'forget'} ${step.deployment}#${step.index} gen ${step.generation} (${step.reason})`;
    case 'fail':
      return `fail ${step.deployment} gen ${step.generation} (replica ${step.index} did not start)`;
    case 'failed':
      return `failed ${step.deployment} gen ${step.generation}`;
    case 'complete':
      return `complete ${step.deployment} gen ${step.generation}`;
  }
}
