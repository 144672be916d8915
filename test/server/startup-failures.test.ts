import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FIXTURES, runUntilExit } from './harness.js';

describe('oep-server start-up failures', () => {
  it('exits 3 when init() raises, logging the traceback and the model directory', async () => {
    const modelDir = join(FIXTURES, 'init_raises', 'model');
    const result = await runUntilExit({ fixture: 'init_raises', env: { AZUREML_MODEL_DIR: modelDir } });
    assert.equal(result.code, 3);
    assert.doesNotMatch(result.stdout, /oep-server: ready on/);
    assert.match(result.stderr, /^oep-server: init\(\) failed\nTraceback \(most recent call last\):\n/m);
    assert.match(result.stderr, new RegExp(`RuntimeError: init_raises: cannot load ${modelDir}/sklearn/v1/model\\.pkl\\n`));
    assert.ok(
      result.stderr.includes(
        'Model Directory Contents:\nmodel/\n    sklearn/\n        labels.json\n        v1/\n            model.joblib\n',
      ),
      result.stderr,
    );
  });

  it('lists at most 200 lines of the model directory', async () => {
    const modelDir = await mkdtemp(join(tmpdir(), 'oep-model-'));
    try {
      await mkdir(join(modelDir, 'sklearn', 'v1'), { recursive: true });
      await Promise.all(
        Array.from({ length: 250 }, (_, i) => writeFile(join(modelDir, 'sklearn', 'v1', `part-${String(i).padStart(3, '0')}.bin`), '')),
      );
      const result = await runUntilExit({ fixture: 'init_raises', env: { AZUREML_MODEL_DIR: modelDir } });
      assert.equal(result.code, 3);
      const tree = result.stderr.slice(result.stderr.indexOf('Model Directory Contents:\n'));
      const lines = tree.split('\n');
      assert.equal(lines[1], `${modelDir.split('/').pop()}/`);
      assert.equal(lines[2], '    sklearn/');
      assert.equal(lines[3], '        v1/');
      assert.equal(lines[4], '            part-000.bin');
      assert.equal(lines[200], '            part-196.bin');
      assert.equal(lines[201], 'Output Truncated. First 200 lines shown.');
      assert.equal(lines.length, 203); // the last line ends with a newline
    } finally {
      await rm(modelDir, { recursive: true, force: true });
    }
  });

  it('says so when the model directory does not exist', async () => {
    const result = await runUntilExit({ fixture: 'init_raises', env: { AZUREML_MODEL_DIR: '/nonexistent/oep/model' } });
    assert.equal(result.code, 3);
    assert.match(result.stderr, /Model directory \/nonexistent\/oep\/model does not exist\.\n/);
  });

  it('exits 3 with the traceback when the entry script cannot be imported', async () => {
    const result = await runUntilExit({ fixture: 'import_error' });
    assert.equal(result.code, 3);
    assert.match(result.stderr, /oep-server: init\(\) failed: could not import the entry script .*import_error\/score\.py\n/);
    assert.match(result.stderr, /ModuleNotFoundError: No module named 'oep_no_such_module_for_tests'\n/);
  });

  it('exits 3 with the error when the entry script has a syntax error', async () => {
    const result = await runUntilExit({ fixture: 'syntax_error' });
    assert.equal(result.code, 3);
    assert.match(result.stderr, /oep-server: init\(\) failed: could not import the entry script .*syntax_error\/score\.py\n/);
    assert.match(result.stderr, /SyntaxError: /);
  });

  it('exits 3 when the script has no run()', async () => {
    const result = await runUntilExit({ fixture: 'no_run' });
    assert.equal(result.code, 3);
    assert.match(result.stderr, /oep-server: init\(\) failed: User script at .*no_run\/score\.py does not have a run\(\) function defined\.\n/);
  });

  it('exits 3 when the entry script does not exist', async () => {
    const result = await runUntilExit({ fixture: 'plain', env: { AZUREML_ENTRY_SCRIPT: 'missing.py' } });
    assert.equal(result.code, 3);
    assert.match(result.stderr, /oep-server: init\(\) failed: entry script .*plain\/missing\.py \(AZUREML_ENTRY_SCRIPT\) does not exist\n/);
  });

  it('exits 3 from every worker count, stopping the other workers', async () => {
    const result = await runUntilExit({ fixture: 'init_raises', env: { WORKER_COUNT: '3', AZUREML_MODEL_DIR: join(FIXTURES, 'init_raises', 'model') } });
    assert.equal(result.code, 3);
    assert.match(result.stderr, /RuntimeError: init_raises/);
  });

  it('exits 3 on a malformed WORKER_COUNT or SCORING_TIMEOUT_MS', async () => {
    const workers = await runUntilExit({ fixture: 'plain', env: { WORKER_COUNT: 'two' } });
    assert.equal(workers.code, 3);
    assert.equal(workers.stderr, "oep-server: WORKER_COUNT must be an integer, got 'two'\n");
    const timeout = await runUntilExit({ fixture: 'plain', env: { SCORING_TIMEOUT_MS: '0' } });
    assert.equal(timeout.code, 3);
    assert.equal(timeout.stderr, 'oep-server: SCORING_TIMEOUT_MS must be at least 1, got 0\n');
  });
});
