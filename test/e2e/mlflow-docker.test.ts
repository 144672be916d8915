/**
 * An MLflow model deployed with no scoring script on the docker runtime: with an environment
 * image that has scikit-learn but no mlflow (oep-test/python-mlflow:bookworm), and without an
 * environment, where oep builds one from the model's conda.yaml and says clearly when it cannot.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { closeDockerSandbox, dockerSkipReason, orphanContainers } from './docker-harness.js';
import { assertPredictions, OepSandbox } from './harness.js';
import { ENDPOINT, mlflowProject, post, SPLIT_PREDICTIONS, WRONG_COLUMN_MESSAGE, WRONG_COLUMN_REQUEST, type MlflowProject } from './mlflow-fixture.js';
import { IN_MLFLOW_IMAGE, MLFLOW_IMAGE } from '../server/mlflow-support.js';

const skip = await dockerSkipReason([MLFLOW_IMAGE]);
/** A base image that exists nowhere: the build of a no-environment MLflow deployment cannot start. */
const MISSING_BASE = 'oep-test/no-such-mlflow-base:missing';

describe('MLflow no-code deployment on the docker runtime', { skip }, () => {
  let oep: OepSandbox;
  let project: MlflowProject;

  before(async () => {
    // Written by the image's own python, so the pickle matches the scikit-learn that serves it.
    project = await mlflowProject(IN_MLFLOW_IMAGE);
    oep = new OepSandbox({ OEP_MLFLOW_BASE_IMAGE: MISSING_BASE });
    await oep.ok(['endpoint', 'create', '-f', project.endpointFile, '-o', 'none']);
  });
  after(async () => {
    const left = oep ? await closeDockerSandbox(oep) : [];
    project?.remove();
    assert.deepEqual(left, [], 'containers left by this sandbox');
    assert.deepEqual((await orphanContainers()).map((container) => container.Names), [], 'oep containers whose OEP_HOME is gone');
  });

  it(`with environment.image ${MLFLOW_IMAGE}: answers a split-orient request and refuses a wrong column`, async () => {
    const file = project.deployment('green', ['environment:', `  image: ${MLFLOW_IMAGE}`]);
    const shown = JSON.parse(await oep.ok(['deployment', 'create', '-f', file, '--all-traffic', '--runtime', 'docker'])) as { provisioning_state: string };
    assert.equal(shown.provisioning_state, 'Succeeded');
    assertPredictions(JSON.parse(await oep.ok(['endpoint', 'invoke', '-n', ENDPOINT, '--request-file', project.requestFile])), SPLIT_PREDICTIONS);

    const scoringUri = (await oep.ok(['endpoint', 'show', '-n', ENDPOINT, '--query', 'scoring_uri', '-o', 'tsv'])).trim();
    const key = (await oep.ok(['endpoint', 'get-credentials', '-n', ENDPOINT, '--query', 'primaryKey', '-o', 'tsv'])).trim();
    const res = await post(scoringUri, WRONG_COLUMN_REQUEST, key);
    assert.equal(res.status, 424);
    assert.equal(res.headers.get('ms-azureml-model-error-statuscode'), '400');
    assert.deepEqual(JSON.parse(res.text), { message: WRONG_COLUMN_MESSAGE });

    const prepared = await oep.ok(['deployment', 'get-logs', '-n', 'green', '-e', ENDPOINT, '--container', 'storage-initializer']);
    assert.match(prepared, /^ {2}AZUREML_ENTRY_SCRIPT=\/var\/azureml-server\/oep_mlflow_score\.py$/m);
    assert.match(prepared, /^ {2}AZUREML_MODEL_DIR=\/var\/azureml-app\/azureml-models\/sklearn-diabetes\/1$/m);
    assert.match(prepared, /^ {2}MLFLOW_MODEL_FOLDER=model$/m);
  });

  it("without an environment: builds on the MLflow base image with the model's conda.yaml, and says what to do when it cannot", async () => {
    const result = await oep.run(['deployment', 'create', '-f', project.deployment('noenv'), '--runtime', 'docker']);
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      new RegExp(
        `Deployment noenv failed in phase "build": it is an MLflow model without an environment, and building one from \\S+/model/conda\\.yaml on ${MISSING_BASE} \\(as Azure does\\) failed: `,
      ),
    );
    assert.match(result.stderr, /Offline, give the deployment an environment that already has python3 and the model's packages .*--set environment\.image=<image>/);
  });
});
