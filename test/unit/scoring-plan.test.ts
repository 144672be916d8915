import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { localRunProblems } from '../../src/model/local-run.js';
import { MLFLOW_SCORING_SCRIPT, planEnvironment, scoringPlan } from '../../src/model/scoring-plan.js';
import { planContainer } from '../../src/runtimes/docker/container-spec.js';
import { imageRecipe, MLFLOW_BASE_IMAGE } from '../../src/runtimes/docker/recipe.js';
import type { InferenceConfig } from '../../src/spec/types.js';
import { deploymentSpec } from './docker-fixtures.js';

const ROUTES: InferenceConfig = {
  liveness_route: { port: 8080, path: '/live' },
  readiness_route: { port: 8080, path: '/ready' },
  scoring_route: { port: 8080, path: '/predict' },
};
const CODE = { code: '/src/onlinescoring', scoring_script: 'score.py' };

describe('scoringPlan', () => {
  it("a scoring script runs in oep's server, whatever the model type", () => {
    for (const type of ['custom_model', 'mlflow_model', 'triton_model'] as const) {
      const spec = deploymentSpec({ model: { path: '/m', type }, code_configuration: CODE, environment: { image: 'python:3.11' } });
      assert.deepEqual(scoringPlan(spec), { kind: 'script' }, type);
    }
    assert.deepEqual(scoringPlan(deploymentSpec({ model: { path: '/m' }, environment: { image: 'python:3.11' } })), { kind: 'script' });
  });

  it("an MLflow model without a script gets oep's MLflow script; its environment is the deployment's or the model's", () => {
    assert.deepEqual(scoringPlan(deploymentSpec({ model: { path: '/m/model', type: 'mlflow_model' } })), {
      kind: 'mlflow',
      script: MLFLOW_SCORING_SCRIPT,
      environment: 'model',
    });
    assert.deepEqual(scoringPlan(deploymentSpec({ model: { path: '/m/model', type: 'mlflow_model' }, environment: { image: 'x' } })), {
      kind: 'mlflow',
      script: 'oep_mlflow_score.py',
      environment: 'deployment',
    });
  });

  it('a custom container (inference_config) runs its own server', () => {
    const spec = deploymentSpec({ model: { path: '/m', type: 'mlflow_model' }, environment: { image: 'tritonserver', inference_config: ROUTES } });
    assert.deepEqual(scoringPlan(spec), { kind: 'container', routes: ROUTES });
  });

  it('Triton without a script is unsupported, with the reason and what to do', () => {
    const spec = deploymentSpec({ model: { path: '/models', type: 'triton_model' } });
    const plan = scoringPlan(spec);
    assert.equal(plan.kind, 'unsupported');
    assert.match(plan.kind === 'unsupported' ? plan.reason : '', /needs NVIDIA's Triton image \(nvcr\.io\/nvidia\/tritonserver\) and a GPU/);
    assert.equal(localRunProblems(spec).length, 1);
    assert.match(localRunProblems(spec)[0]!, /^model\.type: triton_model without a scoring script .* Run the Triton image yourself as a custom container/);
  });

  it('planEnvironment names the MLflow model folder, only for the MLflow plan', () => {
    assert.deepEqual(planEnvironment({ kind: 'mlflow', script: MLFLOW_SCORING_SCRIPT, environment: 'model' }, 'model'), { MLFLOW_MODEL_FOLDER: 'model' });
    assert.deepEqual(planEnvironment({ kind: 'script' }, 'model'), {});
  });
});

describe('the docker runtime follows the plan', () => {
  const mlflow = deploymentSpec({ model: { name: 'diabetes', version: '3', path: '/src/mlflow-model', type: 'mlflow_model' } });

  it("an MLflow model without environment: the model's conda.yaml on the MLflow base image (or the one given)", () => {
    assert.deepEqual(imageRecipe(mlflow), { kind: 'mlflow', image: MLFLOW_BASE_IMAGE, modelPath: '/src/mlflow-model' });
    assert.deepEqual(imageRecipe(mlflow, { mlflowBaseImage: 'mirror/mlflow:1' }), { kind: 'mlflow', image: 'mirror/mlflow:1', modelPath: '/src/mlflow-model' });
    assert.deepEqual(imageRecipe({ ...mlflow, environment: { image: 'oep-test/python-mlflow:bookworm' } }), { kind: 'base', image: 'oep-test/python-mlflow:bookworm' });
  });

  it("the container runs oep's MLflow script from the server mount, the model in the cloud layout", () => {
    const plan = planContainer({
      home: '/home/ada/.local/state/oep',
      endpoint: 'ep',
      deployment: 'blue',
      replica: 0,
      generation: 1,
      spec: mlflow,
      image: { reference: 'oep-env:abc', id: 'sha256:111' },
      python: '/opt/oep-env/bin/python',
      server: { dir: '/opt/oep/server', digest: 'd1' },
      version: '0.1.0',
      gpu: false,
    });
    assert.deepEqual(plan.environment, {
      PYTHONUNBUFFERED: '1',
      PYTHONDONTWRITEBYTECODE: '1',
      MLFLOW_MODEL_FOLDER: 'mlflow-model',
      AZUREML_MODEL_DIR: '/var/azureml-app/azureml-models/diabetes/3',
      AZUREML_ENTRY_SCRIPT: '/var/azureml-server/oep_mlflow_score.py',
    });
    assert.equal(plan.command, '/opt/oep-env/bin/python /var/azureml-server/oep_server.py --host 0.0.0.0 --port 5001');
  });

  it('a Triton no-code spec that reached a runtime is refused there too', () => {
    assert.throws(
      () =>
        planContainer({
          home: '/h',
          endpoint: 'ep',
          deployment: 'blue',
          replica: 0,
          generation: 1,
          spec: deploymentSpec({ model: { path: '/models', type: 'triton_model' } }),
          image: { reference: 'x', id: 'sha256:1' },
          python: 'python3',
          server: { dir: '/opt/oep/server', digest: 'd1' },
          version: '0.1.0',
          gpu: false,
        }),
      /Deployment blue cannot run here: model\.type: triton_model/,
    );
  });
});
