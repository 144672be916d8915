import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { freePort } from '../server/harness.js';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MLFLOW_IMAGE } from '../server/mlflow-support.js';
import { prerequisiteSkip } from '../prerequisites.js';
import { DapClient } from './dap-client.js';
import { BASE_IMAGE, closeDockerSandbox, dockerSkipReason } from './docker-harness.js';
import { eventually, example, OepSandbox } from './harness.js';

/**
 * `deployment create|update --debug`: a debugger (a small DAP client here, as VS Code speaks it)
 * attaches to debugpy in the replica, stops a request that came through the endpoint at a
 * breakpoint in run(), holds it past every timeout, and the request then completes. --debug-wait
 * stops in init(); an environment without debugpy is a clear error; --vscode merges launch.json.
 */

/** The host's Debian python3 with python3-debugpy (.ci/run installs it). */
const DEBIAN_PYTHON = '/usr/bin/python3';
const REQUEST = '{"data": [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]}';
const ANSWER = '[54.3, 95.4]';
// Far below how long a request stays at the breakpoint: neither timeout may cut it.
const TIMEOUT_MS = 1000;
const HOLD_MS = 2500;

function processSkipReason(): string | false {
  let reason: string | false = false;
  try {
    execFileSync(DEBIAN_PYTHON, ['-c', 'import debugpy'], { stdio: 'ignore' });
  } catch {
    reason = `${DEBIAN_PYTHON} cannot import debugpy (apt install python3-debugpy)`;
  }
  return prerequisiteSkip('process debug e2e tests', reason);
}

/** An image map (OEP_IMAGE_MAP) that runs `image` for the examples' Azure image. */
function imageMapTo(image: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'oep-map-')), 'images.yml');
  writeFileSync(file, `mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest: ${image}\n`);
  return file;
}


/** The line number of the first line of `file` that contains `text`. */
function lineOf(file: string, text: string): number {
  const index = readFileSync(file, 'utf8').split('\n').findIndex((line) => line.includes(text));
  assert.ok(index >= 0, `${text} is not in ${file}`);
  return index + 1;
}

interface AttachView {
  port: number;
  wait: boolean;
  attach: { name: string; connect: { host: string; port: number }; pathMappings: { localRoot: string; remoteRoot: string }[] };
}

function debugSuite(runtime: 'process' | 'docker', image: string, skip: () => string | false): void {
  // Docker: the quickstart's environment (Azure's image and a conda file) runs `image`, which has debugpy.
  const oep = new OepSandbox(runtime === 'process' ? { OEP_PYTHON: DEBIAN_PYTHON } : { OEP_IMAGE_MAP: imageMapTo(image) });
  let dir = '';
  let score = '';
  let uri = '';
  let key = '';
  let debugPort = 0;
  const timeouts = ['--set', `request_settings.request_timeout_ms=${TIMEOUT_MS}`, '--set', `environment_variables.SCORING_TIMEOUT_MS="${TIMEOUT_MS}"`];
  const deploymentArgs = (): string[] => ['-f', join(dir, 'blue-deployment.yml'), '--runtime', runtime, ...timeouts];
  const score1 = (): Promise<Response> =>
    fetch(uri, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: REQUEST });

  before(async () => {
    if (skip()) return;
    dir = join(oep.home, 'project');
    cpSync(example('quickstart'), dir, { recursive: true });
    const yaml = join(dir, 'blue-deployment.yml');
    score = join(dir, 'onlinescoring', 'score.py');
    await oep.ok(['endpoint', 'create', '-f', join(dir, 'endpoint.yml'), '-o', 'none']);
  });
  after(async () => {
    if (runtime === 'docker') assert.deepEqual(await closeDockerSandbox(oep), [], 'containers left by this sandbox');
    else await oep.close();
  });

  it('--debug --vscode: a breakpoint in run() stops a request sent through the endpoint, past both timeouts; continue answers 200', { skip: skip() }, async () => {
    // A launch.json of the user's own, with a comment and another configuration: both stay.
    mkdirSync(join(dir, '.vscode'));
    const mine = '{\n  // my own\n  "version": "0.2.0",\n  "configurations": [\n    { "name": "Python: Current File", "type": "debugpy", "request": "launch", "program": "${file}" },\n  ]\n}\n';
    writeFileSync(join(dir, '.vscode', 'launch.json'), mine);
    const port = (debugPort = await freePort());
    const created = await oep.run(['deployment', 'create', ...deploymentArgs(), '--all-traffic', '--debug', '--debug-port', String(port), '--vscode', '-o', 'json'], { cwd: dir });
    assert.equal(created.code, 0, created.stderr);
    const view = JSON.parse(created.stdout) as { debug: AttachView; replicas: unknown[] };
    assert.equal(view.replicas.length, 1);
    assert.deepEqual({ port: view.debug.port, wait: view.debug.wait }, { port, wait: false });
    const code = join(dir, 'onlinescoring');
    const codeMapping = view.debug.attach.pathMappings[0]!;
    assert.deepEqual(codeMapping, { localRoot: code, remoteRoot: runtime === 'docker' ? '/var/azureml-app/onlinescoring' : code });
    assert.match(created.stderr, new RegExp(`notice: debugpy listens on 127\\.0\\.0\\.1:${port} once the replica starts; only you can attach \\(oep checks who connects\\)\\. Attach with this configuration`));
    assert.match(created.stderr, /notice: wrote the configuration "oep: blue \(quickstart\)" into .*\.vscode\/launch\.json/);

    const launch = readFileSync(join(dir, '.vscode', 'launch.json'), 'utf8');
    assert.ok(launch.startsWith('{\n  // my own\n  "version": "0.2.0",\n  "configurations": [\n    { "name": "Python: Current File"'), launch);
    const ours = JSON.parse(launch.slice(launch.indexOf('    {\n      "name": "oep: blue'), launch.lastIndexOf('  ]')).trim()) as AttachView['attach'];
    assert.deepEqual(ours, view.debug.attach);

    uri = (await oep.ok(['endpoint', 'show', '-n', 'quickstart', '--query', 'scoring_uri', '-o', 'tsv'])).trim();
    key = (await oep.ok(['endpoint', 'get-credentials', '-n', 'quickstart', '--query', 'primaryKey', '-o', 'tsv'])).trim();
    const line = lineOf(score, 'predictions.append(round(value, 4))');
    const dap = await DapClient.connect(port);
    try {
      const verified = await dap.attach({ pathMappings: ours.pathMappings, justMyCode: true }, { [score]: [line] });
      assert.equal(verified[score]![0]!.verified, true);
      const sent = Date.now();
      const answer = score1();
      const stopped = await dap.waitForEvent('stopped', (event) => event.body?.reason === 'breakpoint', 30_000);
      const threadId = stopped.body!.threadId as number;
      const [top] = await dap.stackTrace(threadId);
      assert.deepEqual({ name: top!.name, line: top!.line, path: top!.source?.path }, { name: 'run', line, path: score });
      await new Promise((resolve) => setTimeout(resolve, HOLD_MS));
      await dap.continue(threadId);
      // The loop runs once per row: the second row stops at the same line again.
      const again = await dap.waitForEvent('stopped', (event) => event !== stopped, 30_000, dap.events.indexOf(stopped) + 1);
      await dap.continue(again.body!.threadId as number);
      const res = await answer;
      assert.equal(res.status, 200);
      assert.equal(await res.text(), ANSWER);
      assert.ok(Date.now() - sent > HOLD_MS, 'the request waited at the breakpoint');
    } finally {
      await dap.close();
    }
    // Detached: it serves as usual.
    const res = await score1();
    assert.equal(res.status, 200);
  });

  it('update without --debug returns to normal: no debug in show, nothing listens on the debug port', { skip: skip() }, async () => {
    await oep.ok(['deployment', 'update', ...deploymentArgs(), '-o', 'none']);
    const show = JSON.parse(await oep.ok(['deployment', 'show', '-n', 'blue', '-e', 'quickstart', '-o', 'json'])) as Record<string, unknown>;
    assert.equal(show.debug, undefined);
    await assert.rejects(DapClient.connect(debugPort, '127.0.0.1', 0), /no debug adapter answered/);
    assert.equal((await score1()).status, 200);
  });

  it('--debug-wait: the replica waits for a debugger; a breakpoint in init() is hit before the deployment is ready', { skip: skip() }, async () => {
    const port = (debugPort = await freePort());
    const line = lineOf(score, 'global model');
    const cli = oep.start(['deployment', 'update', ...deploymentArgs(), '--debug', '--debug-port', String(port), '--debug-wait', '-o', 'none']);
    try {
      await eventually('the attach configuration', async () => (cli.stderr.includes('waits for a debugger before the scoring script loads') ? true : undefined), 60_000).catch((error: Error) => {
        throw new Error(`${error.message}; the command's stderr:\n${cli.stderr}`);
      });
      const dap = await DapClient.connect(port);
      try {
        const configuration = JSON.parse((await oep.ok(['deployment', 'show', '-n', 'blue', '-e', 'quickstart', '--query', 'debug.attach', '-o', 'json'])));
        await dap.attach({ pathMappings: configuration.pathMappings }, { [score]: [line + 1] });
        const stopped = await dap.waitForEvent('stopped', (event) => event.body?.reason === 'breakpoint', 60_000);
        const [top] = await dap.stackTrace(stopped.body!.threadId as number);
        assert.deepEqual({ name: top!.name, line: top!.line, path: top!.source?.path }, { name: 'init', line: line + 1, path: score });
        // Held in init(): the replica is not ready, so the command still waits.
        await new Promise((resolve) => setTimeout(resolve, 500));
        assert.equal(cli.child.exitCode, null, 'the update waits while init() is held');
        await dap.continue(stopped.body!.threadId as number);
        assert.equal(await cli.exited, 0, cli.stderr);
      } finally {
        await dap.close();
      }
      const res = await score1();
      assert.equal(res.status, 200);
    } finally {
      if (cli.child.exitCode === null) cli.child.kill('SIGINT');
    }
  });

  it('an update on the same debug port stops the debugged replica before its successor listens there', { skip: skip() }, async () => {
    await oep.ok(['deployment', 'update', ...deploymentArgs(), '--debug', '--debug-port', String(debugPort), '-o', 'none']);
    assert.match(readFileSync(join(oep.home, 'daemon.log'), 'utf8'), /quickstart\/blue: stop blue#0 gen \d+ \(replaced by gen \d+, stopped first\)/);
    const dap = await DapClient.connect(debugPort, '127.0.0.1', 30_000);
    await dap.close();
    assert.equal((await score1()).status, 200);
  });
}

describe('debugging on the process runtime', () => {
  const skip = processSkipReason();
  debugSuite('process', BASE_IMAGE, () => skip);

  it('an interpreter without debugpy: a clear error saying how to add it, exit 1, and no .vscode/launch.json', { skip }, async () => {
    // The same interpreter without its site packages: no debugpy (oep's server needs only the standard library).
    const oep = new OepSandbox({ OEP_PYTHON: '' });
    try {
      const python = join(oep.home, 'python-without-debugpy');
      writeFileSync(python, `#!/bin/sh\nexec ${DEBIAN_PYTHON} -S "$@"\n`);
      chmodSync(python, 0o755);
      const cwd = join(oep.home, 'project');
      mkdirSync(cwd);
      await oep.ok(['config', 'set', 'python', python]);
      await oep.ok(['endpoint', 'create', '-f', example('quickstart', 'endpoint.yml'), '-o', 'none']);
      const args = ['deployment', 'create', '-f', example('quickstart', 'blue-deployment.yml'), '--runtime', 'process', '--debug', '--debug-port', String(await freePort()), '--vscode', '-o', 'none'];
      const result = await oep.run(args, { cwd });
      assert.equal(result.code, 1, result.stderr);
      // The attach configuration was shown while the replica started; launch.json waits for a deployment that runs.
      assert.match(result.stderr, /^notice: debugpy listens on 127\.0\.0\.1:\d+ once the replica starts; only you can attach \(oep checks who connects\)\. Attach with this configuration \(VS Code: \.vscode\/launch\.json, written there if the command succeeds\):$/m);
      assert.doesNotMatch(result.stderr, /wrote the configuration/);
      assert.equal(existsSync(join(cwd, '.vscode')), false, 'no .vscode/launch.json for a deployment that failed');
      assert.match(result.stderr, /error: Deployment blue cannot run under the debugger: --debug needs debugpy, and \/usr\/bin\/python3 cannot import debugpy \(No module named 'debugpy'\)\./);
      assert.match(result.stderr, /hint: Install debugpy for \/usr\/bin\/python3: "\/usr\/bin\/python3 -m pip install debugpy", or on Debian and Ubuntu "apt install python3-debugpy"/);
      assert.match(result.stderr, /\(OEP_ERR_DEBUGPY_MISSING\)/);
    } finally {
      await oep.close();
    }
  });
});

describe('debugging a docker deployment on the process runtime', async () => {
  const skip = (await dockerSkipReason([BASE_IMAGE])) || processSkipReason();
  const oep = new OepSandbox({ OEP_PYTHON: DEBIAN_PYTHON });
  const file = join(oep.home, 'project', 'blue.yml');
  const runtimeOf = async (): Promise<string> => (await oep.ok(['deployment', 'show', '-n', 'blue', '-e', 'quickstart', '--query', 'runtime', '-o', 'tsv'])).trim();

  before(async () => {
    if (skip) return;
    mkdirSync(join(oep.home, 'project', 'code'), { recursive: true });
    writeFileSync(join(oep.home, 'project', 'code', 'score.py'), 'def init():\n    pass\n\ndef run(data):\n    return data\n');
    writeFileSync(file, `name: blue\nendpoint_name: quickstart\ncode_configuration:\n  code: code\n  scoring_script: score.py\nenvironment:\n  image: ${BASE_IMAGE}\ninstance_type: Standard_DS3_v2\n`);
    await oep.ok(['endpoint', 'create', '-f', example('quickstart', 'endpoint.yml'), '-o', 'none']);
  });
  after(async () => {
    if (!skip) assert.deepEqual(await closeDockerSandbox(oep), [], 'containers left by this sandbox');
    else await oep.close();
  });

  it('update --debug --runtime process, then a plain update: back on docker, and it says so', { skip }, async () => {
    await oep.ok(['deployment', 'create', '-f', file, '--runtime', 'docker', '-o', 'none']);
    assert.equal(await runtimeOf(), 'docker');
    await oep.ok(['deployment', 'update', '-f', file, '--debug', '--debug-port', String(await freePort()), '--runtime', 'process', '-o', 'none']);
    assert.equal(await runtimeOf(), 'process');
    const back = await oep.run(['deployment', 'update', '-f', file, '-o', 'none']);
    assert.equal(back.code, 0, back.stderr);
    // (Besides the notice of where the managed identity's tokens come from.)
    assert.equal(back.stderr.replace(/^notice: deployment \S+: managed identity tokens .*\n/m, ''), 'notice: deployment blue goes back to the docker runtime it ran on before --debug (--runtime chooses another)\n');
    assert.equal(await runtimeOf(), 'docker');
    assert.equal((await oep.ok(['deployment', 'show', '-n', 'blue', '-e', 'quickstart', '--query', 'debug', '-o', 'tsv'])).trim(), '');
  });
});

describe('debugging on docker', async () => {
  const skip = await dockerSkipReason([BASE_IMAGE, MLFLOW_IMAGE]);
  debugSuite('docker', MLFLOW_IMAGE, () => skip);

  it(`an image without debugpy (${BASE_IMAGE}): a clear error saying how to add it, exit 1`, { skip }, async () => {
    const oep = new OepSandbox();
    try {
      // The quickstart with an environment that is that image alone (no conda file).
      const dir = join(oep.home, 'project');
      cpSync(example('quickstart'), dir, { recursive: true });
      const yaml = join(dir, 'blue-deployment.yml');
      writeFileSync(yaml, readFileSync(yaml, 'utf8').replace(/^environment:\n(?: {2}.*\n)+/m, `environment:\n  image: ${BASE_IMAGE}\n`));
      await oep.ok(['endpoint', 'create', '-f', join(dir, 'endpoint.yml'), '-o', 'none']);
      const result = await oep.run(['deployment', 'create', '-f', yaml, '--runtime', 'docker', '--debug', '--debug-port', String(await freePort()), '-o', 'none']);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /error: Deployment blue cannot run under the debugger: --debug needs debugpy, and \/usr\/bin\/python3 cannot import debugpy/);
      assert.match(result.stderr, /hint: Use an image that has debugpy, or give the environment a conda file whose pip list has debugpy/);
      assert.match(result.stderr, /\(OEP_ERR_DEBUGPY_MISSING\)/);
    } finally {
      assert.deepEqual(await closeDockerSandbox(oep), [], 'containers left by this sandbox');
    }
  });
});
