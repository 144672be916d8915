/**
 * An MLflow model deployed with no scoring script and no environment on the process runtime: oep
 * runs its own MLflow scoring script with the configured interpreter (`oep config set python`).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertPredictions, OepSandbox } from './harness.js';
import { ENDPOINT, mlflowProject, post, SPLIT_PREDICTIONS, WRONG_COLUMN_MESSAGE, WRONG_COLUMN_REQUEST, type MlflowProject } from './mlflow-fixture.js';
import { findSklearnPython, sklearnSkipReason } from '../server/mlflow-support.js';

const skip = await sklearnSkipReason();

describe('MLflow no-code deployment on the process runtime', { skip }, () => {
  let oep: OepSandbox;
  let project: MlflowProject;
  let scoringUri = '';
  let key = '';

  before(async () => {
    const python = (await findSklearnPython())!;
    project = await mlflowProject(python);
    // python.env: what an in-image interpreter needs to know (which image), for the daemon's children.
    oep = new OepSandbox(python.env);
    await oep.ok(['config', 'set', 'python', python.command]);
    await oep.ok(['endpoint', 'create', '-f', project.endpointFile, '-o', 'none']);
  });
  after(async () => {
    await oep?.close();
    project?.remove();
  });

  it('validates without a warning: the deployment needs neither scoring script nor environment', async () => {
    const result = await oep.run(['validate', '-f', project.deployment('blue')]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `${project.dir}/blue.yml: valid deployment "blue"\n`);
    assert.equal(result.stderr, '');
  });

  it('creates the deployment, which answers a split-orient request with the predictions', async () => {
    const shown = JSON.parse(await oep.ok(['deployment', 'create', '-f', project.deployment('blue'), '--all-traffic', '--runtime', 'process'])) as {
      provisioning_state: string;
    };
    assert.equal(shown.provisioning_state, 'Succeeded');
    const out = await oep.ok(['endpoint', 'invoke', '-n', ENDPOINT, '--request-file', project.requestFile]);
    assertPredictions(JSON.parse(out), SPLIT_PREDICTIONS);
  });

  it("refuses a wrong column: the model's 400, naming the column, reaches the client as Azure's 424", async () => {
    scoringUri = (await oep.ok(['endpoint', 'show', '-n', ENDPOINT, '--query', 'scoring_uri', '-o', 'tsv'])).trim();
    key = (await oep.ok(['endpoint', 'get-credentials', '-n', ENDPOINT, '--query', 'primaryKey', '-o', 'tsv'])).trim();
    const res = await post(scoringUri, WRONG_COLUMN_REQUEST, key);
    assert.equal(res.status, 424);
    assert.equal(res.headers.get('ms-azureml-model-error-statuscode'), '400');
    assert.equal(res.headers.get('ms-azureml-model-error-reason'), WRONG_COLUMN_MESSAGE);
    assert.deepEqual(JSON.parse(res.text), { message: WRONG_COLUMN_MESSAGE });
  });

  it('serves swagger.json built from the signature', async () => {
    const res = await fetch(scoringUri.replace(/\/score$/, '/swagger.json'), { headers: { authorization: `Bearer ${key}` } });
    assert.equal(res.status, 200);
    const doc = (await res.json()) as { definitions: { ServiceInput: { properties: { input_data: { format: string } } } } };
    assert.equal(doc.definitions.ServiceInput.properties.input_data.format, 'pandas.DataFrame:split');
  });

  it("runs oep's MLflow script: the storage-initializer and replica logs say so", async () => {
    const prepared = await oep.ok(['deployment', 'get-logs', '-n', 'blue', '-e', ENDPOINT, '--container', 'storage-initializer']);
    assert.match(prepared, /AZUREML_ENTRY_SCRIPT=\S+\/server\/oep_mlflow_score\.py/);
    assert.match(prepared, /MLFLOW_MODEL_FOLDER=model/);
    const logs = await oep.ok(['deployment', 'get-logs', '-n', 'blue', '-e', ENDPOINT]);
    assert.match(logs, /oep-mlflow: loaded the MLflow model in \S+\/model (without mlflow: python_function flavour \(loader_module mlflow\.sklearn\), cloudpickle|with mlflow)/);
    assert.match(logs, /oep-mlflow: input signature: columns age \(long\), bmi \(double\), bp \(double\)/);
  });
});
