import { OepError } from '../errors.js';
import type { LiveReplica } from '../router/router.js';
import type { DeploymentSpec } from '../spec/types.js';
import { deploymentLogDir, type OepPaths } from '../state/paths.js';
import type { RuntimeKind } from '../state/types.js';
import type { EmitProgress, ReplicaExit, ReplicaHandle, Runtime } from '../runtimes/types.js';
import { extractTraceback, readLogTail } from '../telemetry/log-tail.js';
import { probeOnce } from './readiness.js';
import { localPathPairs, toLocalPaths } from '../model/layout.js';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';

export type { LiveReplica };

/** The scoring server's exit code when the script cannot be loaded or its init() fails (as azmlinfsrv). */
const EXIT_INIT_FAILED = 3;
/** The line oep's scoring server writes before the traceback when importing the script fails (server/oep_server.py). */
const LOAD_FAILED_MARK = 'oep-server: loading the entry script failed:';

interface ReplicaSlot extends LiveReplica {
  index: number;
  handle: ReplicaHandle;
  restarts: number;
  stopping: boolean;
  stopped?: Promise<void>;
  probeTimer?: NodeJS.Timeout;
}

interface Group {
  endpoint: string;
  deployment: string;
  spec: DeploymentSpec;
  runtime: Runtime;
  generation: number;
  replicas: ReplicaSlot[];
  stopped: boolean;
}

export interface DeployRequest {
  endpoint: string;
  spec: DeploymentSpec;
  runtime: RuntimeKind;
  generation: number;
  emit: EmitProgress;
}

export interface SupervisorOptions {
  paths: OepPaths;
  runtimes: Partial<Record<RuntimeKind, Runtime>>;
  log: (line: string) => void;
  /** How often readiness is polled while a replica starts (ms). */
  startPollMs?: number;
}

const MAX_BACKOFF_MS = 30_000;
const LOG_TAIL_LINES = 30;

/**
 * Keeps each deployment's replicas running: starts them and waits for readiness, probes them,
 * restarts what dies (with backoff) and replaces a deployment's replicas only once the new ones
 * are ready, so updates do not drop requests.
 */
export class Supervisor {
  private readonly groups = new Map<string, Group>();
  /** Groups whose replicas are still starting: a stop must reach them too, or they would leak. */
  private readonly starting = new Set<Group>();

  constructor(private readonly options: SupervisorOptions) {}

  /** Ready replicas of a deployment, for the router. */
  replicas(endpoint: string, deployment: string): readonly LiveReplica[] {
    return this.groups.get(key(endpoint, deployment))?.replicas ?? [];
  }

  /** Every replica's readiness and restart count, for metrics. */
  health(): { endpoint: string; deployment: string; replica: string; ready: boolean; restarts: number }[] {
    return [...this.groups.values()].flatMap((group) =>
      group.replicas.map((slot) => ({
        endpoint: group.endpoint,
        deployment: group.deployment,
        replica: String(slot.index),
        ready: slot.ready,
        restarts: slot.restarts,
      })),
    );
  }

  logFile(endpoint: string, deployment: string, replica = 0): string {
    return join(deploymentLogDir(this.options.paths, endpoint, deployment), `replica-${replica}.log`);
  }

  /**
   * Starts `instance_count` replicas of the new configuration and waits until each answers its
   * readiness route. Only then are the old replicas (if any) stopped. On failure the new
   * replicas are stopped, the old ones keep serving, and the error says which phase failed.
   */
  async deploy(request: DeployRequest): Promise<void> {
    const runtime = this.runtimeFor(request.runtime);
    const group: Group = {
      endpoint: request.endpoint,
      deployment: request.spec.name,
      spec: request.spec,
      runtime,
      generation: request.generation,
      replicas: [],
      stopped: false,
    };
    const count = request.spec.instance_count;
    // startReady adds each replica to group.replicas as soon as it exists. Wait for every
    // start to settle, so a failure of one also stops those still starting.
    this.starting.add(group);
    const outcomes = await Promise.allSettled(Array.from({ length: count }, (_, index) => this.startReady(group, index, request.emit)));
    this.starting.delete(group);
    const failed = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    if (failed || group.stopped) {
      const stoppedMeanwhile = group.stopped;
      group.stopped = true;
      await Promise.all(group.replicas.map((slot) => this.stopSlot(slot)));
      if (stoppedMeanwhile) {
        throw new OepError('OEP_ERR_DEPLOYMENT_FAILED', `Deployment ${group.deployment} was stopped while it was starting (deleted, or the daemon is stopping).`);
      }
      throw failed!.reason;
    }
    group.replicas.sort((a, b) => a.index - b.index);
    const previous = this.groups.get(key(group.endpoint, group.deployment));
    if (previous && previous.generation > group.generation) {
      // A newer configuration went live while this one was starting (say, an update during the
      // restore after a daemon restart): this one is stale and must not replace it.
      group.stopped = true;
      await Promise.all(group.replicas.map((slot) => this.stopSlot(slot)));
      throw new OepError(
        'OEP_ERR_DEPLOYMENT_FAILED',
        `Deployment ${group.deployment}: configuration ${group.generation} was replaced by configuration ${previous.generation} while it was starting.`,
      );
    }
    this.groups.set(key(group.endpoint, group.deployment), group);
    for (const slot of group.replicas) this.watch(group, slot);
    if (previous) await this.stopGroup(previous);
  }

  async stop(endpoint: string, deployment: string): Promise<void> {
    const starting = [...this.starting].filter((group) => group.endpoint === endpoint && group.deployment === deployment);
    const group = this.groups.get(key(endpoint, deployment));
    this.groups.delete(key(endpoint, deployment));
    const all = group ? [group, ...starting] : starting;
    if (all.length === 0) return;
    await Promise.all(all.map((each) => this.stopGroup(each)));
    await all[0]!.runtime.cleanup(endpoint, deployment);
  }

  async stopAll(): Promise<void> {
    const all = [...this.groups.values(), ...this.starting];
    this.groups.clear();
    await Promise.all(all.map((group) => this.stopGroup(group)));
  }

  private runtimeFor(kind: RuntimeKind): Runtime {
    const runtime = this.options.runtimes[kind];
    if (!runtime) {
      throw new OepError('OEP_ERR_RUNTIME_UNAVAILABLE', `The ${kind} runtime is not available in this daemon.`);
    }
    return runtime;
  }

  private async startReady(group: Group, index: number, emit: EmitProgress, track = true): Promise<ReplicaSlot> {
    const logFile = this.logFile(group.endpoint, group.deployment, index);
    emit({ phase: 'start', message: `starting replica ${index} of ${group.deployment}` });
    const startedAt = Date.now();
    let handle: ReplicaHandle;
    try {
      handle = await group.runtime.startReplica({
        endpoint: group.endpoint,
        deployment: group.deployment,
        replica: index,
        spec: group.spec,
        generation: group.generation,
        logFile,
        emit,
      });
    } catch (error) {
      if (error instanceof OepError) throw error;
      throw await this.failure(group, 'start', `could not start replica ${index}: ${(error as Error).message}`, logFile);
    }
    const slot: ReplicaSlot = {
      id: handle.id,
      origin: handle.target.origin,
      pid: handle.pid,
      scoringPath: handle.target.scoringPath,
      ready: false,
      inflight: 0,
      index,
      handle,
      restarts: 0,
      stopping: false,
    };
    if (track) group.replicas.push(slot);
    if (group.stopped) {
      // Stopped while the runtime was starting this one: the stop could not see it yet.
      await this.stopSlot(slot);
      throw new OepError('OEP_ERR_DEPLOYMENT_FAILED', `Deployment ${group.deployment} was stopped while it was starting.`);
    }
    emit({ phase: 'init', message: `waiting for replica ${index} of ${group.deployment} to be ready` });
    await this.waitReady(group, slot, logFile);
    emit({ phase: 'ready', message: `replica ${index} of ${group.deployment} ready in ${Date.now() - startedAt} ms` });
    return slot;
  }

  private async waitReady(group: Group, slot: ReplicaSlot, logFile: string): Promise<void> {
    const probe = group.spec.readiness_probe;
    // The cloud's own budget: the initial delay, then failure_threshold failed periods.
    const budgetSeconds = probe.initial_delay + probe.period * probe.failure_threshold;
    const deadline = Date.now() + budgetSeconds * 1000;
    const url = slot.handle.target.origin + slot.handle.target.readinessPath;
    const pollMs = this.options.startPollMs ?? 50;
    let exit: ReplicaExit | undefined;
    void slot.handle.exited.then((value) => (exit = value));
    for (;;) {
      if (exit) {
        if (exit.error) throw await this.failure(group, 'start', `the scoring server did not start: ${exit.error}.`, logFile);
        const how = exit.signal ? `was ended (${exit.signal})` : `exited with code ${exit.code}`;
        if (exit.code !== EXIT_INIT_FAILED) throw await this.failure(group, 'start', `the scoring server did not start: replica ${slot.index} ${how} before it was ready.`, logFile);
        // Exit 3 is azmlinfsrv's "the script failed": loading it (import, syntax) or its init().
        const loadError = await this.loadError(logFile);
        if (loadError) throw await this.failure(group, 'load', `the scoring script could not be loaded: ${loadError}`, logFile);
        throw await this.failure(group, 'init', `init() of the scoring script failed: replica ${slot.index} ${how} before it was ready.`, logFile);
      }
      const status = await probeOnce(url, probe.timeout * 1000);
      if (status === 200) {
        slot.ready = true;
        return;
      }
      if (Date.now() > deadline) {
        await slot.handle.stop();
        throw await this.failure(
          group,
          'probe',
          `replica ${slot.index} did not answer ${slot.handle.target.readinessPath} with 200 within ${budgetSeconds} s (readiness_probe: initial_delay + period x failure_threshold).`,
          logFile,
        );
      }
      await sleep(pollMs);
    }
  }

  /** The server's one-line summary of an import or syntax error, when loading the script failed. */
  private async loadError(logFile: string): Promise<string | undefined> {
    await sleep(50);
    const lines = (await readLogTail(logFile, 400)).split('\n');
    for (let i = lines.length - 1; i >= 0; i--) {
      const at = lines[i]!.indexOf(LOAD_FAILED_MARK);
      if (at >= 0) return lines[i]!.slice(at + LOAD_FAILED_MARK.length).trim();
    }
    return undefined;
  }

  private async failure(group: Group, phase: string, rawMessage: string, logFile: string): Promise<OepError> {
    // Give the process a moment to flush its last lines before reading them.
    await sleep(50);
    // Name the user's files, not the paths inside the replica.
    const pairs = localPathPairs(group.spec);
    const message = toLocalPaths(rawMessage, pairs);
    const tail = toLocalPaths(await readLogTail(logFile, LOG_TAIL_LINES), pairs);
    const details: string[] = [];
    const traceback = extractTraceback(tail) ?? extractTraceback(toLocalPaths(await readLogTail(logFile, 400), pairs));
    if (traceback) details.push('Python traceback:', ...traceback.split('\n').map((line) => `  ${line}`));
    details.push(`Last lines of the log (${logFile}):`, ...(tail ? tail.split('\n').map((line) => `  ${line}`) : ['  (empty)']));
    return new OepError('OEP_ERR_DEPLOYMENT_FAILED', `Deployment ${group.deployment} failed in phase "${phase}": ${message}`, {
      hint: `See the whole log with: oep deployment get-logs -n ${group.deployment} -e ${group.endpoint}`,
      details,
    });
  }

  /** Probes a ready replica and restarts it when it dies or fails its liveness probe. */
  private watch(group: Group, slot: ReplicaSlot): void {
    void slot.handle.exited.then((exit) => {
      if (slot.stopping || group.stopped) return;
      slot.ready = false;
      this.note(group, slot, `replica ${slot.index} exited (code ${exit.code}, signal ${exit.signal})`);
      void this.restart(group, slot);
    });
    this.scheduleProbes(group, slot);
  }

  private scheduleProbes(group: Group, slot: ReplicaSlot): void {
    const liveness = group.spec.liveness_probe;
    const readiness = group.spec.readiness_probe;
    let livenessFailures = 0;
    let readinessFailures = 0;
    let readinessSuccesses = 0;
    const period = Math.min(liveness.period, readiness.period) * 1000;
    const tick = async (): Promise<void> => {
      if (slot.stopping || group.stopped) return;
      const target = slot.handle.target;
      const [live, ready] = await Promise.all([
        probeOnce(target.origin + target.livenessPath, liveness.timeout * 1000),
        target.readinessPath === target.livenessPath
          ? Promise.resolve(-1)
          : probeOnce(target.origin + target.readinessPath, readiness.timeout * 1000),
      ]);
      if (slot.stopping || group.stopped) return;
      const readyStatus = ready === -1 ? live : ready;
      livenessFailures = live === 200 ? 0 : livenessFailures + 1;
      if (readyStatus === 200) {
        readinessFailures = 0;
        readinessSuccesses += 1;
        if (!slot.ready && readinessSuccesses >= readiness.success_threshold) slot.ready = true;
      } else {
        readinessSuccesses = 0;
        readinessFailures += 1;
        if (readinessFailures >= readiness.failure_threshold) slot.ready = false;
      }
      if (livenessFailures >= liveness.failure_threshold) {
        this.note(group, slot, `replica ${slot.index} failed its liveness probe ${livenessFailures} times (failure_threshold ${liveness.failure_threshold}); stopping it`);
        slot.ready = false;
        slot.stopping = true;
        await slot.handle.stop();
        slot.stopping = false;
        void this.restart(group, slot);
        return;
      }
      slot.probeTimer = setTimeout(() => void tick(), period);
    };
    slot.probeTimer = setTimeout(() => void tick(), Math.max(readiness.initial_delay, 1) * 1000);
  }

  private async restart(group: Group, slot: ReplicaSlot): Promise<void> {
    clearTimeout(slot.probeTimer);
    while (!group.stopped && !slot.stopping) {
      const backoff = Math.min(1000 * 2 ** slot.restarts, MAX_BACKOFF_MS);
      slot.restarts += 1;
      this.note(group, slot, `restarting replica ${slot.index} in ${backoff / 1000} s (restart ${slot.restarts})`);
      await sleep(backoff);
      if (group.stopped) return;
      try {
        const fresh = await this.startReady(group, slot.index, () => undefined, false);
        if (group.stopped) {
          await fresh.handle.stop();
          return;
        }
        slot.handle = fresh.handle;
        slot.stopped = undefined;
        Object.assign(slot, { id: fresh.id, origin: fresh.origin, pid: fresh.pid, scoringPath: fresh.scoringPath });
        slot.inflight = 0;
        slot.ready = true;
        this.note(group, slot, `replica ${slot.index} restarted (restart ${slot.restarts})`);
        this.watch(group, slot);
        return;
      } catch (error) {
        this.note(group, slot, `replica ${slot.index} restart failed: ${(error as Error).message}`);
      }
    }
  }

  /**
   * Tells what the supervisor did to a replica: in the daemon's log, and in the replica's own log
   * as an `oep:` line, so `get-logs` (and `--follow`) show why the server restarted.
   */
  private note(group: Group, slot: ReplicaSlot, line: string): void {
    this.options.log(`${group.endpoint}/${group.deployment}: ${line}`);
    appendFile(this.logFile(group.endpoint, group.deployment, slot.index), `${new Date().toISOString()} oep: ${line}\n`).catch(() => undefined);
  }

  private async stopGroup(group: Group): Promise<void> {
    group.stopped = true;
    await Promise.all(group.replicas.map((slot) => this.stopSlot(slot)));
  }

  /** Idempotent: a slot stopped twice (a stop racing a failed start) stops its replica once. */
  private stopSlot(slot: ReplicaSlot): Promise<void> {
    slot.stopping = true;
    slot.ready = false;
    clearTimeout(slot.probeTimer);
    slot.stopped ??= slot.handle.stop();
    return slot.stopped;
  }
}

function key(endpoint: string, deployment: string): string {
  return `${endpoint}/${deployment}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
