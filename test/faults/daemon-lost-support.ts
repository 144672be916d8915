import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventually, OEP_BIN, REPO_ROOT, TEST_IMAGE_MAP, type OepSandbox, type RunResult } from '../e2e/harness.js';
import { daemonPid, killDaemonHard, scoringServersOf } from './replica-support.js';

/**
 * kill -9 of the daemon while `oep deployment update` waits on it (issue 25 point 6): what the CLI
 * says, and whether what it says about the update is true. Shared by
 * test/faults/daemon-lost.test.ts and bench/daemon-lost.ts (which also runs an older build's CLI:
 * `bin`).
 */

/** When the daemon is killed: `ms` after the CLI starts, or once a replica of the update runs (it was accepted then). */
export type KillPoint = number | 'new-replica';

export interface LostRound extends RunResult {
  round: number;
  kill: KillPoint;
  /** The daemon was killed while the CLI ran (not after it had returned). */
  killed: boolean;
  /** "oep hit an unexpected problem" or a stack trace line on stderr. */
  crashed: boolean;
  /**
   * What the CLI said of the update: recorded, not recorded, or nothing (it did not lose the
   * daemon). 'read' when the daemon went during the read `update -n -e --set` makes first (of the
   * deployment's configuration), before the update was sent: "Nothing was changed".
   */
  claim: 'recorded' | 'not recorded' | 'read' | 'not known' | 'none';
  /** Whether the deployment, once settled, runs this round's update. */
  applied: boolean;
}

/** Runs a CLI (`bin`: this checkout's by default) as OepSandbox does. */
export function runOep(oep: OepSandbox, args: string[], bin = OEP_BIN): { exited: Promise<RunResult> } {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, NO_COLOR: '1', OEP_HOME: oep.home, OEP_IMAGE_MAP: TEST_IMAGE_MAP, ...oep.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<RunResult>((resolve) => child.once('close', (code) => resolve({ code: code ?? 1, stdout, stderr })));
  return { exited };
}

/**
 * One round: `deployment update` of blue (endpoint rollout) with ROUND=`round`, the daemon killed
 * at `kill`; then waits until the deployment has settled and reads which ROUND it runs.
 */
export async function updateKilled(oep: OepSandbox, round: number, kill: KillPoint, bin = OEP_BIN): Promise<LostRound> {
  const command = runOep(oep, ['deployment', 'update', '-n', 'blue', '-e', 'rollout', '--set', `environment_variables.ROUND="${round}"`, '-o', 'none'], bin);
  let done = false;
  const exited = command.exited.then((result) => {
    done = true;
    return result;
  });
  if (kill === 'new-replica') {
    await eventually(`a replica of round ${round} (or the command's end)`, async () => (done || runsRound(oep, round) ? true : undefined), 60_000);
  } else {
    await sleep(kill);
    await eventually('a daemon to kill', async () => (done || daemonPid(oep) !== undefined ? true : undefined), 30_000);
  }
  const killed = !done && daemonPid(oep) !== undefined;
  if (killed) await killDaemonHard(oep);
  const result = await exited;
  const state = await settledRound(oep, bin);
  return {
    ...result,
    round,
    kill,
    killed,
    crashed: /this is a bug|^\s+at /m.test(result.stderr),
    claim: claimOf(result.stderr),
    applied: state === String(round),
  };
}

/** A scoring server of this sandbox that runs the given round's configuration. */
function runsRound(oep: OepSandbox, round: number): boolean {
  return scoringServersOf(oep.home).some((pid) => {
    try {
      return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`ROUND=${round}`);
    } catch {
      return false;
    }
  });
}

/** Waits until blue is Succeeded (a restarted daemon finishes a recorded update), then its ROUND. */
async function settledRound(oep: OepSandbox, bin: string): Promise<string> {
  return eventually(
    'blue to settle',
    async () => {
      const shown = await runOep(oep, ['deployment', 'show', '-n', 'blue', '-e', 'rollout', '--query', '[provisioning_state, environment_variables.ROUND]', '-o', 'tsv'], bin).exited;
      const [state, value] = shown.stdout.trim().split(/\s+/);
      return shown.code === 0 && state === 'Succeeded' ? (value ?? '') : undefined;
    },
    120_000,
  );
}

function claimOf(stderr: string): LostRound['claim'] {
  if (/^ {2}The update was recorded/m.test(stderr)) return 'recorded';
  if (/^ {2}The update was not recorded/m.test(stderr)) return 'not recorded';
  if (/^error: The oep daemon stopped answering during a read of deployment blue's configuration \(endpoint rollout\)\.\n {2}Nothing was changed by this command\.$/m.test(stderr)) return 'read';
  if (/OEP_ERR_DAEMON_LOST/.test(stderr)) return 'not known';
  return 'none';
}

/** A round whose message is wrong about the update, or that crashed: one line saying why, else undefined. */
export function faultOf(outcome: LostRound): string | undefined {
  if (outcome.crashed) return 'crashed (stack trace)';
  if (outcome.code === 0) return outcome.applied ? undefined : 'exit 0 but the update is not applied';
  if (outcome.code !== 1 || !/\(OEP_ERR_DAEMON_LOST\)\n$/.test(outcome.stderr)) return `exit ${outcome.code} without OEP_ERR_DAEMON_LOST`;
  if (outcome.claim === 'read') return outcome.applied ? 'said "Nothing was changed" but the update is applied' : undefined;
  if (!/^error: The oep daemon stopped answering during deployment update \(deployment blue of endpoint rollout\)\.$/m.test(outcome.stderr)) return 'no "stopped answering during deployment update"';
  if (!outcome.stderr.includes('See the outcome with: oep deployment show -n blue -e rollout --query provisioning_state')) return 'no command that shows the outcome';
  if (outcome.claim === 'not known') return 'did not say whether the update was recorded';
  if ((outcome.claim === 'recorded') !== outcome.applied) return `said "${outcome.claim}" but the update is ${outcome.applied ? '' : 'not '}applied`;
  return undefined;
}
