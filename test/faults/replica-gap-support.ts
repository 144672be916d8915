/**
 * Every replica of a deployment killed at once under a client's load (issue 25 point 4): what the
 * client is answered in the window, and how long until a restarted replica answers. Shared by
 * test/faults/replica-gap.test.ts and bench/replica-gap.ts.
 */
import { isRunning, readRecords } from '../../src/runtimes/process/replica-records.js';
import { oepPaths } from '../../src/state/paths.js';
import { eventually } from '../e2e/harness.js';
import { loadLoop, type Outcome } from './replica-support.js';

/** The running scoring servers of a process-runtime deployment, from the replica records under OEP_HOME/run/. */
export async function replicaPids(home: string, endpoint: string, deployment: string): Promise<number[]> {
  const records = await readRecords(oepPaths(home));
  return records
    .map(({ record }) => record)
    .filter((record) => record.endpoint === endpoint && record.deployment === deployment && record.pid !== undefined && isRunning(record.pid, record.startTime))
    .map((record) => record.pid!)
    .sort((a, b) => a - b);
}

/** SIGKILL to each replica's process group (server and workers), one after the other in the same tick: they die at once. */
export function killAtOnce(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

export interface GapRun {
  /** ms since the load started when the replicas were killed. */
  killedAt: number;
  /**
   * ms from the kill to the first 200 for a request sent after it (answered by a restarted
   * replica, as the killed ones could not answer it); undefined when none came.
   */
  gapMs?: number;
  /** Every answer from the kill until that 200 (sent before and answered after the kill, or sent after), by status or error code. */
  window: Record<string, number>;
  /** Answers other than 200 in the whole run, by status or error code. */
  failures: Record<string, number>;
  /** The distinct bodies of each kind of answer other than 200. */
  bodies: Record<string, string[]>;
  requests: number;
}

export interface GapOptions {
  uri: string;
  key: string;
  pids: readonly number[];
  /** Client loops sending one request after the other (default 2). */
  parallel?: number;
  /** Requests in all, at most (default 20,000). */
  maxRequests?: number;
  /** Answers to wait for after the first 200 before stopping (default 20). */
  after?: number;
  /** How long to wait for each stage at most (default 60 s): a bound on the loop, never a figure asserted. */
  boundMs?: number;
}

/** Runs the load, kills `pids` at once once 20 answers came, and stops once a restarted replica answered and `after` more came. */
export async function killUnderLoad(options: GapOptions): Promise<GapRun> {
  const bound = options.boundMs ?? 60_000;
  const load = loadLoop(options.uri, options.key, { parallel: options.parallel ?? 2, maxRequests: options.maxRequests ?? 20_000 });
  let killedAt = -1;
  try {
    await eventually('20 answers before the kill', async () => (load.outcomes.length >= 20 ? true : undefined), bound);
    killAtOnce(options.pids);
    killedAt = Date.now() - load.startedAt;
    const first = await eventually('a 200 for a request sent after the kill', async () => firstAfter(load.outcomes, killedAt), bound).catch(() => undefined);
    if (first) {
      const wanted = options.after ?? 20;
      await eventually(`${wanted} answers after the first 200`, async () => (load.outcomes.filter((outcome) => outcome.at > first.answeredAt).length >= wanted ? true : undefined), bound).catch(() => undefined);
    }
  } finally {
    await load.stop();
  }
  return summarize(load.outcomes, killedAt);
}

function firstAfter(outcomes: readonly Outcome[], killedAt: number): Outcome | undefined {
  let first: Outcome | undefined;
  for (const outcome of outcomes) {
    if (outcome.result !== 200 || outcome.at < killedAt) continue;
    if (!first || outcome.answeredAt < first.answeredAt) first = outcome;
  }
  return first;
}

export function summarize(outcomes: readonly Outcome[], killedAt: number): GapRun {
  const first = firstAfter(outcomes, killedAt);
  const end = first?.answeredAt ?? Infinity;
  const window: Record<string, number> = {};
  const failures: Record<string, number> = {};
  const bodies: Record<string, string[]> = {};
  for (const outcome of outcomes) {
    const kind = String(outcome.result);
    if (outcome.answeredAt >= killedAt && outcome.answeredAt <= end) window[kind] = (window[kind] ?? 0) + 1;
    if (outcome.result === 200) continue;
    failures[kind] = (failures[kind] ?? 0) + 1;
    const seen = (bodies[kind] ??= []);
    if (!seen.includes(outcome.body ?? '')) seen.push(outcome.body ?? '');
  }
  return { killedAt, gapMs: first && first.answeredAt - killedAt, window, failures, bodies, requests: outcomes.length };
}

/** "3 x 503, 41 x 200": counts by status, most first. */
export function describeCounts(counts: Record<string, number>): string {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  return entries.length === 0 ? 'none' : entries.map(([kind, count]) => `${count} x ${kind}`).join(', ');
}
