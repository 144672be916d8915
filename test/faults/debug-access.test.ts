import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { freePort } from '../server/harness.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { DapClient, type DapMessage } from '../e2e/dap-client.js';
import { closeDockerSandbox, dockerSkipReason } from '../e2e/docker-harness.js';
import { eventually, example, OepSandbox, REPO_ROOT } from '../e2e/harness.js';
import { MLFLOW_IMAGE } from '../server/mlflow-support.js';
import { prerequisiteSkip } from '../prerequisites.js';
import { debugToken, homeKey, metricsToken, msiSecret, replicaSecret } from '../../src/state/secrets.js';

/**
 * `--debug` lets only the user attach (docs/reliability.md "Someone else's debugger"): another
 * local user is refused at the debug port, gets nothing from debugpy's own port without the
 * token, and cannot lock the developer out; no secret is in any process's arguments (`ps`), nor
 * with `oep dashboard --open`. A debugpy that cannot take the token: warned, open, and back to
 * normal once no debugger was attached for the idle time (OEP_DEBUG_IDLE_S).
 */
const DEBIAN_PYTHON = '/usr/bin/python3';
const CHROMIUM = '/usr/bin/chromium';
const NOBODY = 65534;
const PROBE = join(fileURLToPath(new URL('.', import.meta.url)), 'dap-probe.js');
const REQUEST = '{"data": [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]}';
const INITIALIZE: [string, Record<string, unknown>] = ['initialize', { clientID: 'intruder', adapterID: 'debugpy', pathFormat: 'path', linesStartAt1: true, columnsStartAt1: true }];

function skipReason(): string | false {
  if (process.getuid?.() !== 0) return prerequisiteSkip('debug access tests', 'needs root to run a debugger as another user (setpriv)');
  try {
    execFileSync(DEBIAN_PYTHON, ['-c', 'import debugpy'], { stdio: 'ignore' });
  } catch {
    return prerequisiteSkip('debug access tests', `${DEBIAN_PYTHON} cannot import debugpy (apt install python3-debugpy)`);
  }
  return false;
}


/** DAP requests sent as another user (nobody) to 127.0.0.1:port; what came back, or 'refused'. */
function dapAsNobody(port: number, requests: [string, Record<string, unknown>][]): Promise<DapMessage[] | 'refused'> {
  return new Promise((resolve, reject) => {
    execFile(
      'setpriv',
      [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, PROBE, String(port), JSON.stringify(requests)],
      { cwd: '/', timeout: 60_000 },
      (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(JSON.parse(stdout) as DapMessage[] | 'refused')),
    );
  });
}

const responses = (messages: DapMessage[] | 'refused'): string[] =>
  messages === 'refused' ? ['refused'] : messages.filter((message) => message.type === 'response').map((message) => `${message.command}: ${message.success ? 'ok' : message.message}`);

/** The argument lists of every process on this machine (what `ps` shows any user). */
function everyCommandLine(): { pid: string; args: string }[] {
  const lines: { pid: string; args: string }[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      lines.push({ pid, args: readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ') });
    } catch {
      // gone meanwhile
    }
  }
  return lines;
}

function backendPortOf(home: string): number | undefined {
  const state = JSON.parse(readFileSync(join(home, 'state.json'), 'utf8')) as { endpoints: Record<string, { deployments: Record<string, { debug?: { backendPort?: number } }> }> };
  return state.endpoints.quickstart?.deployments.blue?.debug?.backendPort;
}

describe('--debug: only the user who runs it can attach', { skip: skipReason() }, () => {
  const oep = new OepSandbox({ OEP_PYTHON: DEBIAN_PYTHON });
  let dir = '';
  let port = 0;
  let backend = 0;
  let uri = '';
  let key = '';
  const score = (): Promise<Response> => fetch(uri, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: REQUEST });

  before(async () => {
    if (skipReason()) return;
    dir = join(oep.home, 'project');
    cpSync(example('quickstart'), dir, { recursive: true });
    chmodSync(oep.home, 0o700);
    await oep.ok(['endpoint', 'create', '-f', join(dir, 'endpoint.yml'), '-o', 'none']);
    port = await freePort();
    const created = await oep.run(['deployment', 'create', '-f', join(dir, 'blue-deployment.yml'), '--runtime', 'process', '--all-traffic', '--debug', '--debug-port', String(port), '-o', 'json']);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stderr, new RegExp(`notice: debugpy listens on 127\\.0\\.0\\.1:${port} once the replica starts; only you can attach \\(oep checks who connects\\)\\.`));
    assert.equal((JSON.parse(created.stdout) as { debug: { access: string } }).debug.access, 'user');
    backend = backendPortOf(oep.home)!;
    assert.ok(backend > 0 && backend !== port, 'debugpy listens on a port of its own, behind the gate');
    uri = (await oep.ok(['endpoint', 'show', '-n', 'quickstart', '--query', 'scoring_uri', '-o', 'tsv'])).trim();
    key = (await oep.ok(['endpoint', 'get-credentials', '-n', 'quickstart', '--query', 'primaryKey', '-o', 'tsv'])).trim();
  });
  after(() => oep.close());

  it("another user at the debug port is refused, saying whose it is; at debugpy's own port the connection is closed unanswered; the replica keeps serving", async () => {
    const atGate = await dapAsNobody(port, [INITIALIZE, ['attach', {}]]);
    assert.deepEqual(responses(atGate), [`initialize: oep: 127.0.0.1:${port} is the debug port of deployment blue (endpoint quickstart) of user root (uid 0); only that user can attach a debugger to it.`]);
    assert.match(readFileSync(join(oep.home, 'daemon.log'), 'utf8'), new RegExp(`quickstart/blue: debug gate 127\\.0\\.0\\.1:${port}: refused a debugger of user nobody \\(uid 65534\\) \\(only user root \\(uid 0\\) may attach\\)`));
    // Straight to debugpy, as a user who found its port: closed before pydevd sees it (so it cannot
    // take the debugger's place either); not even a pause or an evaluation is answered.
    const direct = await dapAsNobody(backend, [
      INITIALIZE,
      ['attach', { justMyCode: false }],
      ['configurationDone', {}],
      ['pause', { threadId: '*' }],
      ['evaluate', { expression: "__import__('os').system('touch /tmp/oep-pwned')" }],
    ]);
    assert.deepEqual(direct, []);
    assert.equal(existsSync('/tmp/oep-pwned'), false);
    const res = await score();
    assert.equal(res.status, 200, 'not paused');
    assert.equal(await res.text(), '[54.3, 95.4]');
  });

  it('the developer attaches after them (not locked out): a breakpoint stops a request, continue answers 200', async () => {
    // An intruder holding a connection to debugpy's own port meanwhile changes nothing.
    const held = dapAsNobody(backend, [INITIALIZE, ['attach', {}]]);
    const score_py = join(dir, 'onlinescoring', 'score.py');
    const line = readFileSync(score_py, 'utf8').split('\n').findIndex((text) => text.includes('predictions.append(round(value, 4))')) + 1;
    const dap = await DapClient.connect(port);
    try {
      await dap.attach({ justMyCode: true }, { [score_py]: [line] });
      const answer = score();
      const stopped = await dap.waitForEvent('stopped', (event) => event.body?.reason === 'breakpoint', 30_000);
      await dap.continue(stopped.body!.threadId as number);
      const again = await dap.waitForEvent('stopped', (event) => event !== stopped, 30_000, dap.events.indexOf(stopped) + 1);
      await dap.continue(again.body!.threadId as number);
      const res = await answer;
      assert.equal(res.status, 200);
      assert.equal(await res.text(), '[54.3, 95.4]');
    } finally {
      await dap.close();
    }
    await held;
    assert.equal((await score()).status, 200);
  });

  it("no secret in any process's arguments (ps): debug token, replica and MSI secrets, metrics and dashboard tokens, the home's key", async () => {
    const dashboard = new URL((await oep.ok(['dashboard'])).trim()).searchParams.get('token')!;
    const secrets: Record<string, string> = {
      'debug token': debugToken(oep.home, 'quickstart', 'blue'),
      'replica secret': replicaSecret(oep.home, 'quickstart', 'blue'),
      'MSI secret': msiSecret(oep.home, 'quickstart', 'blue'),
      'metrics token': metricsToken(oep.home),
      'dashboard token': dashboard,
      "home's key": homeKey(oep.home).toString('hex'),
    };
    const lines = everyCommandLine();
    // The scan sees oep's processes: the daemon and the debugged replica.
    assert.ok(lines.some((line) => line.args.includes('dist/src/daemon/main.js')), 'the daemon is among them');
    assert.ok(lines.some((line) => line.args.includes('oep_server.py')), 'the replica is among them');
    for (const line of lines) {
      for (const [what, value] of Object.entries(secrets)) assert.ok(!line.args.includes(value), `the ${what} is in the arguments of pid ${line.pid}: ${line.args}`);
      assert.doesNotMatch(line.args, /access-token/, `pid ${line.pid}: ${line.args}`);
    }
  });

  it('dashboard --open gives the browser a 0600 file of the user, not the URL: no token in its arguments; the file leads to the dashboard', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'oep-opener-'));
    try {
      // The desktop's opener, as the command finds it on PATH: it notes what it was given and stays a moment.
      writeFileSync(join(bin, 'xdg-open'), `#!/bin/sh\nprintf '%s\\n' "$@" > ${bin}/args\nsleep 3\n`, { mode: 0o755 });
      const opened = await new Promise<{ code: number; stdout: string }>((resolve) =>
        execFile(process.execPath, [join(REPO_ROOT, 'bin', 'oep.js'), 'dashboard', '--open'], { env: { ...process.env, OEP_HOME: oep.home, PATH: `${bin}:${process.env.PATH}`, NO_COLOR: '1' } }, (error, stdout) =>
          resolve({ code: error ? 1 : 0, stdout }),
        ),
      );
      assert.equal(opened.code, 0);
      const url = opened.stdout.trim();
      const token = new URL(url).searchParams.get('token')!;
      await eventually('the opener ran', async () => (existsSync(join(bin, 'args')) ? true : undefined), 10_000);
      const page = join(oep.home, 'dashboard-open.html');
      assert.equal(readFileSync(join(bin, 'args'), 'utf8'), `file://${page}\n`);
      for (const line of everyCommandLine()) assert.ok(!line.args.includes(token), `the dashboard token is in the arguments of pid ${line.pid}: ${line.args}`);
      assert.equal(statSync(page).mode & 0o777, 0o600);
      assert.ok(readFileSync(page, 'utf8').includes(`location.replace(${JSON.stringify(url)})`));
      if (existsSync(CHROMIUM)) {
        const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
        try {
          const tab = await browser.newPage();
          await tab.goto(`file://${page}`);
          await tab.waitForURL(url, { timeout: 15_000 });
          assert.equal(await tab.title(), 'oep dashboard');
          await tab.waitForFunction(() => document.querySelector('#title')?.textContent === 'endpoints', undefined, { timeout: 15_000 });
        } finally {
          await browser.close();
        }
      }
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});

describe('--debug on Docker: another user gets nothing from the published port either', async () => {
  const skip = skipReason() || (await dockerSkipReason([MLFLOW_IMAGE]));
  const map = join(mkdtempSync(join(tmpdir(), 'oep-map-')), 'images.yml');
  writeFileSync(map, `mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest: ${MLFLOW_IMAGE}\n`);
  const oep = new OepSandbox({ OEP_IMAGE_MAP: map });
  after(async () => {
    if (!skip) assert.deepEqual(await closeDockerSandbox(oep), [], 'containers left by this sandbox');
    else await oep.close();
    rmSync(join(map, '..'), { recursive: true, force: true });
  });

  it("refused at the debug port; every request at debugpy's published port is 'Client not authenticated.'; the developer attaches", { skip }, async () => {
    const dir = join(oep.home, 'project');
    cpSync(example('quickstart'), dir, { recursive: true });
    await oep.ok(['endpoint', 'create', '-f', join(dir, 'endpoint.yml'), '-o', 'none']);
    const port = await freePort();
    await oep.ok(['deployment', 'create', '-f', join(dir, 'blue-deployment.yml'), '--runtime', 'docker', '--all-traffic', '--debug', '--debug-port', String(port), '-o', 'none']);
    const backend = backendPortOf(oep.home)!;
    assert.match(responses(await dapAsNobody(port, [INITIALIZE]))[0]!, /^initialize: oep: 127\.0\.0\.1:\d+ is the debug port of deployment blue \(endpoint quickstart\) of user root \(uid 0\); only that user can attach/);
    const direct = await dapAsNobody(backend, [INITIALIZE, ['attach', { justMyCode: false }], ['configurationDone', {}], ['pause', { threadId: '*' }]]);
    assert.deepEqual(responses(direct), ['initialize', 'attach', 'configurationDone', 'pause'].map((command) => `${command}: Client not authenticated.`));
    const dap = await DapClient.connect(port);
    try {
      await dap.attach({ justMyCode: true }, {});
    } finally {
      await dap.close();
    }
  });
});

describe('--debug where debugpy cannot require the token: warned, open, back to normal when idle', { skip: skipReason() }, () => {
  const IDLE_S = 8;
  const oep = new OepSandbox({ OEP_PYTHON: '', OEP_DEBUG_IDLE_S: String(IDLE_S) });
  after(() => oep.close());

  it('says any local user can attach and for how long; the deployment turns back into a normal one after the idle time', async () => {
    // debugpy as it was before its in-process adapter (1.6): listen() takes no in_process_debug_adapter.
    const older = join(oep.home, 'older-debugpy');
    mkdirSync(older);
    writeFileSync(
      join(older, 'sitecustomize.py'),
      'import debugpy\n_listen = debugpy.listen\n\ndef listen(address, **kwargs):\n    if kwargs:\n        raise TypeError("listen() got an unexpected keyword argument \'in_process_debug_adapter\'")\n    return _listen(address)\n\ndebugpy.listen = listen\n',
    );
    const python = join(oep.home, 'python3');
    writeFileSync(python, `#!/bin/sh\nPYTHONPATH=${older} exec ${DEBIAN_PYTHON} "$@"\n`, { mode: 0o755 });
    await oep.ok(['config', 'set', 'python', python]);
    const dir = join(oep.home, 'project');
    cpSync(example('quickstart'), dir, { recursive: true });
    await oep.ok(['endpoint', 'create', '-f', join(dir, 'endpoint.yml'), '-o', 'none']);
    const port = await freePort();
    const created = await oep.run(['deployment', 'create', '-f', join(dir, 'blue-deployment.yml'), '--runtime', 'process', '--all-traffic', '--debug', '--debug-port', String(port), '-o', 'none']);
    const since = Date.now();
    assert.equal(created.code, 0, created.stderr);
    const backend = backendPortOf(oep.home)!;
    assert.ok(
      created.stderr.includes(
        `warning: deployment blue: any local user can attach a debugger to its replica (127.0.0.1:${backend}, where debugpy itself listens) and run code as you while --debug is on: the replica's debugpy answers debuggers without oep's debug token. ` +
          `It goes back to a normal deployment after ${IDLE_S} s without a debugger attached through 127.0.0.1:${port}; update it without --debug to end this sooner.\n`,
      ),
      created.stderr,
    );
    const show = JSON.parse(await oep.ok(['deployment', 'show', '-n', 'blue', '-e', 'quickstart', '-o', 'json'])) as { debug?: { access: string; open_reason?: string } };
    assert.deepEqual({ access: show.debug?.access, open_reason: show.debug?.open_reason }, { access: 'open', open_reason: "the replica's debugpy answers debuggers without oep's debug token" });
    assert.match(readFileSync(join(oep.home, 'logs', 'quickstart', 'blue', 'replica-0.log'), 'utf8'), /oep-server: debugpy cannot require oep's debug token: debugpy \S+ has no in-process adapter/);
    // As it says: another user attaches at debugpy's own port. (The debug port itself still refuses them.)
    assert.deepEqual(responses(await dapAsNobody(backend, [INITIALIZE])), ['initialize: ok']);
    assert.match(responses(await dapAsNobody(port, [INITIALIZE]))[0]!, /^initialize: oep: 127\.0\.0\.1:\d+ is the debug port of deployment blue .* only that user can attach/);
    // Nobody attached through the gate: back to normal after the idle time.
    await eventually('the deployment back to normal', async () => {
      const now = JSON.parse(await oep.ok(['deployment', 'show', '-n', 'blue', '-e', 'quickstart', '-o', 'json'])) as { debug?: unknown; provisioning_state: string };
      return now.debug === undefined && now.provisioning_state === 'Succeeded' ? true : undefined;
    }, 60_000);
    const took = (Date.now() - since) / 1000;
    assert.ok(took >= IDLE_S - 1, `ended after ${took} s, not before the idle time`);
    process.stderr.write(`# open debug port ended ${took.toFixed(1)} s after the create returned (idle time ${IDLE_S} s)\n`);
    assert.match(readFileSync(join(oep.home, 'daemon.log'), 'utf8'), /quickstart\/blue: back to a normal deployment \(no debugger for 8 s on a debug port any local user could reach\)/);
    assert.equal(await dapAsNobody(backend, [INITIALIZE]).then((answer) => answer === 'refused' || responses(answer).length === 0), true, "debugpy's port is closed");
    assert.equal(await dapAsNobody(port, [INITIALIZE]).then((answer) => answer === 'refused'), true, 'the debug port is closed');
    const res = await fetch((await oep.ok(['endpoint', 'show', '-n', 'quickstart', '--query', 'scoring_uri', '-o', 'tsv'])).trim(), {
      method: 'POST',
      headers: { authorization: `Bearer ${(await oep.ok(['endpoint', 'get-credentials', '-n', 'quickstart', '--query', 'primaryKey', '-o', 'tsv'])).trim()}`, 'content-type': 'application/json' },
      body: REQUEST,
    });
    assert.equal(res.status, 200);
  });
});
