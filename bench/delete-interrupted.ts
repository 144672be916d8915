/**
 * The daemon killed during a delete (issue 25 point 5: kill -9 during `endpoint delete` left an
 * endpoint Deleting for 30 s and more while it kept serving traffic and accepting updates). The
 * same tries against the daemon of an earlier commit (default f7fc91b, the code before the fix,
 * built in a git worktree) and the daemon of this tree, in the same run:
 * - a fresh OEP_HOME per try: endpoint `rollout` (test/fixtures/rollout) with blue (all traffic)
 *   and green, two process replicas each;
 * - `oep endpoint delete -n rollout --yes` (or `oep deployment delete -n green`), and kill -9 of
 *   the daemon once state.json says Deleting plus a delay from a fixed list (0-40 ms, so the
 *   kill falls on every step of the delete; no test hook: the old code has none);
 * - then one command (`show`), which starts a daemon, and right after it returns: what `show`
 *   said, whether the endpoint's port accepted a connection and what a scoring request got (for
 *   green: one pinned to it), whether an update was accepted; then how long until `show` says it
 *   does not exist (up to `BENCH_WAIT_S`, 30 s), and the scoring servers of what was deleted still
 *   running after that.
 * `BENCH_TRIES` (20) endpoint tries and `BENCH_DEPLOYMENT_TRIES` (10) deployment tries per tree.
 * Exit 0 when this tree's tries have no endpoint left Deleting, no request served and no update
 * accepted after the restart, and no scoring server left; 1 otherwise.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildEarlierCommit, Cleanups, OEP_BIN, REPO_ROOT } from './harness.js';
import { scoringServerLeaders } from '../test/faults/replica-support.js';

const OLD_COMMIT = process.env.BENCH_OLD_COMMIT ?? 'f7fc91b';
const TRIES = Number(process.env.BENCH_TRIES ?? 20);
const DEPLOYMENT_TRIES = Number(process.env.BENCH_DEPLOYMENT_TRIES ?? 10);
const WAIT_MS = Number(process.env.BENCH_WAIT_S ?? 30) * 1000;
const DELAYS_MS = [0, 5, 10, 15, 20, 25, 30, 40];
const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'rollout');

interface Variant {
  label: string;
  bin: string;
}

interface Try {
  /** The kill fell after the delete had ended (the command returned first): nothing to finish. */
  missed: boolean;
  /** What `show` said in the first command after the kill. */
  firstShow: string;
  /** The first request after the restart: HTTP status, or the connection error. */
  request: string;
  updateAccepted: boolean;
  /** ms from the restarting command's start until `show` says not found; undefined: not within the wait. */
  goneAfterMs?: number;
  /** Scoring servers of what was deleted still running after the wait. */
  left: number;
}

const cleanups = new Cleanups();

/** The earlier commit, built (bench/harness.ts buildEarlierCommit). */
function buildOld(): Variant {
  return { label: `before (commit ${OLD_COMMIT})`, bin: buildEarlierCommit(OLD_COMMIT, cleanups) };
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(variant: Variant, home: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [variant.bin, ...args], { env: { ...process.env, OEP_HOME: home, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

async function ok(variant: Variant, home: string, args: string[]): Promise<string> {
  const result = await run(variant, home, args);
  if (result.code !== 0) throw new Error(`oep ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

function daemonPid(home: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(home, 'daemon.pid'), 'utf8').trim());
    return pid > 0 && existsSync(`/proc/${pid}`) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The provisioning state state.json records for the endpoint, or for one of its deployments. */
function recordedState(home: string, deployment?: string): string | undefined {
  try {
    const state = JSON.parse(readFileSync(join(home, 'state.json'), 'utf8')) as { endpoints: Record<string, { provisioning_state: string; deployments: Record<string, { provisioning_state: string }> }> };
    const owner = state.endpoints.rollout;
    return deployment ? owner?.deployments[deployment]?.provisioning_state : owner?.provisioning_state;
  } catch {
    return undefined;
  }
}

function probePort(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function score(port: number, key: string, pin?: string): Promise<string> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/score`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...(pin && { 'azureml-model-deployment': pin }) },
      body: '{}',
      signal: AbortSignal.timeout(5000),
    });
    await res.arrayBuffer();
    return String(res.status);
  } catch (error) {
    return (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
  }
}

/** The pids of a deployment's scoring servers (leaders), from `deployment show`. */
async function replicaPids(variant: Variant, home: string, name: string): Promise<number[]> {
  const shown = JSON.parse(await ok(variant, home, ['deployment', 'show', '-n', name, '-e', 'rollout'])) as { replicas: { pid: number }[] };
  return shown.replicas.map((replica) => replica.pid);
}

async function oneTry(variant: Variant, target: 'endpoint' | 'deployment', delayMs: number): Promise<Try> {
  const home = mkdtempSync(join(tmpdir(), 'oep-bench-'));
  const stop = (): void => {
    spawnSync(process.execPath, [variant.bin, 'daemon', 'stop'], { env: { ...process.env, OEP_HOME: home } });
    for (const pid of scoringServerLeaders(home)) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    rmSync(home, { recursive: true, force: true });
  };
  cleanups.add(stop);
  try {
    const process_ = ['--runtime', 'process', '--set', 'instance_count=2', '-o', 'none'];
    await ok(variant, home, ['endpoint', 'create', '-f', join(FIXTURE, 'endpoint.yml'), '-o', 'none']);
    await ok(variant, home, ['deployment', 'create', '-f', join(FIXTURE, 'blue.yml'), '--all-traffic', ...process_]);
    await ok(variant, home, ['deployment', 'create', '-f', join(FIXTURE, 'green.yml'), ...process_]);
    const port = Number(new URL((await ok(variant, home, ['endpoint', 'show', '-n', 'rollout', '--query', 'scoring_uri', '-o', 'tsv'])).trim()).port);
    const key = (await ok(variant, home, ['endpoint', 'get-credentials', '-n', 'rollout', '--query', 'primaryKey', '-o', 'tsv'])).trim();
    const blue = await replicaPids(variant, home, 'blue');

    const command = target === 'endpoint' ? ['endpoint', 'delete', '-n', 'rollout', '--yes'] : ['deployment', 'delete', '-n', 'green', '-e', 'rollout', '--yes'];
    let returned = false;
    const deleting = run(variant, home, command).then(() => (returned = true));
    const stateOf = (): string | undefined => recordedState(home, target === 'deployment' ? 'green' : undefined);
    while (!returned && stateOf() !== 'Deleting') await sleep(2);
    await sleep(delayMs);
    const missed = returned || stateOf() === undefined;
    const pid = daemonPid(home);
    if (pid !== undefined) process.kill(pid, 'SIGKILL');
    while (pid !== undefined && existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ')) await sleep(10);
    await deleting;

    const show = target === 'endpoint' ? ['endpoint', 'show', '-n', 'rollout'] : ['deployment', 'show', '-n', 'green', '-e', 'rollout'];
    const restartAt = Date.now();
    const first = await run(variant, home, show);
    const firstShow = first.code === 0 ? (JSON.parse(first.stdout) as { provisioning_state: string }).provisioning_state : /does not exist/.test(first.stderr) ? 'not found' : `exit ${first.code}`;
    const request = target === 'endpoint' ? ((await probePort(port)) ? await score(port, key) : 'ECONNREFUSED') : await score(port, key, 'green');
    const update =
      target === 'endpoint'
        ? await run(variant, home, ['endpoint', 'update', '-n', 'rollout', '--traffic', 'blue=100', '-o', 'none'])
        : await run(variant, home, ['deployment', 'update', '-n', 'green', '-e', 'rollout', '--set', 'environment_variables.ROUND="1"', '-o', 'none']);
    let goneAfterMs: number | undefined;
    while (Date.now() - restartAt < WAIT_MS) {
      if ((await run(variant, home, show)).code !== 0) {
        goneAfterMs = Date.now() - restartAt;
        break;
      }
      await sleep(250);
    }
    // What was deleted and still runs: for an endpoint every scoring server, for green all but blue's.
    const running = scoringServerLeaders(home);
    const left = target === 'endpoint' ? running.length : running.filter((each) => !blue.includes(each)).length;
    return { missed, firstShow, request, updateAccepted: update.code === 0, goneAfterMs, left };
  } finally {
    stop();
    cleanups.remove(stop);
  }
}

function summary(label: string, target: string, tries: Try[]): string {
  const counted = tries.filter((each) => !each.missed);
  const count = (test: (each: Try) => boolean): number => counted.filter(test).length;
  const gone = counted.flatMap((each) => (each.goneAfterMs === undefined ? [] : [each.goneAfterMs])).sort((a, b) => a - b);
  const requests = [...new Set(counted.map((each) => each.request))].map((kind) => `${kind} x${count((each) => each.request === kind)}`).join(', ');
  return [
    `${label}, ${target} delete: ${tries.length} tries, ${counted.length} killed during the delete (${tries.length - counted.length} after it ended)`,
    `  show right after the restart: Deleting ${count((each) => each.firstShow === 'Deleting')}, not found ${count((each) => each.firstShow === 'not found')}, other ${count((each) => each.firstShow !== 'Deleting' && each.firstShow !== 'not found')}`,
    `  first request after the restart: ${requests}`,
    `  update accepted after the restart: ${count((each) => each.updateAccepted)}`,
    `  still there after ${WAIT_MS / 1000} s: ${count((each) => each.goneAfterMs === undefined)}; gone after (ms): ${gone.length > 0 ? `median ${gone[Math.floor(gone.length / 2)]}, max ${gone.at(-1)}` : '-'}`,
    `  scoring servers of what was deleted left running: ${counted.reduce((sum, each) => sum + each.left, 0)} (in ${count((each) => each.left > 0)} tries)`,
  ].join('\n');
}

async function main(): Promise<void> {
  const variants = [buildOld(), { label: 'after (this tree)', bin: OEP_BIN }];
  const results = new Map<string, Try[]>();
  for (const [target, tries] of [
    ['endpoint', TRIES],
    ['deployment', DEPLOYMENT_TRIES],
  ] as const) {
    for (let index = 0; index < tries; index++) {
      // The two trees alternate, with the same delay, so machine noise hits both alike.
      for (const variant of variants) {
        const outcome = await oneTry(variant, target, DELAYS_MS[index % DELAYS_MS.length]!);
        const key = `${variant.label}|${target}`;
        results.set(key, [...(results.get(key) ?? []), outcome]);
        console.log(`${variant.label} ${target} try ${index + 1} (kill ${DELAYS_MS[index % DELAYS_MS.length]} ms after Deleting): ${JSON.stringify(outcome)}`);
      }
    }
  }
  console.log('');
  for (const [key, tries] of results) {
    const [label, target] = key.split('|');
    console.log(summary(label!, target!, tries));
  }
  const current = [...(results.get(`${variants[1]!.label}|endpoint`) ?? []), ...(results.get(`${variants[1]!.label}|deployment`) ?? [])].filter((each) => !each.missed);
  const bad = current.filter((each) => each.goneAfterMs === undefined || each.updateAccepted || each.left > 0 || each.request === '200');
  process.exitCode = bad.length === 0 ? 0 : 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
