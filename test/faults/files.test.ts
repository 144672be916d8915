import assert from 'node:assert/strict';
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OepSandbox } from '../e2e/harness.js';
import { FAULTS_FIXTURE } from './bodies-support.js';
import { killScoringServers } from './replica-support.js';

/**
 * Files (issue 11): with a normal umask, logs/ and run/ were 0755 and replica logs 0644; a
 * `DB_URL=postgres://admin:secret@db/x` was printed in clear in the storage-initializer log;
 * replica and access logs grew without bound, with a readiness-probe line every 2 s.
 */

/** Every folder and file under `root` whose mode lets anyone but the owner in, as "path mode". */
function openToOthers(root: string): string[] {
  const out: string[] = [];
  const visit = (path: string): void => {
    const info = lstatSync(path);
    if (info.isSymbolicLink()) return;
    const mode = info.mode & 0o777;
    const wanted = info.isDirectory() ? 0o700 : 0o600;
    if (mode !== wanted) out.push(`${relative(root, path) || '.'} ${mode.toString(8)}`);
    if (info.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
  };
  visit(root);
  return out;
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('files under OEP_HOME (process runtime, umask 022)', { timeout: 600_000 }, () => {
  let previousUmask = 0;
  let oep: OepSandbox;
  let uri = '';
  let key = '';
  const logDir = (): string => join(oep.home, 'logs', 'faults', 'big');

  const score = async (body: unknown): Promise<void> => {
    const res = await fetch(uri, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(res.status, 200, await res.text());
  };

  before(async () => {
    // What every command and the daemon they start inherit: a normal umask, files 0644 by default.
    previousUmask = process.umask(0o022);
    oep = new OepSandbox();
    await oep.ok(['config', 'set', 'log_max_mb', '1']);
    await oep.ok(['endpoint', 'create', '-f', join(FAULTS_FIXTURE, 'endpoint.yml'), '-o', 'none']);
    await oep.ok([
      'deployment', 'create', '-f', join(FAULTS_FIXTURE, 'deployment.yml'), '--all-traffic', '--runtime', 'process', '-o', 'none',
      '--set', 'data_collector.collections.request.enabled=True', '--set', 'data_collector.collections.response.enabled=True',
    ]);
    uri = (await oep.ok(['endpoint', 'show', '-n', 'faults', '--query', 'scoring_uri', '-o', 'tsv'])).trim();
    key = (await oep.ok(['endpoint', 'get-credentials', '-n', 'faults', '--query', 'primaryKey', '-o', 'tsv'])).trim();
  });
  after(async () => {
    process.umask(previousUmask);
    killScoringServers(oep.home);
    await oep.close();
  });

  it('masks a password inside a URL in the storage-initializer log', async () => {
    const prepared = await oep.ok(['deployment', 'get-logs', '-n', 'big', '-e', 'faults', '--container', 'storage-initializer']);
    assert.match(prepared, /^ {2}DB_URL=postgres:\/\/admin:\*\*\*@db\/x$/m);
    assert.doesNotMatch(prepared, /hunter2/);
  });

  it('rotates the replica log past log_max_mb, and get-logs --follow loses nothing across the rotation', async () => {
    const follow = oep.start(['deployment', 'get-logs', '-n', 'big', '-e', 'faults', '--follow', '--lines', '1']);
    const replicaLog = join(logDir(), 'replica-0.log');
    try {
      await until('the follow has started', () => (follow.stdout.length > 0 ? true : undefined));
      // About 1.5 MB of log, in 5 requests; the daemon checks sizes every few seconds.
      for (let i = 1; i <= 5; i++) await score({ print: 300, marker: `m${i}` });
      await until('the replica log has rotated', () => (existsSync(`${replicaLog}.1`) ? true : undefined));
      for (let i = 6; i <= 8; i++) await score({ print: 300, marker: `m${i}` });
      await until('the follow shows the last marker', () => (/^marker m8$/m.test(follow.stdout) ? true : undefined));
    } finally {
      follow.child.kill('SIGINT');
    }
    await follow.exited;
    const markers = [...follow.stdout.matchAll(/^marker (m\d)$/gm)].map((match) => match[1]);
    assert.deepEqual([...new Set(markers)], ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8'], 'every marker, in order');
    // One rotated file is kept; neither is much over the limit (it is checked every few seconds).
    assert.ok(statSync(`${replicaLog}.1`).size < 4 * 1024 * 1024);
    assert.deepEqual(readdirSync(logDir()).filter((name) => name.startsWith('replica-0.log')).sort(), ['replica-0.log', 'replica-0.log.1']);
  });

  it('writes no line for health probes in the replica log', async () => {
    // The supervisor probes every second here (period: 1); the log has only the requests.
    const log = readFileSync(join(logDir(), 'replica-0.log'), 'utf8') + readFileSync(join(logDir(), 'replica-0.log.1'), 'utf8');
    assert.doesNotMatch(log, / GET \/ 200 /);
    assert.match(log, / POST \/score 200 /);
  });

  it('keeps every folder 0700 and every file 0600 under OEP_HOME', async () => {
    // The access log and the data collector's files exist by now.
    await until('the access log is written', () => (existsSync(join(oep.home, 'logs', 'faults', 'access.log')) ? true : undefined));
    await until('payloads are logged', () => (existsSync(join(oep.home, 'data-collector', 'faults', 'big', 'request')) ? true : undefined));
    // But the managed identity's socket and its folder, which containers mount: their users reach
    // it whatever their uid, and msi/ above them (0700, checked here too) keeps the host's other users out.
    assert.deepEqual(openToOthers(oep.home), ['msi/socket 711', 'msi/socket/msi.sock 666']);
  });
});
