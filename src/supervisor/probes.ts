import type { DeploymentSpec, Probe } from '../spec/types.js';
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

/** Time and timers, passed in so that a test can run a probe schedule on a clock of its own. */
export interface ProbeClock {
  now: () => number;
  setTimeout: (run: () => void, ms: number) => unknown;
  clearTimeout: (timer: unknown) => void;
}

/** Sends one probe: resolves with the status, 0 when nothing answered in time, PROBE_NOT_SENT when it could not be sent. */
export type SendProbe = (url: string, timeoutMs: number) => Promise<number>;

export interface WatchProbesOptions {
  /** How long the replica has run already (ms): each probe's initial_delay counts from its start. */
  runningForMs?: number;
  clock?: ProbeClock;
  send?: SendProbe;
}

const REAL_CLOCK: ProbeClock = {
  now: () => Date.now(),
  setTimeout: (run, ms) => setTimeout(run, ms),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

/**
 * Probes a ready replica as the cloud (a kubelet) does: readiness and liveness each on their own
 * schedule (initial_delay, period, timeout, thresholds), never one at the other's pace.
 * Readiness takes the replica out of rotation and back; liveness failing failure_threshold times
 * in a row reports it unhealthy (the plan then restarts it) and ends all probing.
 * Returns a function that stops the probing.
 */
export function watchProbes(
  target: ReplicaTarget,
  spec: Pick<DeploymentSpec, 'liveness_probe' | 'readiness_probe'>,
  isReady: () => boolean,
  report: ProbeReport,
  options: WatchProbesOptions = {},
): () => void {
  const schedule = { clock: options.clock ?? REAL_CLOCK, send: options.send ?? probeOnce, runningForMs: options.runningForMs ?? 0 };
  const readiness = spec.readiness_probe;
  const liveness = spec.liveness_probe;
  const readinessRun = new ResultRun();
  const livenessRun = new ResultRun();
  const stops: (() => void)[] = [];
  const stopAll = (): void => stops.forEach((stop) => stop());

  stops.push(
    repeatProbe(target.origin + target.readinessPath, readiness, schedule, (passed) => {
      const run = readinessRun.add(passed);
      if (passed && run >= readiness.success_threshold && !isReady()) report.readiness(true);
      if (!passed && run >= readiness.failure_threshold && isReady()) report.readiness(false);
    }, report),
  );
  stops.push(
    repeatProbe(target.origin + target.livenessPath, liveness, schedule, (passed) => {
      const run = livenessRun.add(passed);
      if (passed || run < liveness.failure_threshold) return;
      stopAll();
      report.unhealthy(run);
    }, report),
  );
  return stopAll;
}

/**
 * How many results in a row were the same (a kubelet's lastResult and resultRun). Only a
 * run of failures counts towards failure_threshold and only a run of passes towards
 * success_threshold: one pass resets the failures.
 */
class ResultRun {
  private last: boolean | undefined;
  private run = 0;

  /** Records one result; returns the length of the run it belongs to. */
  add(passed: boolean): number {
    if (passed === this.last) {
      this.run += 1;
    } else {
      this.last = passed;
      this.run = 1;
    }
    return this.run;
  }
}

interface Schedule {
  clock: ProbeClock;
  send: SendProbe;
  runningForMs: number;
}

/**
 * Runs one probe: the first `initial_delay` after the replica started, then one every `period`,
 * each given `timeout` to answer 200. As with a kubelet's ticker, a probe never overlaps the one
 * before: one that takes longer than the period is followed by the next at once. A probe that
 * could not be sent counts neither way. Returns a function that stops it; an answer that comes
 * after the stop is dropped.
 */
function repeatProbe(url: string, probe: Probe, schedule: Schedule, record: (passed: boolean) => void, report: ProbeReport): () => void {
  const { clock, send } = schedule;
  let stopped = false;
  let timer: unknown;
  const runOnce = async (): Promise<void> => {
    const sentAt = clock.now();
    const status = await send(url, probe.timeout * 1000);
    if (stopped) return;
    if (status === PROBE_NOT_SENT) report.notSent?.();
    else record(status === 200);
    // record() may have stopped every probe (a liveness failure past its threshold).
    if (stopped) return;
    timer = clock.setTimeout(() => void runOnce(), Math.max(0, sentAt + probe.period * 1000 - clock.now()));
  };
  timer = clock.setTimeout(() => void runOnce(), Math.max(0, probe.initial_delay * 1000 - schedule.runningForMs));
  return () => {
    stopped = true;
    clock.clearTimeout(timer);
  };
}
