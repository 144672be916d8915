import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually, OepSandbox, REPO_ROOT } from '../e2e/harness.js';
import { daemonPid, killDaemonHard, killScoringServers, loadLoop, ROLLOUT_FIXTURE, scoringServerLeaders, type Outcome } from './replica-support.js';

/**
 * The keeper (src/daemon/keeper.ts): a crashed daemon comes back with no command, a restart or an
 * upgrade refuses no connection and loses no request, a crash loop ends with a reason. Figures
 * (gap from the kill to the next 200, failed requests) go to the test's diagnostics; the
 * benchmark bench/keeper.ts compares them with a daemon run without a keeper.
 */

interface Status {
  pid: number;
  entry: string;
  keeper: { pid: number; restarts: number; connected: boolean; last_exit?: string } | null;
}

async function setUp(oep: OepSandbox): Promise<{ uri: string; key: string }> {
  await oep.ok(['config', 'set', 'runtime', 'process']);
  await oep.ok(['endpoint', 'create', '-f', join(ROLLOUT_FIXTURE, 'endpoint.yml'), '-o', 'none']);
  // Room for the slow request of the restart test beside the load (429 otherwise, as in Azure).
  await oep.ok(['deployment', 'create', '-f', join(ROLLOUT_FIXTURE, 'blue.yml'), '--all-traffic', '--set', 'request_settings.max_concurrent_requests_per_instance=4', '-o', 'none']);
  const uri = (await oep.ok(['endpoint', 'show', '-n', 'rollout', '--query', 'scoring_uri', '-o', 'tsv'])).trim();
  const key = (await oep.ok(['endpoint', 'get-credentials', '-n', 'rollout', '--query', 'primaryKey', '-o', 'tsv'])).trim();
  return { uri, key };
}

async function status(oep: OepSandbox): Promise<Status> {
  return JSON.parse(await oep.ok(['daemon', 'status', '-o', 'json'])) as Status;
}

/** Outcomes other than 200 since `since` (ms of the load). */
function failures(outcomes: readonly Outcome[], since = 0): Outcome[] {
  return outcomes.filter((outcome) => outcome.at >= since && outcome.result !== 200);
}

/** ms from `since` to the first 200 of a request sent after it. */
function gapAfter(outcomes: readonly Outcome[], since: number): number | undefined {
  const first = outcomes.find((outcome) => outcome.at >= since && outcome.result === 200);
  return first === undefined ? undefined : first.at - since;
}

describe('the keeper', { timeout: 600_000 }, () => {
  const oep = new OepSandbox();
  let uri = '';
  let key = '';

  before(async () => ({ uri, key } = await setUp(oep)));
  after(async () => {
    killScoringServers(oep.home);
    await oep.close();
  });

  it('runs the daemon: daemon status names it', async () => {
    const shown = await status(oep);
    assert.ok(shown.keeper, JSON.stringify(shown));
    assert.equal(shown.keeper.connected, true);
    assert.equal(readFileSync(join(oep.home, 'keeper.pid'), 'utf8').trim(), String(shown.keeper.pid));
  });

  it('the daemon accepts on the endpoint\'s listening socket itself; the keeper keeps a copy, also across a kill -9', async () => {
    const port = Number(new URL(uri).port);
    const before = await status(oep);
    assert.deepEqual(listeningHolders(port, [before.pid, before.keeper!.pid]), [before.pid, before.keeper!.pid]);
    await killDaemonHard(oep);
    await eventually('a new daemon to hold the socket', async () => {
      const now = await status(oep).catch(() => undefined);
      if (!now || now.pid === before.pid) return undefined;
      return listeningHolders(port, [now.pid]).length === 1 ? now : undefined;
    });
    const after = await status(oep);
    assert.deepEqual(listeningHolders(port, [after.pid, before.keeper!.pid]), [after.pid, before.keeper!.pid]);
  });

  it('kill -9 of the daemon with no command: started again, no connection refused, the replica adopted', async (t) => {
    const before = await status(oep);
    const [replica] = scoringServerLeaders(oep.home);
    const load = loadLoop(uri, key, { parallel: 2, maxRequests: 50_000 });
    let killedAt = 0;
    try {
      await eventually('answers before the kill', async () => (load.outcomes.length >= 20 ? true : undefined));
      killedAt = Date.now() - load.startedAt;
      await killDaemonHard(oep);
      await eventually('20 answers after the kill', async () => (load.outcomes.filter((outcome) => outcome.at > killedAt && outcome.result === 200).length >= 20 ? true : undefined), 60_000);
    } finally {
      await load.stop();
    }
    const failed = failures(load.outcomes);
    // Only what was in flight in the killed process can fail (one per loop), and never as refused.
    assert.ok(failed.length <= 2, JSON.stringify(failed));
    assert.ok(failed.every((outcome) => outcome.result !== 'ECONNREFUSED'), JSON.stringify(failed));
    t.diagnostic(`kill -9: ${load.outcomes.length} requests, ${failed.length} failed (in flight at the kill: ${failed.map((outcome) => outcome.result).join(', ') || 'none'}), first 200 ${gapAfter(load.outcomes, killedAt)} ms after the kill`);
    const after = await status(oep);
    assert.notEqual(after.pid, before.pid);
    assert.equal(after.keeper?.pid, before.keeper?.pid);
    assert.equal(after.keeper?.last_exit, 'killed by SIGKILL');
    assert.deepEqual(scoringServerLeaders(oep.home), [replica], 'the same replica serves, adopted');
  });

  it('oep daemon restart under load: no failed request; a request in flight finishes on the old daemon', async (t) => {
    const before = await status(oep);
    const [replica] = scoringServerLeaders(oep.home);
    const load = loadLoop(uri, key, { parallel: 2, maxRequests: 50_000 });
    let restartedAt = 0;
    try {
      await eventually('answers before the restart', async () => (load.outcomes.length >= 20 ? true : undefined));
      const slow = fetch(uri, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: '{"sleep": 0.8}' });
      restartedAt = Date.now() - load.startedAt;
      const restarted = await oep.run(['daemon', 'restart', '--query', 'pid', '-o', 'tsv']);
      assert.equal(restarted.code, 0, restarted.stderr);
      assert.notEqual(Number(restarted.stdout.trim()), before.pid);
      assert.equal((await slow).status, 200);
      await eventually('20 answers after the restart', async () => (load.outcomes.filter((outcome) => outcome.at > restartedAt && outcome.result === 200).length >= 20 ? true : undefined), 60_000);
    } finally {
      await load.stop();
    }
    assert.deepEqual(failures(load.outcomes), []);
    const longest = load.outcomes.reduce((most, outcome, index, all) => (index === 0 ? 0 : Math.max(most, outcome.at - all[index - 1]!.at)), 0);
    t.diagnostic(`daemon restart: ${load.outcomes.length} requests, 0 failed, longest wait between answers ${longest} ms`);
    assert.deepEqual(scoringServerLeaders(oep.home), [replica], 'the replica keeps running, adopted');
    const after = await status(oep);
    assert.deepEqual(listeningHolders(Number(new URL(uri).port), [before.pid, after.pid]), [after.pid], 'the new daemon accepts; the old one let go');
  });

  it('an upgrade: another install\'s oep daemon restart hands over to its own daemon, losing no request', async () => {
    const install = mkdtempSync(join(tmpdir(), 'oep-upgrade-'));
    try {
      for (const part of ['bin', 'dist', 'server', 'schemas', 'web', 'package.json']) cpSync(join(REPO_ROOT, part), join(install, part), { recursive: true });
      symlinkSync(join(REPO_ROOT, 'node_modules'), join(install, 'node_modules'));
      const load = loadLoop(uri, key, { parallel: 2, maxRequests: 50_000 });
      try {
        await eventually('answers before the upgrade', async () => (load.outcomes.length >= 20 ? true : undefined));
        const shown = JSON.parse(await upgradedRun(oep.home, install, ['daemon', 'restart', '-o', 'json'])) as Status;
        assert.equal(shown.entry, join(install, 'dist', 'src', 'daemon', 'main.js'));
        const handedAt = Date.now() - load.startedAt;
        await eventually('20 answers after the upgrade', async () => (load.outcomes.filter((outcome) => outcome.at > handedAt && outcome.result === 200).length >= 20 ? true : undefined), 60_000);
      } finally {
        await load.stop();
      }
      assert.deepEqual(failures(load.outcomes), []);
      // Back to this checkout's daemon for the tests that follow.
      await oep.ok(['daemon', 'restart', '-o', 'none']);
      assert.equal((await status(oep)).entry, join(REPO_ROOT, 'dist', 'src', 'daemon', 'main.js'));
    } finally {
      rmSync(install, { recursive: true, force: true });
    }
  });

  it('the keeper killed: the daemon listens on the ports itself and the endpoint answers', async () => {
    const keeperPid = (await status(oep)).keeper!.pid;
    process.kill(keeperPid, 'SIGKILL');
    await eventually('the daemon to take the ports', async () => {
      try {
        const res = await fetch(uri, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: '{}' });
        return res.status === 200 ? true : undefined;
      } catch {
        return undefined;
      }
    });
    assert.equal((await status(oep)).keeper?.connected, false);
    // A stop and the next command bring a keeper back.
    await oep.ok(['daemon', 'stop']);
    await oep.ok(['daemon', 'start', '-o', 'none']);
    assert.equal((await status(oep)).keeper?.connected, true);
  });
});

describe('a daemon that keeps crashing', { timeout: 300_000 }, () => {
  const oep = new OepSandbox({ OEP_KEEPER_BACKOFF_MS: '20' });
  after(() => oep.close());

  it('the keeper stops after 5 crashes within a minute, and daemon status says why', async () => {
    await oep.ok(['endpoint', 'list', '-o', 'none']);
    const state = join(oep.home, 'state.json');
    const saved = existsSync(state) ? readFileSync(state, 'utf8') : undefined;
    // Every daemon started from now on fails at its start: a crash loop.
    writeFileSync(state, '{ not json');
    await killDaemonHard(oep);
    await eventually('the keeper to give up', async () => (existsSync(join(oep.home, 'keeper.pid')) ? undefined : true), 60_000);
    const shown = await oep.run(['daemon', 'status']);
    assert.equal(shown.code, 1);
    assert.match(shown.stderr, /^error: The oep daemon is not running: it ended 5 times within 60 s \(last: exit code 1\), and its keeper stopped starting it again at \S+\.$/m);
    assert.match(readFileSync(join(oep.home, 'daemon.log'), 'utf8'), /keeper: the daemon ended \(exit code 1\) 5 times in 60 s; not starting it again/);
    assert.equal(daemonPid(oep), undefined);
    if (saved === undefined) rmSync(state);
    else writeFileSync(state, saved);
    await oep.ok(['daemon', 'start', '-o', 'none']);
    assert.equal((await status(oep)).keeper?.connected, true);
  });
});

/**
 * Which of `pids` hold the listening socket of 127.0.0.1:port (Linux: its inode in /proc/net/tcp,
 * in state LISTEN, among each process's descriptors).
 */
function listeningHolders(port: number, pids: number[]): number[] {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const inodes = readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[1] === local && fields[3] === '0A')
    .map((fields) => `socket:[${fields[9]}]`);
  assert.equal(inodes.length, 1, `one listening socket on 127.0.0.1:${port}`);
  return pids.filter((pid) => descriptorsOf(pid).includes(inodes[0]!));
}

/** What a process's descriptors point at (none once it has exited). */
function descriptorsOf(pid: number): string[] {
  const targets: string[] = [];
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return targets;
  }
  for (const fd of fds) {
    try {
      targets.push(readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {
      // closed meanwhile
    }
  }
  return targets;
}

/** Runs another install's CLI against the same home. */
async function upgradedRun(home: string, install: string, args: string[]): Promise<string> {
  const { execFile } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [join(install, 'bin', 'oep.js'), ...args], { env: { ...process.env, OEP_HOME: home, NO_COLOR: '1' }, timeout: 180_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
    );
  });
}
