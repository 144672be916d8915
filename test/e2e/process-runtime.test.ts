import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { assertPredictions, eventually, example, OepSandbox, REPO_ROOT } from './harness.js';

/** What examples/quickstart answers for its sample request (compared with a tolerance). */
const PREDICTION = [224.5, 353.3];

/** invoke's stdout: the answer as JSON on one line. */
function assertInvokeOutput(stdout: string): void {
  assert.match(stdout, /^\[.*\]\n$/);
  assertPredictions(JSON.parse(stdout), PREDICTION);
}

function post(url: string, body: string, key?: string): Promise<{ status: number; text: string; headers: Headers }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  return fetch(url, { method: 'POST', headers, body }).then(async (res) => ({ status: res.status, text: await res.text(), headers: res.headers }));
}

function portIsClosed(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

describe('quickstart on the process runtime', () => {
  const oep = new OepSandbox();
  let scoringUri = '';
  let key = '';
  const body = JSON.stringify({ data: [[3, 85, 10], [5, 140, 2]] });

  before(async () => {
    await oep.ok(['endpoint', 'create', '-f', example('quickstart', 'endpoint.yml'), '-o', 'none']);
  });
  after(() => oep.close());

  it('creates the deployment and only returns once it answers', async () => {
    const out = await oep.ok(['deployment', 'create', '-f', example('quickstart', 'blue-deployment.yml'), '--all-traffic', '--runtime', 'process']);
    const shown = JSON.parse(out) as { provisioning_state: string; runtime: string; replicas: { ready: boolean }[] };
    assert.equal(shown.provisioning_state, 'Succeeded');
    assert.equal(shown.runtime, 'process');
    assert.deepEqual(shown.replicas.map((replica) => replica.ready), [true]);
  });

  it('shows 100% traffic, the scoring URI and the key in tsv', async () => {
    const endpoint = JSON.parse(await oep.ok(['endpoint', 'show', '-n', 'quickstart'])) as Record<string, unknown>;
    assert.deepEqual(endpoint.traffic, { blue: 100 });
    scoringUri = (await oep.ok(['endpoint', 'show', '-n', 'quickstart', '--query', 'scoring_uri', '-o', 'tsv'])).trim();
    assert.match(scoringUri, /^http:\/\/127\.0\.0\.1:\d+\/score$/);
    key = (await oep.ok(['endpoint', 'get-credentials', '-n', 'quickstart', '--query', 'primaryKey', '-o', 'tsv'])).trim();
    assert.match(key, /^[A-Za-z0-9_-]{40,}$/);
  });

  it('invoke prints the prediction', async () => {
    assertInvokeOutput(await oep.ok(['endpoint', 'invoke', '-n', 'quickstart', '--request-file', example('quickstart', 'sample-request.json')]));
  });

  it('invoke reads the request from stdin with -', async () => {
    assertInvokeOutput(await oep.ok(['endpoint', 'invoke', '-n', 'quickstart', '--request-file', '-'], { input: body }));
  });

  it('answers a plain HTTP request with the key, 401 without it or with a wrong one', async () => {
    const good = await post(scoringUri, body, key);
    assert.equal(good.status, 200);
    assertPredictions(JSON.parse(good.text), PREDICTION);
    assert.equal(good.headers.get('azureml-model-deployment'), 'blue');
    assert.match(good.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    assert.equal((await post(scoringUri, body)).status, 401);
    assert.equal((await post(scoringUri, body, `${key}x`)).status, 401);
  });

  it('an error in run() reaches the caller as 424 and invoke exits 1', async () => {
    const res = await post(scoringUri, JSON.stringify({ data: [[1, 2]] }), key);
    assert.equal(res.status, 424);
    assert.equal(res.headers.get('ms-azureml-model-error-statuscode'), '500');
    const result = await oep.run(['endpoint', 'invoke', '-n', 'quickstart', '--request-file', '-'], { input: JSON.stringify({ data: [[1, 2]] }) });
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /error: The endpoint answered 424: An unexpected error occurred in scoring script/);
  });

  it('get-logs shows the scoring script output and the traceback of the failed run', async () => {
    const logs = await oep.ok(['deployment', 'get-logs', '-n', 'blue', '-e', 'quickstart']);
    assert.match(logs, /init complete: model loaded from .*azureml-models\/blue-model\/1\/model\/weights\.json/);
    assert.match(logs, /ValueError: expected 3 features per row, got 2/);
    const two = await oep.ok(['deployment', 'get-logs', '-n', 'blue', '-e', 'quickstart', '--lines', '2']);
    assert.equal(two.trimEnd().split('\n').length, 2);
  });

  it('scales a deployment with a model to 3 replicas and back to 1; each replica sees the model', async () => {
    const replicas = async (): Promise<number[]> =>
      JSON.parse(await oep.ok(['deployment', 'show', '-n', 'blue', '-e', 'quickstart', '--query', 'replicas[].pid'])) as number[];
    await oep.ok(['deployment', 'update', '-n', 'blue', '-e', 'quickstart', '--set', 'instance_count=3', '-o', 'none']);
    assert.equal((await replicas()).length, 3);
    for (let i = 0; i < 3; i++) assertPredictions(JSON.parse((await post(scoringUri, body, key)).text), PREDICTION);
    await oep.ok(['deployment', 'update', '-n', 'blue', '-e', 'quickstart', '--set', 'instance_count=1', '-o', 'none']);
    const [pid, ...others] = await replicas();
    assert.deepEqual(others, []);
    assert.ok(pid! > 0);
    assertPredictions(JSON.parse((await post(scoringUri, body, key)).text), PREDICTION);
  });

  it('refuses a second endpoint with the same name, and names a missing one', async () => {
    const again = await oep.run(['endpoint', 'create', '-f', example('quickstart', 'endpoint.yml')]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /error: Online endpoint quickstart already exists\./);
    const missing = await oep.run(['endpoint', 'show', '-n', 'nope']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^error: Online endpoint nope does not exist\.$/m);
  });

  it('a failing init() fails the create with exit 1, the phase and the traceback', async () => {
    const result = await oep.run(['deployment', 'create', '-f', join(REPO_ROOT, 'test', 'fixtures', 'e2e', 'init-fails', 'deployment.yml'), '--runtime', 'process']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /error: Deployment broken failed in phase "init"/);
    assert.match(result.stderr, /Traceback \(most recent call last\):/);
    assert.match(result.stderr, /RuntimeError: model file weights\.bin is missing/);
    const shown = JSON.parse(await oep.ok(['deployment', 'show', '-n', 'broken', '-e', 'quickstart'])) as { provisioning_state: string };
    assert.equal(shown.provisioning_state, 'Failed');
    await oep.ok(['deployment', 'delete', '-n', 'broken', '-e', 'quickstart', '--yes']);
  });

  it('keeps endpoints, keys and ports across a daemon restart', async () => {
    await oep.ok(['daemon', 'stop']);
    assert.equal(await portIsClosed(scoringUri), true);
    const uri = (await oep.ok(['endpoint', 'show', '-n', 'quickstart', '--query', 'scoring_uri', '-o', 'tsv'])).trim();
    assert.equal(uri, scoringUri);
    const sameKey = (await oep.ok(['endpoint', 'get-credentials', '-n', 'quickstart', '--query', 'primaryKey', '-o', 'tsv'])).trim();
    assert.equal(sameKey, key);
    const answer = await eventually('the restored deployment', async () => {
      const res = await post(scoringUri, body, key);
      return res.status === 200 ? res.text : undefined;
    });
    assertPredictions(JSON.parse(answer), PREDICTION);
  });

  it('a port taken while the daemon was down: says so, and answers once it is free', async () => {
    await oep.ok(['daemon', 'stop']);
    const port = Number(new URL(scoringUri).port);
    const squatter = createServer((_req, res) => res.writeHead(418).end());
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    try {
      const invoked = await oep.run(['endpoint', 'invoke', '-n', 'quickstart', '--request-file', example('quickstart', 'sample-request.json')]);
      assert.equal(invoked.code, 1);
      assert.match(invoked.stderr, new RegExp(`^error: Endpoint quickstart cannot listen on 127\\.0\\.0\\.1:${port} \\(EADDRINUSE, another program holds the port\\); oep keeps trying\\.$`, 'm'));
      assert.match(invoked.stderr, new RegExp(`^hint: Stop the program that holds port ${port} `, 'm'));
      const status = JSON.parse(await oep.ok(['daemon', 'status'])) as { problems: string[] };
      assert.equal(status.problems.length, 1);
      assert.match(status.problems[0]!, /^Endpoint quickstart cannot listen/);
      assert.match(await oep.ok(['traffic', 'show', '-n', 'quickstart']), /^warning: Endpoint quickstart cannot listen/m);
    } finally {
      squatter.closeAllConnections();
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
    }
    const answer = await eventually('the endpoint on its own port again', async () => {
      const res = await post(scoringUri, body, key);
      return res.status === 200 ? res.text : undefined;
    });
    assertPredictions(JSON.parse(answer), PREDICTION);
    const status = JSON.parse(await oep.ok(['daemon', 'status'])) as { problems: string[] };
    assert.deepEqual(status.problems, []);
  });

  it('refuses to delete without --yes when stdin is not a terminal', async () => {
    const result = await oep.run(['endpoint', 'delete', '-n', 'quickstart']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /Refusing to delete without confirmation/);
  });

  it('delete stops the replicas and frees the port', async () => {
    const shown = JSON.parse(await oep.ok(['deployment', 'show', '-n', 'blue', '-e', 'quickstart'])) as { replicas: { origin: string }[] };
    const origin = shown.replicas[0]!.origin;
    await oep.ok(['endpoint', 'delete', '-n', 'quickstart', '--yes']);
    assert.equal(await portIsClosed(scoringUri), true);
    assert.equal(await portIsClosed(origin), true);
    assert.equal(await oep.ok(['endpoint', 'list', '-o', 'json']), '[]\n');
  });
});

describe('process runtime without its interpreter', () => {
  // OEP_PYTHON empty: the interpreter comes from `oep config set python`.
  const oep = new OepSandbox({ OEP_PYTHON: '' });
  // A virtual environment's interpreter, as far as oep can tell: a path that runs python3.
  const venvPython = join(oep.home, 'venv', 'bin', 'python3');
  after(() => oep.close());

  it('refuses the create (exit 2) naming the setting, before anything changes, and the daemon keeps running', async () => {
    await oep.ok(['config', 'set', 'python', '/nonexistent/python3']);
    await oep.ok(['endpoint', 'create', '-f', example('quickstart', 'endpoint.yml'), '-o', 'none']);
    const result = await oep.run(['deployment', 'create', '-f', example('quickstart', 'blue-deployment.yml'), '--runtime', 'process']);
    assert.equal(result.code, 2);
    assert.equal(
      result.stderr,
      'error: The python setting (oep config get python) names the Python interpreter "/nonexistent/python3", which does not exist.\n' +
        'hint: Choose a python3 >= 3.8: oep config set python /path/to/python3 (or OEP_PYTHON=/path/to/python3 on the command). --runtime docker does not use it. Nothing was changed.\n' +
        '(OEP_ERR_PYTHON_NOT_FOUND)\n',
    );
    assert.equal(result.stdout, '');
    assert.equal(await oep.ok(['deployment', 'list', '-e', 'quickstart', '-o', 'json']), '[]\n');
    assert.equal((await oep.run(['daemon', 'status'])).code, 0);
  });

  it('the next create reads the setting again, without a daemon restart', async () => {
    await oep.ok(['config', 'unset', 'python']);
    assert.equal((await oep.ok(['config', 'get', 'python'])).trim(), 'python3');
    await oep.ok(['deployment', 'create', '-f', example('quickstart', 'blue-deployment.yml'), '--runtime', 'process', '-o', 'none']);
  });

  it('a deployment whose interpreter is gone after a daemon restart: says why, and comes back once it is there again', async () => {
    mkdirSync(join(venvPython, '..'), { recursive: true });
    writeFileSync(venvPython, '#!/bin/sh\nexec /usr/bin/python3 "$@"\n', { mode: 0o755 });
    await oep.ok(['deployment', 'update', '-n', 'blue', '-e', 'quickstart', '-o', 'none'], { env: { OEP_PYTHON: venvPython } });
    await oep.ok(['endpoint', 'update', '-n', 'quickstart', '--traffic', 'blue=100', '-o', 'none']);
    await oep.ok(['daemon', 'stop']);
    // The virtual environment is removed while no daemon runs: the recorded interpreter is gone.
    renameSync(venvPython, `${venvPython}.away`);
    await oep.ok(['daemon', 'start']);
    const gone = venvPython.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    const expected = new RegExp(`^Deployment blue of endpoint quickstart could not start after the daemon restarted: .*"${gone}" was not found \\(the deployment's interpreter, recorded by its last create or update; .*\\).* oep keeps trying \\(next in \\d+ s\\)\\.$`);
    const problems = await eventually('the restore problem', async () => {
      const status = JSON.parse(await oep.ok(['daemon', 'status'])) as { problems: string[] };
      return status.problems.length > 0 ? status.problems : undefined;
    });
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, expected);
    assert.match(JSON.parse(await oep.ok(['deployment', 'show', '-n', 'blue', '-e', 'quickstart', '--query', 'problem'])) as string, expected);
    assert.match(await oep.ok(['traffic', 'show', '-n', 'quickstart']), /^warning: Deployment blue of endpoint quickstart could not start/m);
    const invoked = await oep.run(['endpoint', 'invoke', '-n', 'quickstart']);
    assert.equal(invoked.code, 1);
    assert.match(invoked.stderr, /^error: The endpoint answered 503: Deployment blue has no ready replica\.$/m);
    assert.match(invoked.stderr, /^hint: Deployment blue of endpoint quickstart could not start after the daemon restarted/m);

    renameSync(`${venvPython}.away`, venvPython);
    const answer = await eventually(
      'the deployment to come back',
      async () => {
        const result = await oep.run(['endpoint', 'invoke', '-n', 'quickstart', '--request-file', example('quickstart', 'sample-request.json')]);
        return result.code === 0 ? result.stdout : undefined;
      },
      // The restart backoff doubles up to 30 s.
      90_000,
    );
    assertInvokeOutput(answer);
    const status = JSON.parse(await oep.ok(['daemon', 'status'])) as { problems: string[] };
    assert.deepEqual(status.problems, []);
    assert.equal((await oep.run(['deployment', 'show', '-n', 'blue', '-e', 'quickstart', '--query', 'problem'])).stdout.trim(), '');
  });
});

describe('the process runtime names the interpreter that runs a deployment', () => {
  // OEP_PYTHON empty: the interpreter is the setting's default, python3 on PATH.
  const oep = new OepSandbox({ OEP_PYTHON: '' });
  const dir = join(oep.home, 'project');
  // What python3 on PATH is, asked as a user would (a shim or a link names the interpreter it runs).
  const executable = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
  const version = execFileSync('python3', ['--version'], { encoding: 'utf8' }).trim();
  // The command looks python3 up on its PATH and records that path; one that runs another (a
  // pyenv shim) is named with what it runs.
  const found = execFileSync('sh', ['-c', 'command -v python3'], { encoding: 'utf8' }).trim();
  const described = found === executable ? `${executable} (${version})` : `${found} (${executable}, ${version})`;
  const project = (script: string): string => {
    mkdirSync(join(dir, 'code'), { recursive: true });
    writeFileSync(join(dir, 'code', 'score.py'), script);
    const file = join(dir, 'deployment.yml');
    writeFileSync(
      file,
      'name: blue\nendpoint_name: quickstart\ncode_configuration:\n  code: code\n  scoring_script: score.py\nenvironment:\n  image: oep-test/python:bookworm\ninstance_type: Standard_DS3_v2\ninstance_count: 2\n',
    );
    return file;
  };

  before(async () => {
    await oep.ok(['endpoint', 'create', '-f', example('quickstart', 'endpoint.yml'), '-o', 'none']);
  });
  after(() => oep.close());

  it('create says once (two replicas), on stderr, which interpreter runs it, that the image is not used and how to choose another', async () => {
    const file = project('def init():\n    pass\n\ndef run(data):\n    return data\n');
    const result = await oep.run(['deployment', 'create', '-f', file, '--runtime', 'process', '-o', 'none']);
    assert.equal(result.code, 0, result.stderr);
    // (Besides the notice of where the managed identity's tokens come from.)
    assert.equal(
      result.stderr.replace(/^notice: deployment \S+: managed identity tokens .*\n/m, ''),
      `notice: deployment blue runs on the process runtime with ${described}: the environment's image oep-test/python:bookworm is not used (--runtime docker uses it). ` +
        'Another interpreter: OEP_PYTHON=/path/to/python3 oep deployment update -n blue -e quickstart (or oep config set python /path/to/python3, then update)\n',
    );
  });

  it('a module the interpreter lacks fails the update with a hint naming the interpreter, how to install into it or choose another, and the image', async () => {
    const file = project('import oep_absent_module\n\ndef init():\n    pass\n\ndef run(data):\n    return data\n');
    const result = await oep.run(['deployment', 'update', '-f', file, '-o', 'none']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^error: Deployment blue failed in phase "load": the scoring script could not be loaded: ModuleNotFoundError: No module named 'oep_absent_module'$/m);
    const apt = executable.startsWith('/usr/bin/') ? ' (on Debian and Ubuntu: "apt install python3-oep-absent-module")' : '';
    const hint =
      `hint: The process runtime ran deployment blue with ${described}, which cannot import oep_absent_module. ` +
      `Install it there: "${executable} -m pip install oep_absent_module"${apt}, or use an interpreter that has it: OEP_PYTHON=/path/to/python3 oep deployment update -n blue -e quickstart (or oep config set python /path/to/python3, then update). ` +
      "The process runtime does not use the environment's image oep-test/python:bookworm; --runtime docker uses it. " +
      'See the whole log with: oep deployment get-logs -n blue -e quickstart';
    assert.equal(result.stderr.split('\n').filter((line) => line.startsWith('hint: ')).join('\n'), hint);
  });
});
