import { appendFileNoFollow } from '../state/atomic-write.js';
import { join } from 'node:path';
import { OepError } from '../errors.js';
import { initialReplicas, targetUtilizationOf } from '../model/autoscale.js';
import { DEBUG_HOST, type DebugSettings } from '../model/debug.js';
import type { RecordedPython } from '../model/process-interpreter.js';
import {
  describeStep,
  planReplicas,
  restartDelayMs,
  type DesiredDeployment,
  type FoundReplica,
  type ObservedReplica,
  type Step,
} from '../model/replica-plan.js';
import type { LiveReplica } from '../router/router.js';
import type { EmitProgress, ReplicaHandle, ReplicaRequest, Runtime } from '../runtimes/types.js';
import type { DeploymentSpec } from '../spec/types.js';
import { deploymentLogDir, type OepPaths } from '../state/paths.js';
import type { RuntimeKind } from '../state/types.js';
import type { AutoscaledDeployment } from './autoscaler.js';
import { watchProbes } from './probes.js';
import { bringUp, StartCancelled } from './replica-start.js';
import { isOutOfDescriptors } from '../model/descriptors.js';
import { deploymentKey } from '../model/deployment-key.js';

/**
 * How often a starting replica's readiness route is tried. A replica that does not listen yet
 * refuses at once, so trying often costs little, and a ready replica takes traffic this soon
 * after it listens (the probe period applies once it serves).
 */
const START_POLL_MS = 10;

/** A replica start that failed for want of a file descriptor in the daemon is tried again after this long. */
const OUT_OF_DESCRIPTORS_RETRY_MS = 1000;

export type { LiveReplica };

export interface ReconcilerOptions {
  paths: OepPaths;
  runtimes: Partial<Record<RuntimeKind, Runtime>>;
  log: (line: string) => void;
  /** How often readiness is polled while a replica starts (ms). */
  startPollMs?: number;
  now?: () => number;
  /** The wait before restart number n (default: 1 s, doubling up to 30 s). */
  restartDelayMs?: (restart: number) => number;
}

/** What should run for one deployment: a configuration (spec + generation) on a runtime. */
export interface DeploymentIntent {
  endpoint: string;
  spec: DeploymentSpec;
  runtime: RuntimeKind;
  generation: number;
  /** Brought back after a daemon restart: failed starts are retried, they never fail it. */
  restore?: boolean;
  /** Its roll-out failed before (state Failed): nothing of it runs. */
  failed?: boolean;
  /**
   * Run under debugpy (--debug): one replica; no probes act on it and no readiness deadline
   * applies (it may sit at a breakpoint, or wait for a debugger, as long as it takes).
   */
  debug?: DebugSettings;
  /** Process runtime: the interpreter the deployment's record keeps; absent, the runtime's own choice (the setting). */
  python?: RecordedPython;
  emit?: EmitProgress;
}

interface Deployment {
  desired: DesiredDeployment;
  spec: DeploymentSpec;
  runtime: Runtime;
  emit: EmitProgress;
  restored: boolean;
  debug?: DebugSettings;
  python?: RecordedPython;
  /** Why the roll-out failed (status failing/failed). */
  error?: OepError;
  waiters: { resolve: () => void; reject: (error: Error) => void }[];
}

/** The router's read-only record of a replica; the reconciler alone changes `ready`. */
type ReplicaRecord = { -readonly [K in keyof LiveReplica]: LiveReplica[K] };

interface Slot extends ObservedReplica {
  id: string;
  spec: DeploymentSpec;
  runtime: Runtime;
  emit: EmitProgress;
  debug?: DebugSettings;
  python?: RecordedPython;
  handle?: ReplicaHandle;
  /** The router's record of the current handle; a new one for every start, so counts never mix. */
  live?: ReplicaRecord;
  /** The start (or adoption) under way. */
  starting?: Promise<void>;
  /** Set once the slot is being stopped for good; resolves when it is gone. */
  stopped?: Promise<void>;
  stopProbes?: () => void;
  /** The last failed start, kept until a start succeeds (for `problem`). */
  error?: OepError;
  lastDelayMs?: number;
  startedAt: number;
  /** When the replica last became ready: one that then ran for BACKOFF_RESET_MS starts its backoff over. */
  readySince?: number;
}

/**
 * A replica that ran this long before it ended is restarted after the first delay again, as the
 * kubelet resets a container's crash backoff after 10 minutes of running: an endpoint left up for
 * a day with a rare crash never waits the 30 s cap for it.
 */
export const BACKOFF_RESET_MS = 10 * 60_000;

interface ReadyWaiter {
  key: string;
  resolve: (ready: boolean) => void;
  timer: NodeJS.Timeout;
}

const STOPPED_WHILE_STARTING = (deployment: string): OepError =>
  new OepError('OEP_ERR_DEPLOYMENT_FAILED', `Deployment ${deployment} was stopped while it was starting (deleted, or the daemon is stopping).`);

/** How long `stopAll` waits for replicas still starting (a Docker build can take minutes). */
const STOP_ALL_TIMEOUT_MS = 20_000;

/**
 * The one owner of replica lifecycle. It keeps the desired state (what each deployment should
 * run), observes what runs (its own replicas, and at start-up those an earlier daemon left),
 * computes the plan with the pure `planReplicas` (src/model/replica-plan.ts) and applies its
 * steps. Every change (create, update, delete, restore, a replica ending, a probe, a restart
 * backoff ending, a scale decision) is "change the desired or observed state, then reconcile".
 * A reconcile pass is synchronous: each step changes the state before the next plan is made,
 * so two passes can never take the same decision twice.
 */
export class Reconciler {
  private readonly deployments = new Map<string, Deployment>();
  private readonly slots = new Map<string, Slot>();
  /** Replicas left by an earlier daemon that no step has taken over or discarded yet. */
  private readonly found = new Map<string, FoundReplica>();
  /** Runtimes whose leftovers are being looked for: their deployments wait for the answer. */
  private readonly observing = new Set<RuntimeKind>();
  /** Found replicas being stopped, per deployment key. */
  private readonly discarding = new Map<string, Set<Promise<void>>>();
  private readonly readyWaiters = new Set<ReadyWaiter>();
  private readonly drainWaiters = new Set<{ key: string; resolve: () => void }>();
  private passing = false;
  private again = false;
  private wakeTimer?: NodeJS.Timeout;
  private closing = false;
  private readonly now: () => number;
  private readonly delay: (restart: number) => number;

  constructor(private readonly options: ReconcilerOptions) {
    this.now = options.now ?? Date.now;
    this.delay = options.restartDelayMs ?? restartDelayMs;
  }

  /**
   * Makes a configuration the desired one and resolves once all of its replicas are ready and
   * nothing older runs; rejects (with the failure's phase) when its roll-out fails, or when it
   * is replaced or removed first. The previous configuration serves until then.
   */
  apply(intent: DeploymentIntent): Promise<void> {
    if (this.closing) return Promise.reject(STOPPED_WHILE_STARTING(intent.spec.name));
    const runtime = this.options.runtimes[intent.runtime];
    if (!runtime) return Promise.reject(new OepError('OEP_ERR_RUNTIME_UNAVAILABLE', `The ${intent.runtime} runtime is not available in this daemon.`));
    const id = deploymentKey(intent.endpoint, intent.spec.name);
    const existing = this.deployments.get(id);
    if (existing && existing.desired.generation !== intent.generation) {
      const replaced = new OepError(
        'OEP_ERR_DEPLOYMENT_FAILED',
        `Deployment ${intent.spec.name}: configuration ${existing.desired.generation} was replaced by configuration ${intent.generation} while it was starting.`,
      );
      for (const waiter of existing.waiters.splice(0)) waiter.reject(replaced);
    }
    let entry = existing?.desired.generation === intent.generation ? existing : undefined;
    if (!entry) {
      entry = {
        desired: {
          endpoint: intent.endpoint,
          deployment: intent.spec.name,
          runtime: intent.runtime,
          generation: intent.generation,
          replicas: intent.debug ? 1 : initialReplicas(intent.spec),
          status: intent.failed ? 'failed' : intent.restore ? 'restoring' : 'rolling',
          ...(runtime.prepare && { preparation: 'preparing' as const }),
          // The debug port is fixed: a replica of another generation that listens on it stops first.
          ...(this.holdsDebugPort(id, intent) && { recreate: true }),
        },
        spec: intent.spec,
        runtime,
        emit: intent.emit ?? (() => undefined),
        restored: intent.restore === true,
        ...(intent.debug && { debug: intent.debug }),
        ...(intent.python && { python: intent.python }),
        waiters: [],
      };
      this.deployments.set(id, entry);
      if (runtime.prepare) this.prepare(entry);
    }
    const settled = entry;
    const done = new Promise<void>((resolve, reject) => {
      if (settled.desired.status === 'steady' || (settled.desired.status === 'failed' && !settled.error)) resolve();
      else if (settled.desired.status === 'failed') reject(settled.error);
      else settled.waiters.push({ resolve, reject });
    });
    this.reconcile();
    return done;
  }

  /**
   * Stops a deployment's replicas (found ones too, once the runtimes have been looked through for
   * them) and resolves when they are gone. `kind`: the runtime the state records, for a deployment
   * this daemon never ran (a delete finished after a restart), so its runtime files go too.
   */
  async remove(endpoint: string, deployment: string, kind?: RuntimeKind): Promise<void> {
    const id = deploymentKey(endpoint, deployment);
    const entry = this.deployments.get(id);
    this.deployments.delete(id);
    for (const waiter of entry?.waiters.splice(0) ?? []) waiter.reject(STOPPED_WHILE_STARTING(deployment));
    const runtime =
      entry?.runtime ?? [...this.slots.values()].find((slot) => deploymentKey(slot.endpoint, slot.deployment) === id)?.runtime ?? (kind && this.options.runtimes[kind]);
    this.reconcile();
    await this.drained(id);
    await runtime?.cleanup(endpoint, deployment);
  }

  /** Sets how many replicas of a deployment's current configuration run (the autoscaler's count). */
  scale(endpoint: string, deployment: string, replicas: number): void {
    const entry = this.deployments.get(deploymentKey(endpoint, deployment));
    if (!entry || entry.desired.replicas === replicas) return;
    entry.desired.replicas = replicas;
    this.reconcile();
  }

  /** Steady deployments with scale_settings.type target_utilization, for the autoscaler. */
  autoscaled(): AutoscaledDeployment[] {
    return [...this.deployments.values()].flatMap((entry) => {
      const settings = targetUtilizationOf(entry.spec);
      if (!settings || entry.desired.status !== 'steady') return [];
      const { endpoint, deployment, generation, replicas } = entry.desired;
      if (entry.debug) return [];
      return [{ endpoint, deployment, generation, replicas, settings, maxConcurrentPerInstance: entry.spec.request_settings.max_concurrent_requests_per_instance }];
    });
  }

  /** The count of replicas a deployment's current configuration should run, or undefined. */
  replicaCount(endpoint: string, deployment: string): number | undefined {
    return this.deployments.get(deploymentKey(endpoint, deployment))?.desired.replicas;
  }

  /**
   * Looks for replicas an earlier daemon left, runtime by runtime. Until a runtime has answered,
   * its deployments start nothing (they might adopt); one that cannot answer (no Docker engine)
   * stops holding them back, and its containers are adopted by label when they start.
   */
  observe(): Promise<void> {
    const kinds = Object.keys(this.options.runtimes) as RuntimeKind[];
    for (const kind of kinds) this.observing.add(kind);
    return Promise.all(
      kinds.map(async (kind) => {
        try {
          const found = await this.options.runtimes[kind]!.findReplicas();
          for (const replica of found) if (!this.isHeld(replica)) this.found.set(replica.id, replica);
          if (found.length > 0) this.options.log(`found ${found.length} ${kind} replica(s) left by an earlier daemon`);
        } catch (error) {
          this.options.log(`could not look for ${kind} replicas left by an earlier daemon: ${(error as Error).message}`);
        } finally {
          this.observing.delete(kind);
          this.reconcile();
        }
      }),
    ).then(() => undefined);
  }

  /** `oep daemon stop`: stops every replica, found ones included, and starts nothing more. */
  async stopAll(): Promise<void> {
    this.closing = true;
    for (const [id, entry] of this.deployments) {
      for (const waiter of entry.waiters.splice(0)) waiter.reject(STOPPED_WHILE_STARTING(entry.desired.deployment));
      this.deployments.delete(id);
    }
    this.reconcile();
    const keys = new Set([...this.slots.values()].map((slot) => deploymentKey(slot.endpoint, slot.deployment)));
    for (const id of this.discarding.keys()) keys.add(id);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_ALL_TIMEOUT_MS)));
    await Promise.race([Promise.all([...keys].map((id) => this.drained(id))), timeout]);
    clearTimeout(timer);
    clearTimeout(this.wakeTimer);
    for (const waiter of this.readyWaiters) {
      clearTimeout(waiter.timer);
      waiter.resolve(false);
    }
    this.readyWaiters.clear();
  }

  /** The replicas that serve a deployment now, for the router and `deployment show`. */
  replicas(endpoint: string, deployment: string): readonly LiveReplica[] {
    // Asked on every request: the same choice as serving() in one pass over the slots.
    const entry = this.deployments.get(deploymentKey(endpoint, deployment));
    const current: Slot[] = [];
    const older: Slot[] = [];
    for (const slot of this.slots.values()) {
      if (slot.endpoint !== endpoint || slot.deployment !== deployment) continue;
      if (slot.phase === 'stopping' && !slot.live?.ready) continue;
      if (!entry || slot.generation === entry.desired.generation) current.push(slot);
      else if (slot.served) older.push(slot);
    }
    let chosen = current;
    if (entry && entry.desired.status !== 'steady' && older.length > 0) {
      if (older.some((slot) => slot.live?.ready) || !current.some((slot) => slot.live?.ready)) chosen = older;
    }
    if (chosen.length > 1) chosen.sort(bySlotOrder);
    const out: LiveReplica[] = [];
    for (const slot of chosen) if (slot.live) out.push(slot.live);
    return out;
  }

  /**
   * The router could not reach a replica (connection refused or dropped): out of rotation until
   * its readiness probe passes again, or its end is noticed and it is restarted.
   */
  unreachable(endpoint: string, deployment: string, replica: LiveReplica): void {
    const slot = this.slotsOf(deploymentKey(endpoint, deployment)).find((each) => each.live === replica);
    if (slot?.live) slot.live.ready = false;
  }

  /**
   * For a request that found no ready replica: resolves true as soon as one is ready, false at
   * once when none is coming (not deployed, failed, or failing to start), or after `timeoutMs`.
   */
  waitForReplica(endpoint: string, deployment: string, timeoutMs: number): Promise<boolean> {
    const id = deploymentKey(endpoint, deployment);
    if (this.hasReady(id)) return Promise.resolve(true);
    if (!this.coming(id)) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter: ReadyWaiter = {
        key: id,
        resolve,
        timer: setTimeout(() => {
          this.readyWaiters.delete(waiter);
          resolve(false);
        }, timeoutMs),
      };
      this.readyWaiters.add(waiter);
    });
  }

  /** Every serving replica's readiness and restart count, for metrics. */
  health(): { endpoint: string; deployment: string; replica: string; ready: boolean; restarts: number }[] {
    const keys = new Set([...this.slots.values()].map((slot) => deploymentKey(slot.endpoint, slot.deployment)));
    return [...keys].flatMap((id) =>
      this.serving(id)
        .filter((slot) => slot.live)
        .map((slot) => ({ endpoint: slot.endpoint, deployment: slot.deployment, replica: String(slot.index), ready: slot.live!.ready, restarts: slot.restarts })),
    );
  }

  logFile(endpoint: string, deployment: string, replica = 0): string {
    return join(deploymentLogDir(this.options.paths, endpoint, deployment), `replica-${replica}.log`);
  }

  /** Why a deployment that should run has no ready replica and keeps failing to start, or undefined. */
  problem(endpoint: string, deployment: string): string | undefined {
    const id = deploymentKey(endpoint, deployment);
    const entry = this.deployments.get(id);
    if (!entry || (entry.desired.status !== 'restoring' && entry.desired.status !== 'steady')) return undefined;
    const mine = this.slotsOf(id);
    if (mine.some((slot) => slot.live?.ready)) return undefined;
    const failing = mine.find((slot) => slot.generation === entry.desired.generation && slot.error && slot.phase !== 'ready');
    if (!failing) return undefined;
    const reason = `${failing.error!.message}${failing.error!.hint ? ` ${failing.error!.hint}` : ''}`;
    const next = `oep keeps trying (next in ${Math.ceil((failing.lastDelayMs ?? 0) / 1000)} s).`;
    return entry.restored
      ? `Deployment ${deployment} of endpoint ${endpoint} could not start after the daemon restarted: ${reason} ${next}`
      : `Deployment ${deployment} of endpoint ${endpoint} has no ready replica: ${reason} ${next}`;
  }

  problems(): string[] {
    return [...this.deployments.values()]
      .map((entry) => this.problem(entry.desired.endpoint, entry.desired.deployment))
      .filter((problem): problem is string => problem !== undefined);
  }

  /** One reconcile pass (re-run at once if something asks for one meanwhile). Synchronous. */
  reconcile(): void {
    if (this.passing) {
      this.again = true;
      return;
    }
    this.passing = true;
    try {
      do {
        this.again = false;
        const plan = planReplicas({
          desired: [...this.deployments.values()].map((entry) => entry.desired),
          replicas: [...this.slots.values()].map(observedOf),
          found: [...this.found.values()],
          observing: [...this.observing],
          closing: this.closing,
          now: this.now(),
        });
        for (const step of plan.steps) {
          this.options.log(`${step.endpoint}/${step.deployment}: ${describeStep(step)}`);
          this.execute(step);
        }
        clearTimeout(this.wakeTimer);
        if (plan.wakeAt !== undefined) {
          this.wakeTimer = setTimeout(() => this.reconcile(), Math.max(0, plan.wakeAt - this.now()));
          this.wakeTimer.unref();
        }
      } while (this.again);
    } finally {
      this.passing = false;
    }
    this.notify();
  }

  private execute(step: Step): void {
    switch (step.action) {
      case 'start': {
        const slot = this.newSlot(step);
        this.launch(slot, (request) => slot.runtime.startReplica(request));
        return;
      }
      case 'restart': {
        const slot = this.slots.get(slotId(step))!;
        slot.phase = 'starting';
        slot.retryAt = undefined;
        slot.emit = () => undefined;
        this.launch(slot, (request) => slot.runtime.startReplica(request));
        return;
      }
      case 'adopt': {
        const found = this.found.get(step.found)!;
        this.found.delete(step.found);
        const slot = this.newSlot(step);
        this.launch(slot, (request) => slot.runtime.adoptReplica(found, request));
        return;
      }
      case 'stop':
        void this.stopSlot(this.slots.get(slotId(step))!);
        return;
      case 'recycle':
        void this.recycle(this.slots.get(slotId(step))!);
        return;
      case 'discard': {
        const found = this.found.get(step.found)!;
        this.found.delete(step.found);
        this.discard(found);
        return;
      }
      case 'fail': {
        const entry = this.deployments.get(deploymentKey(step.endpoint, step.deployment))!;
        entry.desired.status = 'failing';
        entry.error = this.slots.get(slotId(step))?.error;
        return;
      }
      case 'failed': {
        const entry = this.deployments.get(deploymentKey(step.endpoint, step.deployment))!;
        entry.desired.status = 'failed';
        const error = entry.error ?? new OepError('OEP_ERR_DEPLOYMENT_FAILED', `Deployment ${step.deployment} failed.`, { phase: 'start' });
        for (const waiter of entry.waiters.splice(0)) waiter.reject(error);
        return;
      }
      case 'complete': {
        const entry = this.deployments.get(deploymentKey(step.endpoint, step.deployment))!;
        entry.desired.status = 'steady';
        for (const waiter of entry.waiters.splice(0)) waiter.resolve();
        return;
      }
    }
  }

  /**
   * Has the runtime ready the configuration and tell the config hash a found replica needs; until
   * it answers the plan starts and adopts nothing of it. Replicas of this generation the runtime
   * sees now join the found ones (an engine that did not answer at start-up may have come back).
   */
  private prepare(entry: Deployment): void {
    const { endpoint, deployment, generation } = entry.desired;
    const request = {
      endpoint,
      deployment,
      spec: entry.spec,
      generation,
      emit: entry.emit,
      ...(entry.debug && { debug: entry.debug }),
      ...(entry.python && { python: entry.python }),
    };
    const current = (): boolean => this.deployments.get(deploymentKey(endpoint, deployment)) === entry;
    entry.runtime.prepare!(request)
      .then(
        (prepared) => {
          if (!current()) return;
          entry.desired.configHash = prepared.configHash;
          delete entry.desired.preparation;
          for (const found of prepared.found ?? []) {
            if (found.generation !== generation || this.found.has(found.id) || this.isHeld(found)) continue;
            this.found.set(found.id, found);
          }
        },
        (error: Error) => {
          if (!current()) return;
          entry.desired.preparation = 'failed';
          this.options.log(`${endpoint}/${deployment}: could not prepare gen ${generation} (${error.message}); its replicas start without adopting any`);
        },
      )
      .finally(() => this.reconcile());
  }

  private newSlot(step: { endpoint: string; deployment: string; index: number; generation: number }): Slot {
    const entry = this.deployments.get(deploymentKey(step.endpoint, step.deployment))!;
    const slot: Slot = {
      id: slotId(step),
      endpoint: step.endpoint,
      deployment: step.deployment,
      index: step.index,
      generation: step.generation,
      phase: 'starting',
      served: false,
      restarts: 0,
      spec: entry.spec,
      runtime: entry.runtime,
      emit: entry.emit,
      ...(entry.debug && { debug: entry.debug }),
      ...(entry.python && { python: entry.python }),
      startedAt: this.now(),
    };
    this.slots.set(slot.id, slot);
    return slot;
  }

  /** Starts or adopts a slot's replica and waits for readiness; records the outcome, then reconciles. */
  private launch(slot: Slot, how: (request: ReplicaRequest) => Promise<ReplicaHandle>): void {
    const logFile = this.logFile(slot.endpoint, slot.deployment, slot.index);
    const startedAt = this.now();
    const restart = slot.restarts;
    slot.handle = undefined;
    slot.emit({ phase: 'start', message: `starting replica ${slot.index} of ${slot.deployment}` });
    const request: ReplicaRequest = {
      endpoint: slot.endpoint,
      deployment: slot.deployment,
      replica: slot.index,
      spec: slot.spec,
      generation: slot.generation,
      logFile,
      emit: slot.emit,
      ...(slot.debug && { debug: slot.debug }),
      ...(slot.python && { python: slot.python }),
    };
    slot.starting = (async () => {
      let handle: ReplicaHandle;
      try {
        handle = await bringUp({
          request,
          launch: async (request) => {
            const started = await how(request);
            slot.emit({
              phase: 'init',
              message: slot.debug?.wait
                ? `replica ${slot.index} of ${slot.deployment} waits for a debugger on ${DEBUG_HOST}:${slot.debug.port} before its scoring script loads`
                : `waiting for replica ${slot.index} of ${slot.deployment} to be ready`,
            });
            return started;
          },
          onHandle: (started) => (slot.handle = started),
          cancelled: () => slot.phase === 'stopping',
          runtime: slot.runtime.kind,
          pollMs: this.options.startPollMs ?? START_POLL_MS,
        });
      } catch (error) {
        if (error instanceof StartCancelled || slot.phase === 'stopping') return;
        if (isOutOfDescriptors(error)) {
          // The daemon itself is out of file descriptors: not the replica's failure. No restart is
          // counted and no roll-out fails; it is tried again shortly, as a replica that ended.
          await slot.handle?.stop().catch(() => undefined);
          // A stop may have come meanwhile (the narrowing above does not see it).
          if ((slot.phase as string) === 'stopping') return;
          slot.handle = undefined;
          slot.phase = 'exited';
          slot.lastDelayMs = OUT_OF_DESCRIPTORS_RETRY_MS;
          slot.retryAt = this.now() + OUT_OF_DESCRIPTORS_RETRY_MS;
          this.note(slot, `replica ${slot.index} could not be started because the oep daemon is out of file descriptors (${(error as Error).message}); trying again in ${OUT_OF_DESCRIPTORS_RETRY_MS / 1000} s`);
          return;
        }
        const failure = error instanceof OepError ? error : new OepError('OEP_ERR_DEPLOYMENT_FAILED', (error as Error).message, { phase: 'start' });
        slot.phase = 'failed';
        slot.error = failure;
        slot.restarts += 1;
        slot.lastDelayMs = this.delay(slot.restarts);
        slot.retryAt = this.now() + slot.lastDelayMs;
        if (restart > 0 || slot.served) this.note(slot, `replica ${slot.index} restart failed: ${failure.message}`);
        return;
      }
      if (slot.phase === 'stopping') return;
      slot.phase = 'ready';
      slot.served = true;
      slot.error = undefined;
      slot.readySince = this.now();
      slot.live = { id: handle.id, origin: handle.target.origin, pid: handle.pid, scoringPath: handle.target.scoringPath, ready: true };
      slot.emit({ phase: 'ready', message: `replica ${slot.index} of ${slot.deployment} ready in ${this.now() - startedAt} ms` });
      if (handle.adopted) this.note(slot, `replica ${slot.index} adopted from an earlier daemon${handle.pid ? ` (pid ${handle.pid})` : ` (${handle.id})`}`);
      else if (restart > 0) this.note(slot, `replica ${slot.index} restarted (restart ${restart})`);
      this.watch(slot, handle, startedAt);
      // Ready for the next start (a reload, an update, a restart) while this one serves.
      if (!this.closing) void slot.runtime.standBy?.(request).catch(() => undefined);
    })().finally(() => {
      slot.starting = undefined;
      this.reconcile();
    });
  }

  /** A ready replica (its start or adoption began at `startedAt`): probes, and what happens when it ends on its own. */
  private watch(slot: Slot, handle: ReplicaHandle, startedAt: number): void {
    const live = slot.live!;
    const probes = { runningForMs: this.now() - startedAt };
    // Under a debugger every thread of the server stops at a breakpoint, probes included: a
    // paused replica is not a dead one. Its end is still noticed below.
    slot.stopProbes = slot.debug ? undefined : watchProbes(handle.target, slot.spec, () => live.ready, {
      readiness: (ready) => {
        if (slot.live !== live || (slot.phase !== 'ready' && slot.phase !== 'unready')) return;
        this.note(slot, describeReadiness(slot, ready));
        live.ready = ready;
        slot.phase = ready ? 'ready' : 'unready';
        this.reconcile();
      },
      unhealthy: (failures) => {
        if (slot.live !== live || (slot.phase !== 'ready' && slot.phase !== 'unready')) return;
        this.note(slot, `replica ${slot.index} failed its liveness probe ${failures} times (failure_threshold ${slot.spec.liveness_probe.failure_threshold}); stopping it`);
        live.ready = false;
        slot.phase = 'unhealthy';
        this.reconcile();
      },
    }, probes);
    void handle.exited.then((exit) => {
      if (slot.handle !== handle || (slot.phase !== 'ready' && slot.phase !== 'unready')) return;
      slot.stopProbes?.();
      live.ready = false;
      this.note(slot, `replica ${slot.index} exited (code ${exit.code}, signal ${exit.signal})`);
      this.ended(slot);
      this.reconcile();
    });
  }

  /** A replica that was running has ended: it restarts after the backoff (the plan decides when). */
  private ended(slot: Slot): void {
    slot.phase = 'exited';
    // Ran long enough since it became ready: its backoff starts over (BACKOFF_RESET_MS).
    if (slot.readySince !== undefined && this.now() - slot.readySince >= BACKOFF_RESET_MS) slot.restarts = 0;
    slot.readySince = undefined;
    slot.restarts += 1;
    slot.lastDelayMs = this.delay(slot.restarts);
    slot.retryAt = this.now() + slot.lastDelayMs;
    this.note(slot, `restarting replica ${slot.index} in ${slot.lastDelayMs / 1000} s (restart ${slot.restarts})`);
  }

  private async recycle(slot: Slot): Promise<void> {
    slot.phase = 'stopping';
    slot.stopProbes?.();
    if (slot.live) slot.live.ready = false;
    await slot.handle?.stop().catch(() => undefined);
    if (slot.stopped) return;
    this.ended(slot);
    this.reconcile();
  }

  /** Stops a slot for good (idempotent) and forgets it once its replica is gone. */
  private stopSlot(slot: Slot): Promise<void> {
    slot.phase = 'stopping';
    slot.stopProbes?.();
    if (slot.live) slot.live.ready = false;
    slot.stopped ??= (async () => {
      // A start under way notices the stop and returns; its handle (if any) is stopped here.
      await slot.starting;
      await slot.handle?.stop().catch((error: Error) => this.options.log(`${slot.endpoint}/${slot.deployment}: stopping replica ${slot.index} failed: ${error.message}`));
    })().finally(() => {
      this.slots.delete(slot.id);
      this.reconcile();
    });
    return slot.stopped;
  }

  private discard(found: FoundReplica): void {
    const id = deploymentKey(found.endpoint, found.deployment);
    const runtime = this.options.runtimes[found.runtime];
    const set = this.discarding.get(id) ?? new Set();
    this.discarding.set(id, set);
    const work = (runtime ? runtime.discardReplica(found) : Promise.resolve())
      .catch((error: Error) => this.options.log(`${id}: could not stop replica ${found.index} (${found.id}): ${error.message}`))
      .finally(() => {
        set.delete(work);
        if (set.size === 0) this.discarding.delete(id);
        this.reconcile();
      });
    set.add(work);
  }

  /** Replicas that serve a deployment: the new configuration once complete, the old one until then. */
  private serving(id: string): Slot[] {
    const entry = this.deployments.get(id);
    const mine = this.slotsOf(id).filter((slot) => slot.phase !== 'stopping' || slot.live?.ready);
    if (!entry) return mine.filter((slot) => slot.live);
    const current = mine.filter((slot) => slot.generation === entry.desired.generation);
    const older = mine.filter((slot) => slot.generation !== entry.desired.generation && slot.served);
    if (entry.desired.status === 'steady' || older.length === 0) return current;
    if (older.some((slot) => slot.live?.ready) || !current.some((slot) => slot.live?.ready)) return older;
    return current;
  }

  private slotsOf(id: string): Slot[] {
    return [...this.slots.values()].filter((slot) => deploymentKey(slot.endpoint, slot.deployment) === id).sort(bySlotOrder);
  }

  private hasReady(id: string): boolean {
    return this.serving(id).some((slot) => slot.live?.ready);
  }

  /** A replica of the deployment may become ready soon: worth a request's wait. */
  private coming(id: string): boolean {
    const entry = this.deployments.get(id);
    if (!entry || this.closing) return false;
    const { status } = entry.desired;
    if (status === 'failing' || status === 'failed') return false;
    return this.problem(entry.desired.endpoint, entry.desired.deployment) === undefined;
  }

  private notify(): void {
    for (const waiter of this.readyWaiters) {
      const ready = this.hasReady(waiter.key);
      if (!ready && this.coming(waiter.key)) continue;
      clearTimeout(waiter.timer);
      this.readyWaiters.delete(waiter);
      waiter.resolve(ready);
    }
    for (const waiter of this.drainWaiters) {
      if (this.slotsOf(waiter.key).length > 0 || this.discarding.has(waiter.key)) continue;
      // Replicas an earlier daemon left may still turn up (or wait for their discard step).
      if (this.observing.size > 0 || this.hasFound(waiter.key)) continue;
      this.drainWaiters.delete(waiter);
      waiter.resolve();
    }
  }

  private hasFound(id: string): boolean {
    for (const found of this.found.values()) if (deploymentKey(found.endpoint, found.deployment) === id) return true;
    return false;
  }

  private drained(id: string): Promise<void> {
    return new Promise((resolve) => {
      this.drainWaiters.add({ key: id, resolve });
      this.notify();
    });
  }

  /** A replica of another generation of this deployment listens on the debug port the intent wants. */
  private holdsDebugPort(id: string, intent: DeploymentIntent): boolean {
    if (!intent.debug) return false;
    return this.slotsOf(id).some((slot) => slot.generation !== intent.generation && slot.debug?.port === intent.debug!.port);
  }

  /** A found replica that is one of ours already (a container adopted by label meanwhile). */
  private isHeld(found: FoundReplica): boolean {
    return [...this.slots.values()].some((slot) => slot.handle?.id === found.id && slot.runtime.kind === found.runtime);
  }

  /**
   * Tells what happened to a replica: in the daemon's log, and in the replica's own log as an
   * `oep:` line, so `get-logs` (and `--follow`) show why the server restarted.
   */
  private note(slot: Slot, line: string): void {
    this.options.log(`${slot.endpoint}/${slot.deployment}: ${line}`);
    appendFileNoFollow(this.logFile(slot.endpoint, slot.deployment, slot.index), `${new Date().toISOString()} oep: ${line}\n`).catch(() => undefined);
  }
}

/** The replica-log line for a readiness change: why requests stop (or start again) going to it. */
function describeReadiness(slot: Slot, ready: boolean): string {
  const probe = slot.spec.readiness_probe;
  return ready
    ? `replica ${slot.index} passed its readiness probe ${probe.success_threshold} time${probe.success_threshold === 1 ? '' : 's'} (success_threshold ${probe.success_threshold}); back in rotation`
    : `replica ${slot.index} failed its readiness probe ${probe.failure_threshold} times (failure_threshold ${probe.failure_threshold}); out of rotation until it passes`;
}

function observedOf(slot: Slot): ObservedReplica {
  return {
    endpoint: slot.endpoint,
    deployment: slot.deployment,
    index: slot.index,
    generation: slot.generation,
    phase: slot.phase,
    served: slot.served,
    restarts: slot.restarts,
    ...(slot.retryAt !== undefined && { retryAt: slot.retryAt }),
  };
}

function bySlotOrder(a: Slot, b: Slot): number {
  return a.index - b.index || a.generation - b.generation;
}

function slotId(ref: { endpoint: string; deployment: string; index: number; generation: number }): string {
  return `${ref.endpoint}/${ref.deployment}#${ref.index}@${ref.generation}`;
}
