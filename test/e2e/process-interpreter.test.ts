import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { killDaemonHard } from '../faults/replica-support.js';
import { eventually, example, OepSandbox } from './harness.js';

/**
 * The process runtime's interpreter is the one the create or update command names (OEP_PYTHON in
 * its environment, else `oep config get python`), recorded with the deployment: not the one in
 * the environment of whichever command started the daemon.
 */

interface Shown {
  provisioning_state: string;
  python?: string;
  replicas: { pid: number | null; ready: boolean }[];
}

/** What python3 on PATH runs as: the stand-in interpreters below exec it. */
const PYTHON = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
const VERSION = execFileSync('python3', ['--version'], { encoding: 'utf8' }).trim();

describe('the interpreter a command names (OEP_PYTHON on create and update)', () => {
  const interpreters = new Map<string, string>();
  const interpreter = (name: string): string => interpreters.get(name)!;
  // The daemon starts with interpreter "a" in its environment; the commands that change the deployment name others.
  const oep = new OepSandbox();
  const dir = join(oep.home, 'project');
  const deploymentFile = join(dir, 'deployment.yml');

  before(async () => {
    // Stand-ins for two virtual environments: each runs python3, says which it is to the
    // scoring script, and records that it ran.
    for (const name of ['a', 'b']) {
      const folder = join(oep.home, `venv-${name}`, 'bin');
      mkdirSync(folder, { recursive: true });
      const file = join(folder, 'python');
      writeFileSync(file, `#!/bin/sh\necho "$$" >> "${join(oep.home, `ran-${name}.log`)}"\nOEP_TEST_INTERPRETER=${name} exec "${PYTHON}" "$@"\n`, { mode: 0o755 });
      interpreters.set(name, file);
    }
    // Every command of the sandbox (and so the daemon it starts) has OEP_PYTHON=a unless the test says otherwise.
    oep.env.OEP_PYTHON = interpreter('a');
    mkdirSync(join(dir, 'code'), { recursive: true });
    writeFileSync(
      join(dir, 'code', 'score.py'),
      'import os\n\ndef init():\n    pass\n\ndef run(data):\n    return {"interpreter": os.environ.get("OEP_TEST_INTERPRETER")}\n',
    );
    writeFileSync(
      deploymentFile,
      'name: blue\nendpoint_name: quickstart\ncode_configuration:\n  code: code\n  scoring_script: score.py\nenvironment:\n  image: oep-test/python:bookworm\ninstance_type: Standard_DS3_v2\ninstance_count: 1\nreadiness_probe:\n  initial_delay: 1\n  period: 1\n',
    );
    await oep.ok(['daemon', 'start']);
    await oep.ok(['endpoint', 'create', '-f', example('quickstart', 'endpoint.yml'), '-o', 'none']);
  });
  after(() => oep.close());

  const show = async (): Promise<Shown> => JSON.parse(await oep.ok(['deployment', 'show', '-n', 'blue', '-e', 'quickstart'])) as Shown;
  /** The interpreter the scoring script ran under, asked through the endpoint. */
  const ranUnder = async (): Promise<string> => {
    const answer = await oep.ok(['endpoint', 'invoke', '-n', 'quickstart', '-d', 'blue', '--request-file', example('quickstart', 'sample-request.json')]);
    return (JSON.parse(answer) as { interpreter: string }).interpreter;
  };
  /** The deployment's replica pids once every replica it shows is ready. */
  const readyPids = (): Promise<number[]> =>
    eventually(
      'the replicas to be ready',
      async () => {
        const shown = await show();
        return shown.replicas.length > 0 && shown.replicas.every((replica) => replica.ready) ? shown.replicas.map((replica) => replica.pid!) : undefined;
      },
      60_000,
    );

  it("create with OEP_PYTHON runs the command's interpreter, not the daemon's, and says so", async () => {
    const result = await oep.run(['deployment', 'create', '-f', deploymentFile, '--runtime', 'process', '-o', 'none'], { env: { OEP_PYTHON: interpreter('b') } });
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stderr,
      new RegExp(
        `^notice: deployment blue runs on the process runtime with ${escape(interpreter('b'))} \\(${escape(PYTHON)}, ${escape(VERSION)}\\): the environment's image oep-test/python:bookworm is not used \\(--runtime docker uses it\\)\\. ` +
          `Another interpreter: OEP_PYTHON=/path/to/python3 oep deployment update -n blue -e quickstart \\(an update without OEP_PYTHON uses oep config get python\\)$`,
        'm',
      ),
    );
    assert.equal(await ranUnder(), 'b');
    assert.equal(existsSync(join(oep.home, 'ran-a.log')), false, 'the daemon\'s OEP_PYTHON ran nothing');
  });

  it('deployment show names it', async () => {
    assert.equal((await oep.ok(['deployment', 'show', '-n', 'blue', '-e', 'quickstart', '--query', 'python', '-o', 'tsv'])).trim(), interpreter('b'));
  });

  it('a restarted daemon (started by a command with another OEP_PYTHON) keeps it', async () => {
    await oep.ok(['daemon', 'stop']);
    // The sandbox's OEP_PYTHON ("a") is in the environment of the command that starts the daemon again.
    await oep.ok(['endpoint', 'list', '-o', 'none']);
    await readyPids();
    assert.equal(await ranUnder(), 'b');
    assert.equal((await show()).python, interpreter('b'));
  });

  it('a daemon killed hard: the next one adopts the replica that runs it', async () => {
    const [before] = await readyPids();
    await killDaemonHard(oep);
    await oep.ok(['endpoint', 'list', '-o', 'none']);
    assert.deepEqual(await readyPids(), [before]);
    assert.equal(await ranUnder(), 'b');
  });

  it('an update with another OEP_PYTHON switches, says so, and restarts the replicas', async () => {
    const [before] = await readyPids();
    const result = await oep.run(['deployment', 'update', '-n', 'blue', '-e', 'quickstart', '-o', 'none'], { env: { OEP_PYTHON: interpreter('a') } });
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stderr,
      new RegExp(`^notice: deployment blue: the process runtime's interpreter changes from ${escape(interpreter('b'))} \\(OEP_PYTHON\\) to ${escape(interpreter('a'))} \\(OEP_PYTHON\\); its replicas restart with it$`, 'm'),
    );
    const [after] = await readyPids();
    assert.notEqual(after, before);
    assert.equal(await ranUnder(), 'a');
    assert.equal((await show()).python, interpreter('a'));
  });

  it('without OEP_PYTHON, an update takes the python setting', async () => {
    await oep.ok(['config', 'set', 'python', interpreter('b')]);
    const result = await oep.run(['deployment', 'update', '-n', 'blue', '-e', 'quickstart', '-o', 'none'], { env: { OEP_PYTHON: '' } });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /interpreter changes from \S+ \(OEP_PYTHON\) to \S+ \(oep config get python\)/);
    assert.equal(await ranUnder(), 'b');
    await oep.ok(['config', 'unset', 'python']);
  });

  it('an OEP_PYTHON that does not exist or cannot run: exit 2 naming it, and nothing changes', async () => {
    const before = await show();
    const missing = join(oep.home, 'venv-gone', 'bin', 'python');
    const refused = await oep.run(['deployment', 'update', '-n', 'blue', '-e', 'quickstart', '-o', 'none'], { env: { OEP_PYTHON: missing } });
    assert.equal(refused.code, 2);
    assert.equal(
      refused.stderr,
      `error: OEP_PYTHON names the Python interpreter "${missing}", which does not exist.\n` +
        'hint: Set OEP_PYTHON to a python3 >= 3.8 (a path, or a name on PATH), or unset it to use oep config get python. --runtime docker does not use it. Nothing was changed.\n' +
        '(OEP_ERR_PYTHON_NOT_FOUND)\n',
    );
    const notExecutable = join(oep.home, 'project', 'code', 'score.py');
    const refusedToo = await oep.run(['deployment', 'create', '-f', deploymentFile, '-n', 'green', '--runtime', 'process', '-o', 'none'], { env: { OEP_PYTHON: notExecutable } });
    assert.equal(refusedToo.code, 2);
    assert.match(refusedToo.stderr, new RegExp(`^error: OEP_PYTHON names the Python interpreter "${escape(notExecutable)}", which is not executable\\.$`, 'm'));
    const after = await show();
    assert.deepEqual(after, before);
    assert.deepEqual(
      (JSON.parse(await oep.ok(['deployment', 'list', '-e', 'quickstart'])) as { name: string }[]).map((deployment) => deployment.name),
      ['blue'],
    );
    assert.equal(await ranUnder(), 'b');
  });

  it("--watch: every reload runs the watching command's interpreter, whatever another command set meanwhile", async () => {
    const watching = oep.start(['deployment', 'update', '-n', 'blue', '-e', 'quickstart', '--watch', '-o', 'none'], { env: { OEP_PYTHON: interpreter('b') } });
    try {
      await eventually('the watch to start', async () => (watching.stderr.includes('watching blue of quickstart') ? true : undefined), 120_000);
      assert.equal(await ranUnder(), 'b');
      // Another shell switches the deployment to "a" ...
      await oep.ok(['deployment', 'update', '-n', 'blue', '-e', 'quickstart', '-o', 'none'], { env: { OEP_PYTHON: interpreter('a') } });
      assert.equal(await ranUnder(), 'a');
      // ... and the next save reloads it with the watching command's "b" (the daemon's environment has "a").
      const script = join(dir, 'code', 'score.py');
      writeFileSync(script, `${readFileSync(script, 'utf8')}\n# saved\n`);
      await eventually('the reload', async () => (/^reloaded blue in \d+\.\d s$/m.test(watching.stderr) ? true : undefined), 120_000);
      assert.equal(await ranUnder(), 'b');
      assert.equal((await show()).python, interpreter('b'));
    } finally {
      watching.child.kill('SIGINT');
      await watching.exited;
    }
  });

  it('the interpreters recorded that they ran', () => {
    assert.ok(readFileSync(join(oep.home, 'ran-b.log'), 'utf8').trim().length > 0);
    assert.ok(readFileSync(join(oep.home, 'ran-a.log'), 'utf8').trim().length > 0);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
