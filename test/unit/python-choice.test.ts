import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { resolvePythonChoice } from '../../src/engine/python-choice.js';
import { OepError } from '../../src/errors.js';
import { pythonProblemText, recordedPythonOf, type PythonChoice } from '../../src/model/process-interpreter.js';

/** A folder of stand-in interpreters: `python3` and `venv-python` executable, `stale` not. */
function interpreters(): { dir: string; bin: string; other: string } {
  const dir = mkdtempSync(join(tmpdir(), 'oep-python-choice-'));
  const bin = join(dir, 'bin');
  const other = join(dir, 'other');
  mkdirSync(bin);
  mkdirSync(other);
  for (const [folder, name, mode] of [
    [bin, 'python3', 0o755],
    [bin, 'venv-python', 0o755],
    [bin, 'stale', 0o644],
    [other, 'stale', 0o755],
    [other, 'only-here', 0o644],
  ] as const) {
    writeFileSync(join(folder, name), '#!/bin/sh\nexec /usr/bin/python3 "$@"\n');
    chmodSync(join(folder, name), mode);
  }
  return { dir, bin, other };
}

describe('the interpreter a create or update names', () => {
  const { dir, bin, other } = interpreters();
  after(() => rmSync(dir, { recursive: true, force: true }));
  const resolve = (env: NodeJS.ProcessEnv, setting = 'python3', cwd = dir): Promise<PythonChoice> =>
    resolvePythonChoice({ env: { PATH: `${bin}:${other}`, ...env }, cwd, setting: async () => setting, settingDefault: 'python3' });

  it('OEP_PYTHON of the command wins over the setting', async () => {
    assert.deepEqual(await resolve({ OEP_PYTHON: join(bin, 'venv-python') }, '/somewhere/else'), {
      named: join(bin, 'venv-python'),
      source: 'OEP_PYTHON',
      path: join(bin, 'venv-python'),
    });
  });

  it('OEP_PYTHON empty is unset: the setting, or the default when it is the default', async () => {
    assert.deepEqual(await resolve({ OEP_PYTHON: '' }, join(bin, 'venv-python')), { named: join(bin, 'venv-python'), source: 'setting', path: join(bin, 'venv-python') });
    assert.deepEqual(await resolve({}), { named: 'python3', source: 'default', path: join(bin, 'python3') });
  });

  it("a name is looked up on the command's PATH, skipping files that cannot run; a relative path against its directory", async () => {
    assert.deepEqual(await resolve({ OEP_PYTHON: 'stale' }), { named: 'stale', source: 'OEP_PYTHON', path: join(other, 'stale') });
    assert.deepEqual(await resolve({ OEP_PYTHON: 'bin/venv-python' }), { named: 'bin/venv-python', source: 'OEP_PYTHON', path: join(bin, 'venv-python') });
    assert.deepEqual(await resolve({ OEP_PYTHON: './venv-python' }, 'python3', bin), { named: './venv-python', source: 'OEP_PYTHON', path: join(bin, 'venv-python') });
  });

  it('says what stops it from running: missing, not a file, not executable', async () => {
    assert.deepEqual(await resolve({ OEP_PYTHON: '/nonexistent/python3' }), { named: '/nonexistent/python3', source: 'OEP_PYTHON', path: '/nonexistent/python3', problem: 'missing' });
    assert.deepEqual(await resolve({ OEP_PYTHON: 'python9' }), { named: 'python9', source: 'OEP_PYTHON', path: 'python9', problem: 'missing' });
    assert.deepEqual(await resolve({}, bin), { named: bin, source: 'setting', path: bin, problem: 'not-a-file' });
    assert.deepEqual(await resolve({}, join(bin, 'stale')), { named: join(bin, 'stale'), source: 'setting', path: join(bin, 'stale'), problem: 'not-executable' });
    assert.deepEqual(await resolve({ OEP_PYTHON: 'only-here' }), { named: 'only-here', source: 'OEP_PYTHON', path: join(other, 'only-here'), problem: 'not-executable' });
    assert.deepEqual(await resolve({ PATH: other }), { named: 'python3', source: 'default', path: 'python3', problem: 'missing' });
  });
});

describe('what a deployment records of the command\'s interpreter', () => {
  const good: PythonChoice = { named: 'python3', source: 'default', path: '/usr/bin/python3' };
  const missing: PythonChoice = { named: '/opt/venv/bin/python', source: 'OEP_PYTHON', path: '/opt/venv/bin/python', problem: 'missing' };

  it('the process runtime records the path and where it came from', () => {
    assert.deepEqual(recordedPythonOf('process', good, undefined), { path: '/usr/bin/python3', source: 'default' });
    assert.deepEqual(recordedPythonOf('process', { ...good, source: 'OEP_PYTHON' }, { path: '/old', source: 'setting' }), { path: '/usr/bin/python3', source: 'OEP_PYTHON' });
  });

  it('docker records none and checks nothing', () => {
    assert.equal(recordedPythonOf('docker', good, undefined), undefined);
    assert.equal(recordedPythonOf('docker', missing, { path: '/usr/bin/python3', source: 'default' }), undefined);
  });

  it('a request without one keeps what was recorded (none for older records)', () => {
    assert.deepEqual(recordedPythonOf('process', undefined, { path: '/usr/bin/python3', source: 'setting' }), { path: '/usr/bin/python3', source: 'setting' });
    assert.equal(recordedPythonOf('process', undefined, undefined), undefined);
  });

  it('one that cannot run is refused on the process runtime: exit 2, naming OEP_PYTHON', () => {
    assert.throws(
      () => recordedPythonOf('process', missing, undefined),
      (error: unknown) =>
        error instanceof OepError &&
        error.code === 'OEP_ERR_PYTHON_NOT_FOUND' &&
        error.exitCode === 2 &&
        error.message === 'OEP_PYTHON names the Python interpreter "/opt/venv/bin/python", which does not exist.' &&
        error.hint === 'Set OEP_PYTHON to a python3 >= 3.8 (a path, or a name on PATH), or unset it to use oep config get python. --runtime docker does not use it. Nothing was changed.',
    );
  });

  it('the message names the setting or the default it came from, and what is wrong', () => {
    assert.deepEqual(pythonProblemText({ named: 'py/thon', source: 'setting', path: '/home/ada/py/thon', problem: 'not-executable' }), {
      message: 'The python setting (oep config get python) names the Python interpreter "py/thon" (/home/ada/py/thon), which is not executable.',
      hint: 'Choose a python3 >= 3.8: oep config set python /path/to/python3 (or OEP_PYTHON=/path/to/python3 on the command). --runtime docker does not use it. Nothing was changed.',
    });
    assert.equal(pythonProblemText({ named: 'python3', source: 'default', path: 'python3', problem: 'missing' }).message, 'The process runtime\'s default Python interpreter "python3" cannot be used: it is not on PATH.');
    assert.equal(pythonProblemText({ named: 'python3.12', source: 'OEP_PYTHON', path: 'python3.12', problem: 'missing' }).message, 'OEP_PYTHON names the Python interpreter "python3.12", which is not on PATH.');
    assert.equal(pythonProblemText({ named: '/usr/lib', source: 'setting', path: '/usr/lib', problem: 'not-a-file' }).message, 'The python setting (oep config get python) names the Python interpreter "/usr/lib", which is not a file.');
  });

  it('a path that is not absolute, or an unknown source, is not recorded', () => {
    assert.throws(() => recordedPythonOf('process', { named: 'python3', source: 'default', path: 'python3' }, undefined), /not an absolute path/);
    assert.throws(() => recordedPythonOf('process', { named: 'x', source: 'elsewhere' as never, path: '/x' }, undefined), /not an absolute path/);
  });
});
