/**
 * The process runtime's warm interpreter (server/oep_spare.py, src/runtimes/process/spare.ts):
 * started ahead with a replica's launch, it imports nothing of the user's until it is taken, then
 * serves as the replica would; a discarded one ends; it stands in only for the same launch.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { launchKey, Spare, SPARE_ENTRY, type ProcessLaunch } from '../../src/runtimes/process/spare.js';
import { TOKEN_VARIABLE } from '../../src/runtimes/process/replica-records.js';
import { eventually } from '../e2e/harness.js';
import { freePort, httpRequest, PYTHON } from './harness.js';

const folders: string[] = [];
const children: ChildProcess[] = [];
// A spare's process and pipes never hold the event loop (the daemon's servers do): this test holds it.
const keepAlive = setInterval(() => undefined, 1000);

after(() => {
  clearInterval(keepAlive);
  for (const child of children) if (child.exitCode === null && child.signalCode === null && child.pid) killGroup(child.pid);
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

/** A code folder and the launch a replica of it gets (the parts of the scoring contract the server needs). */
function launchFor(extra: Record<string, string> = {}): { dir: string; launch: ProcessLaunch } {
  const dir = mkdtempSync(join(tmpdir(), 'oep-spare-'));
  folders.push(dir);
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, PYTHONDONTWRITEBYTECODE: '1', AML_APP_ROOT: dir, AZUREML_ENTRY_SCRIPT: join(dir, 'score.py'), ...extra };
  return { dir, launch: { python: PYTHON, cwd: dir, env } };
}

function ended(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

describe('a warm interpreter (spare)', () => {
  it('says which interpreter it is, and once taken serves the script written after it started', async () => {
    const { dir, launch } = launchFor();
    const spare = new Spare(launch);
    children.push(spare.child);
    const interpreter = await spare.interpreter;
    assert.ok(interpreter, 'the spare announced its interpreter');
    assert.match(interpreter.version, /^3\.\d+\.\d+/);
    assert.ok(interpreter.executable.length > 0);
    assert.equal(spare.fits(launch), true);

    // Written only now: a spare imports no user code before it is taken.
    writeFileSync(join(dir, 'score.py'), 'def init():\n    pass\n\ndef run(raw_data):\n    return {"written": "after the spare started"}\n');
    const port = await freePort();
    const log = join(dir, 'replica-0.log');
    const child = spare.take(['--host', '127.0.0.1', '--port', String(port)], log);
    assert.equal(spare.fits(launch), false, 'a taken spare stands in for nothing else');
    const answer = await eventually('the taken spare to answer', async () => {
      const res = await httpRequest(port, { method: 'POST', path: '/score', body: '{}', headers: { 'content-type': 'application/json' } }).catch(() => undefined);
      return res?.status === 200 ? res : undefined;
    }, 60_000);
    assert.deepEqual(answer.json(), { written: 'after the spare started' });
    // Its output goes to the replica's log, as a cold start's does.
    assert.match(readFileSync(log, 'utf8'), /oep-server: ready on http:\/\/127\.0\.0\.1:/);
    process.kill(-child.pid!, 'SIGTERM');
    assert.deepEqual(await ended(child), { code: 0, signal: null });
  });

  it('ends by itself once discarded (its stdin closes)', async () => {
    const { launch } = launchFor();
    const spare = new Spare(launch);
    children.push(spare.child);
    await spare.interpreter;
    spare.discard();
    assert.deepEqual(await ended(spare.child), { code: 0, signal: null });
    assert.equal(spare.fits(launch), false);
  });

  it('carries a token of its own in its environment (how a replica is found after a daemon crash)', async () => {
    const { launch } = launchFor();
    const spare = new Spare(launch);
    children.push(spare.child);
    await spare.interpreter;
    const environ = readFileSync(`/proc/${spare.child.pid}/environ`, 'utf8').split('\0');
    assert.ok(environ.includes(`${TOKEN_VARIABLE}=${spare.token}`));
    spare.discard();
    await ended(spare.child);
  });
});

describe('a warm container (oep_spare.py --container, the docker runtime)', () => {
  it('says nothing before it is taken; taken with no log file, the server writes to its own stdout', async () => {
    const { dir, launch } = launchFor();
    const child = spawn(launch.python, [SPARE_ENTRY, '--container'], { cwd: launch.cwd, env: launch.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    children.push(child);
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    writeFileSync(join(dir, 'score.py'), 'def init():\n    pass\n\ndef run(raw_data):\n    return {"in": "a container"}\n');
    const port = await freePort();
    child.stdin.end(`${JSON.stringify({ argv: ['--host', '127.0.0.1', '--port', String(port)] })}\n`);
    const answer = await eventually('the taken container spare to answer', async () => {
      const res = await httpRequest(port, { method: 'POST', path: '/score', body: '{}', headers: { 'content-type': 'application/json' } }).catch(() => undefined);
      return res?.status === 200 ? res : undefined;
    }, 60_000);
    assert.deepEqual(answer.json(), { in: 'a container' });
    assert.match(output, /oep-server: ready on http:\/\/127\.0\.0\.1:/);
    assert.doesNotMatch(output, /"executable"/, 'no hello line: the container log is the replica log from its first line');
    process.kill(-child.pid!, 'SIGTERM');
    assert.deepEqual(await ended(child), { code: 0, signal: null });
  });

  it('ends when its stdin ends before a start line (the daemon that attached is gone)', async () => {
    const { launch } = launchFor();
    const child = spawn(launch.python, [SPARE_ENTRY, '--container'], { cwd: launch.cwd, env: launch.env, stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    children.push(child);
    child.stdin.end();
    assert.deepEqual(await ended(child), { code: 0, signal: null });
  });
});

describe('launchKey: a spare stands in only for the same launch', () => {
  const base: ProcessLaunch = { python: '/usr/bin/python3', cwd: '/code', env: { A: '1', B: '2' } };

  it('is the same whatever the order of the variables, and ignores the replica token', () => {
    assert.equal(launchKey(base), launchKey({ ...base, env: { B: '2', A: '1', [TOKEN_VARIABLE]: 'abc' } }));
  });

  it('differs with the interpreter, the working directory, or any variable', () => {
    const key = launchKey(base);
    assert.notEqual(launchKey({ ...base, python: '/opt/venv/bin/python3' }), key);
    assert.notEqual(launchKey({ ...base, cwd: '/other' }), key);
    assert.notEqual(launchKey({ ...base, env: { A: '1', B: '3' } }), key);
    assert.notEqual(launchKey({ ...base, env: { A: '1', B: '2', PYTHONPATH: '/lib' } }), key);
    assert.notEqual(launchKey({ ...base, env: { A: '1' } }), key);
  });
});
