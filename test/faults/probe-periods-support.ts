import { join } from 'node:path';
import { eventually, type OepSandbox } from '../e2e/harness.js';
import { ROLLOUT_FIXTURE } from './replica-support.js';

/**
 * A replica that stops answering (issue 25 point 7), shared by test/faults/probe-periods.test.ts
 * and bench/probe-periods.ts: readiness and liveness on different periods, the replica's process
 * group stopped with SIGSTOP (its port still accepts connections, nothing answers: probes time
 * out, as with a deadlocked server), and the moments the daemon acted, read from the replica's
 * log (`oep deployment get-logs`), where the daemon writes them with a millisecond timestamp.
 */

/** Readiness every second; liveness every 5 s, 3 failures in a row. Readiness's 6 failures also bound the start (1 + 1 x 6 s). */
export const PROBE_SETTINGS = {
  readiness: { initial_delay: 1, period: 1, timeout: 1, failure_threshold: 6 },
  liveness: { initial_delay: 1, period: 5, timeout: 1, failure_threshold: 3 },
};

/** The earliest a kubelet's liveness worker can end a replica after it stops answering: (failure_threshold - 1) x period. */
export const LIVENESS_LOWER_BOUND_MS = (PROBE_SETTINGS.liveness.failure_threshold - 1) * PROBE_SETTINGS.liveness.period * 1000;

/** What these steps need of a CLI: the test's sandbox, or the bench's CLI of another tree. */
export type Cli = Pick<OepSandbox, 'ok'>;

interface Shown {
  replicas: { pid: number | null; ready: boolean }[];
}

/** The `--set` arguments of PROBE_SETTINGS. */
function probeFlags(): string[] {
  const flags: string[] = [];
  for (const [name, settings] of Object.entries(PROBE_SETTINGS)) {
    for (const [key, value] of Object.entries(settings)) flags.push('--set', `${name}_probe.${key}=${value}`);
  }
  return flags;
}

/** The rollout fixture's endpoint and blue deployment with one process replica and PROBE_SETTINGS. */
export async function createProbedDeployment(oep: Cli): Promise<void> {
  await oep.ok(['endpoint', 'create', '-f', join(ROLLOUT_FIXTURE, 'endpoint.yml'), '-o', 'none']);
  await oep.ok(['deployment', 'create', '-f', join(ROLLOUT_FIXTURE, 'blue.yml'), '--all-traffic', '--runtime', 'process', '--set', 'instance_count=1', ...probeFlags(), '-o', 'none']);
}

/** The pid of blue's replica once it is ready. */
export async function readyReplicaPid(oep: Cli): Promise<number> {
  return eventually("blue's replica to be ready", async () => {
    const shown = JSON.parse(await oep.ok(['deployment', 'show', '-n', 'blue', '-e', 'rollout'])) as Shown;
    const replica = shown.replicas[0];
    return replica?.ready && replica.pid ? replica.pid : undefined;
  }, 60_000);
}

export interface UnansweredReplica {
  /** When the replica stopped answering (ms since the epoch, just before the SIGSTOP). */
  stoppedAt: number;
  /** When the daemon took it out of rotation (its readiness failed failure_threshold times), if it did before the restart. */
  outOfRotationAt: number | undefined;
  /** When the daemon gave up on it (its liveness failed failure_threshold times). */
  livenessFailedAt: number;
  /** The replacement's pid, once it is ready. */
  replacement: number;
  /** When the replacement was first seen ready (polled with `deployment show`: an upper bound). */
  replacedAt: number;
  /** The replica-log lines from the SIGSTOP on, for a failure message. */
  log: string[];
}

/** Stops blue's replica answering and waits until the daemon has replaced it; when each thing happened. */
export async function stopAnswering(oep: Cli, pid: number): Promise<UnansweredReplica> {
  const stoppedAt = Date.now();
  // The replica leads a process group of its own (its workers are in it): stop all of it.
  process.kill(-pid, 'SIGSTOP');
  const log = await eventually(
    'the liveness probe to fail',
    async () => {
      const lines = await replicaLogSince(oep, stoppedAt);
      return lines.some((line) => line.includes('failed its liveness probe')) ? lines : undefined;
    },
    120_000,
  );
  const replacement = await eventually('a new replica to be ready', async () => {
    const now = await readyReplicaPid(oep);
    return now !== pid ? now : undefined;
  }, 120_000);
  const replacedAt = Date.now();
  const outOfRotationAt = timeOf(log, 'failed its readiness probe');
  return { stoppedAt, outOfRotationAt, livenessFailedAt: timeOf(log, 'failed its liveness probe')!, replacement, replacedAt, log };
}

/** The daemon's `oep:` lines in blue's replica log stamped at `since` or later. */
async function replicaLogSince(oep: Cli, since: number): Promise<string[]> {
  const text = await oep.ok(['deployment', 'get-logs', '-n', 'blue', '-e', 'rollout']);
  return text.split('\n').filter((line) => {
    const match = /^(\S+) oep: /.exec(line);
    return match !== null && Date.parse(match[1]!) >= since;
  });
}

/** The timestamp (ms) of the first line that holds `text`. */
function timeOf(lines: string[], text: string): number | undefined {
  const line = lines.find((entry) => entry.includes(text));
  return line === undefined ? undefined : Date.parse(line.split(' ')[0]!);
}
