/**
 * A batch job's worker container as plain data (src/runtimes/docker/batch-launch.ts): Azure's
 * paths inside, what is mounted how, the worker's variables, and a mini-batch's files as the
 * worker sees them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batchContainerOptions, batchDockerLaunch, containerPath, planBatchContainer, type BatchContainerInput } from '../../src/runtimes/docker/batch-launch.js';
import { DockerEngine } from '../../src/runtimes/docker/engine.js';
import { ImageService } from '../../src/runtimes/docker/images.js';
import type { BatchDeploymentSpec } from '../../src/spec/batch-types.js';

function spec(overrides: Partial<BatchDeploymentSpec> = {}): BatchDeploymentSpec {
  return {
    name: 'classifier',
    endpoint_name: 'heart',
    tags: {},
    model: { name: 'heart-model', version: '2', path: '/work/models/heart/' },
    code_configuration: { code: '/work/src/code', scoring_script: './sub/batch_driver.py' },
    environment: { image: 'python:3.11' },
    compute: 'azureml:cpu',
    resources: { instance_count: 1 },
    max_concurrency_per_instance: 1,
    mini_batch_size: 10,
    output_action: 'append_row',
    output_file_name: 'predictions.csv',
    retry_settings: { max_retries: 3, timeout: 30 },
    error_threshold: -1,
    logging_level: 'debug',
    environment_variables: { OEP_BATCH_OUTPUT_DIR: '/user/wins', EXTRA: '1' },
    ...overrides,
  };
}

function input(overrides: Partial<BatchContainerInput> = {}): BatchContainerInput {
  return {
    home: '/home/dev/.oep',
    version: '0.1.0',
    job: 'batchjob-1',
    endpoint: 'heart',
    spec: spec(),
    input: { type: 'uri_folder', path: '/data/in/' },
    outputDir: '/home/dev/.oep/jobs/batchjob-1/outputs/score',
    serverDir: '/opt/oep/server',
    ...overrides,
  };
}

describe('batch worker containers (docker runtime)', () => {
  it('mounts model and code at Azure paths read-only, the output read-write, and runs the batch worker', () => {
    const plan = planBatchContainer(input());
    assert.deepEqual(plan.binds, [
      '/work/models/heart:/var/azureml-app/azureml-models/heart-model/2/heart:ro',
      '/opt/oep/server:/var/azureml-server:ro',
      '/home/dev/.oep/jobs/batchjob-1/outputs/score:/var/azureml-batch/output:rw',
      '/data/in:/var/azureml-batch/input:ro',
      '/work/src/code:/var/azureml-app/code:ro',
    ]);
    assert.equal(plan.workingDir, '/var/azureml-app/code');
    assert.deepEqual(plan.environment, {
      PYTHONUNBUFFERED: '1',
      PYTHONDONTWRITEBYTECODE: '1',
      AZUREML_MODEL_DIR: '/var/azureml-app/azureml-models/heart-model/2',
      // The deployment's environment_variables come last, as on the process runtime.
      OEP_BATCH_OUTPUT_DIR: '/user/wins',
      OEP_BATCH_LOGGING_LEVEL: 'debug',
      OEP_BATCH_SCRIPT: '/var/azureml-app/code/sub/batch_driver.py',
      EXTRA: '1',
    });
    const options = batchContainerOptions(plan, { reference: 'python:3.11', python: '/opt/oep-env/bin/python' }, 1);
    assert.deepEqual(options.Entrypoint, ['/opt/oep-env/bin/python', '/var/azureml-server/oep_batch.py']);
    assert.equal(options.OpenStdin, true);
    assert.equal(options.StdinOnce, true);
    assert.equal(options.Labels?.['oep.batch-job'], 'batchjob-1');
    assert.equal(options.Labels?.['oep.batch-worker'], '1');
    assert.equal(options.Labels?.['oep.home-path'], '/home/dev/.oep');
    assert.equal(options.Labels?.['oep.endpoint'], undefined);
  });

  it('an MLflow model without code: the worker is pointed at the model folder', () => {
    const plan = planBatchContainer(input({ spec: spec({ code_configuration: undefined, model: { path: '/m/model', type: 'mlflow_model' } }) }));
    assert.equal(plan.environment.OEP_BATCH_MLFLOW_MODEL, '/var/azureml-app/azureml-models/classifier-model/1');
    assert.equal(plan.environment.OEP_BATCH_SCRIPT, undefined);
    assert.equal(plan.workingDir, '/var/azureml-app');
  });

  it("maps a mini-batch's host paths to the input mount (a folder, or one file)", () => {
    const folder = planBatchContainer(input()).inputMap;
    assert.equal(containerPath(folder, '/data/in/a/b.csv'), '/var/azureml-batch/input/a/b.csv');
    assert.equal(containerPath(folder, '/data/input2/x.csv'), '/data/input2/x.csv');
    const file = planBatchContainer(input({ input: { type: 'uri_file', path: '/data/one.csv' } })).inputMap;
    assert.equal(containerPath(file, '/data/one.csv'), '/var/azureml-batch/input/one.csv');
  });

  it('a deployment no image can come from is refused before the job exists', () => {
    const context = { engine: new DockerEngine(), images: new ImageService(new DockerEngine()), home: '/h', version: '0' };
    const job = { job: 'j', endpoint: 'heart', input: { type: 'uri_folder' as const, path: '/data' }, outputDir: '/o', logDir: '/l' };
    assert.throws(() => batchDockerLaunch(context, { ...job, spec: spec({ environment: 'azureml:sklearn-env:1' }) }), { code: 'OEP_ERR_RUNTIME_UNAVAILABLE', message: /registered environment "azureml:sklearn-env:1"/ });
    assert.throws(() => batchDockerLaunch(context, { ...job, spec: spec({ model: 'azureml:heart:1' }) }), { code: 'OEP_ERR_SPEC_INVALID' });
  });
});
