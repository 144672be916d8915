/**
 * Start-up failures of oep's MLflow scoring script: init() fails (exit 3) with one clear sentence.
 * These need no scikit-learn, so they run with every interpreter of the suite.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { PYTHON } from './harness.js';
import { MLFLOW_FIXTURES, runMlflowUntilExit, type Interpreter } from './mlflow-support.js';

const python: Interpreter = { command: PYTHON, env: {}, label: PYTHON };
const WITHOUT_MLFLOW = { PYTHONPATH: join(MLFLOW_FIXTURES, 'hide-mlflow') };

describe('MLflow no-code scoring: init() failures', () => {
  const temp: string[] = [];
  const modelDir = (files: Record<string, string | Buffer>): string => {
    const root = mkdtempSync(join(tmpdir(), 'oep-mlflow-'));
    temp.push(root);
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(join(root, name, '..'), { recursive: true });
      writeFileSync(join(root, name), content);
    }
    return root;
  };
  afterEach(() => {
    for (const dir of temp.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('a flavour oep cannot load without mlflow: says which, and that the environment needs mlflow', async () => {
    const result = await runMlflowUntilExit({ python, modelDir: join(MLFLOW_FIXTURES, 'pytorch-model'), env: WITHOUT_MLFLOW });
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /oep-server: init\(\) failed/);
    assert.match(
      result.stderr,
      /RuntimeError: MLflow model: The MLflow model in \S+\/pytorch-model\/model has the flavour\(s\) python_function \(loader_module mlflow\.pytorch\), pytorch\. Without the mlflow package oep loads only scikit-learn models .* has no mlflow package\. Add mlflow \(e\.g\. mlflow-skinny\)/,
    );
  });

  it('no MLmodel file under AZUREML_MODEL_DIR', async () => {
    const dir = modelDir({ 'model/model.pkl': 'not a model' });
    const result = await runMlflowUntilExit({ python, modelDir: dir, env: WITHOUT_MLFLOW });
    assert.equal(result.code, 3, result.stderr);
    assert.ok(
      result.stderr.includes(`RuntimeError: MLflow model: No MLflow model under ${dir}: no MLmodel file was found there`),
      result.stderr,
    );
  });

  it('two MLflow models: asks for MLFLOW_MODEL_FOLDER', async () => {
    const mlmodel = 'flavors:\n  sklearn:\n    pickled_model: model.pkl\n';
    const dir = modelDir({ 'a/MLmodel': mlmodel, 'b/MLmodel': mlmodel });
    const result = await runMlflowUntilExit({ python, modelDir: dir, env: WITHOUT_MLFLOW });
    assert.equal(result.code, 3, result.stderr);
    assert.ok(
      result.stderr.includes(`Several MLflow models under ${dir} (a, b): set MLFLOW_MODEL_FOLDER in environment_variables to the one to serve.`),
      result.stderr,
    );
  });

  it('a pickle that needs a package the environment lacks names the module', async () => {
    // A pickle of a class from a module that does not exist, as a model needing a missing package is.
    const pickled = Buffer.from('\x80\x02coep_absent_package.models\nModel\nq\x00)\x81q\x01.', 'latin1');
    const dir = modelDir({
      'model/MLmodel': 'flavors:\n  sklearn:\n    pickled_model: model.pkl\n    serialization_format: pickle\n',
      'model/model.pkl': pickled,
    });
    const result = await runMlflowUntilExit({ python, modelDir: dir, env: WITHOUT_MLFLOW });
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /Loading \S+model\.pkl needs the Python module oep_absent_package \(package oep_absent_package\), which this environment \(\S+\) does not have/);
  });
});
