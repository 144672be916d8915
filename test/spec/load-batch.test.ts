import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  BATCH_DEPLOYMENT_KEYS,
  BATCH_ENDPOINT_KEYS,
  DATA_KEYS,
  MODEL_BATCH_DEPLOYMENT_KEYS,
  MODEL_BATCH_SETTINGS_KEYS,
  loadBatchDeploymentSpec,
  loadBatchEndpointSpec,
  loadDataAsset,
  validateBatchDeploymentObject,
  validateBatchEndpointObject,
} from '../../src/spec/index.js';
import { getValidator, type SchemaName } from '../../src/spec/schemas.js';
import { ROOT, formatted, withTree } from './support.js';

/** The files every deployment below names. */
const CODE = {
  'model/model.pkl': 'x',
  'code/batch_driver.py': 'def init(): pass\ndef run(mini_batch): return mini_batch\n',
};

/** A batch deployment as Azure's samples write it without `type`: the settings at the top level. */
const CLASSIC = [
  'name: classifier',
  'endpoint_name: heart-batch',
  'model: {path: model/model.pkl}',
  'code_configuration: {code: code, scoring_script: batch_driver.py}',
  'environment: {image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest}',
  'compute: azureml:batch-cluster',
];

/** Azure's documented defaults of a model batch deployment (reference-yaml-deployment-batch). */
const AZURE_DEFAULTS = {
  resources: { instance_count: 1 },
  max_concurrency_per_instance: 1,
  mini_batch_size: 10,
  output_action: 'append_row',
  output_file_name: 'predictions.csv',
  retry_settings: { max_retries: 3, timeout: 30 },
  error_threshold: -1,
  logging_level: 'info',
  environment_variables: {},
};

function schemaKeys(name: SchemaName, under?: string): string[] {
  const schema = JSON.parse(readFileSync(join(ROOT, 'schemas', `${name}.schema.json`), 'utf8')) as { properties: Record<string, { properties?: object }> };
  return Object.keys(under ? (schema.properties[under]!.properties ?? {}) : schema.properties).sort();
}

test('the batch schemas have exactly the keys batch-types.ts lists, and compile under ajv strict mode', () => {
  assert.deepEqual(schemaKeys('batch-endpoint'), [...BATCH_ENDPOINT_KEYS].sort());
  assert.deepEqual(schemaKeys('batch-deployment'), [...BATCH_DEPLOYMENT_KEYS].sort());
  assert.deepEqual(schemaKeys('batch-deployment.model'), [...MODEL_BATCH_DEPLOYMENT_KEYS].sort());
  assert.deepEqual(schemaKeys('batch-deployment.model', 'settings'), [...MODEL_BATCH_SETTINGS_KEYS].sort());
  assert.deepEqual(schemaKeys('data'), [...DATA_KEYS].sort());
  for (const name of ['batch-endpoint', 'batch-deployment', 'batch-deployment.model', 'data'] as const) assert.equal(getValidator(name), getValidator(name), name);
});

test('a batch endpoint gets aad_token and no default deployment; -n overrides the file', async () => {
  await withTree({ 'endpoint.yml': 'name: from-file\ndescription: nightly scoring\nid: ignored\n' }, async (dir) => {
    const result = await loadBatchEndpointSpec({ file: 'endpoint.yml', cwd: dir, name: 'heart-batch' });
    assert.deepEqual(formatted(result), { errors: [], warnings: [] });
    assert.deepEqual(result.value, { name: 'heart-batch', description: 'nightly scoring', tags: {}, auth_mode: 'aad_token', defaults: {} });
  });
});

test("a batch endpoint's AADToken loads as aad_token, and defaults.deployment_name is kept", () => {
  const result = validateBatchEndpointObject({ name: 'heart-batch', auth_mode: 'AADToken', defaults: { deployment_name: 'blue' } }, 'batch endpoint heart-batch');
  assert.deepEqual(result.value, { name: 'heart-batch', tags: {}, auth_mode: 'aad_token', defaults: { deployment_name: 'blue' } });
});

test("online endpoints' keys and auth modes in a batch endpoint are explained, at their line", async () => {
  await withTree({ 'endpoint.yml': 'name: heart-batch\nauth_mode: key\ntraffic: {blue: 100}\ndefaults: {deployment: blue}\n' }, async (dir) => {
    const result = await loadBatchEndpointSpec({ file: 'endpoint.yml', cwd: dir });
    assert.deepEqual(formatted(result).errors, [
      'endpoint.yml:2:12 auth_mode: "key" is only available on online endpoints.\n  hint: create an online endpoint with oep endpoint create, or use aad_token',
      'endpoint.yml:3:1 traffic: Only available on online endpoints.\n  hint: create an online endpoint with oep endpoint create, or remove traffic',
      'endpoint.yml:4:12 defaults.deployment: Unknown field.',
    ]);
  });
});

test('a classic batch deployment (no type) loads with absolute paths and every Azure default', async () => {
  await withTree({ ...CODE, 'deployment.yml': CLASSIC.join('\n') }, async (dir) => {
    const result = await loadBatchDeploymentSpec({ file: 'deployment.yml', cwd: dir });
    assert.deepEqual(formatted(result), { errors: [], warnings: [] });
    assert.deepEqual(result.value, {
      name: 'classifier',
      endpoint_name: 'heart-batch',
      tags: {},
      model: { path: join(dir, 'model/model.pkl') },
      code_configuration: { code: join(dir, 'code'), scoring_script: 'batch_driver.py' },
      environment: { image: 'mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest' },
      compute: 'azureml:batch-cluster',
      ...AZURE_DEFAULTS,
    });
  });
});

test('type: model with settings loads as the same top-level form (settings.instance_count -> resources)', async () => {
  const yaml = [
    ...CLASSIC,
    'type: model',
    'environment_variables: {A: "1", B: "2"}',
    'settings:',
    '  mini_batch_size: 5',
    '  instance_count: 2',
    '  output_action: summary_only',
    '  retry_settings: {timeout: 300}',
    '  logging_level: Debug',
    '  environment_variables: {B: "3"}',
  ];
  await withTree({ ...CODE, 'deployment.yml': yaml.join('\n') }, async (dir) => {
    const result = await loadBatchDeploymentSpec({ file: 'deployment.yml', cwd: dir });
    assert.deepEqual(formatted(result), { errors: [], warnings: [] });
    const value = result.value!;
    assert.equal('type' in value || 'settings' in value, false);
    assert.deepEqual(value.resources, { instance_count: 2 });
    assert.equal(value.mini_batch_size, 5);
    assert.equal(value.output_action, 'summary_only');
    assert.deepEqual(value.retry_settings, { max_retries: 3, timeout: 300 });
    assert.equal(value.logging_level, 'debug');
    assert.deepEqual(value.environment_variables, { A: '1', B: '3' });
    assert.equal(value.output_file_name, 'predictions.csv');
  });
});

test('type: pipeline is refused with one sentence at type, whatever else the file holds', async () => {
  const yaml = ['name: hello-batch', 'endpoint_name: hello-pipeline', 'type: pipeline', 'component: azureml:hello_component@latest', 'settings: {default_compute: batch-cluster}'];
  await withTree({ 'deployment.yml': yaml.join('\n') }, async (dir) => {
    const result = await loadBatchDeploymentSpec({ file: 'deployment.yml', cwd: dir });
    assert.deepEqual(formatted(result).errors, [
      'deployment.yml:3:7 type: Pipeline component batch deployments (type: pipeline) are not supported by oep, which runs model batch deployments only.\n  hint: deploy a model instead (type: model, with model, code_configuration and environment), or run the pipeline in Azure ML',
    ]);
  });
});

test("each form's settings in the other form's place are explained, with file, line and key", async () => {
  await withTree({ ...CODE, 'classic.yml': [...CLASSIC, 'settings: {mini_batch_size: 5}'].join('\n'), 'model.yml': [...CLASSIC, 'type: model', 'mini_batch_size: 5'].join('\n') }, async (dir) => {
    const classic = await loadBatchDeploymentSpec({ file: 'classic.yml', cwd: dir });
    assert.deepEqual(formatted(classic).errors, ['classic.yml:7:1 settings: Only available on batch deployments with type: model.\n  hint: add type: model, or remove settings']);
    const model = await loadBatchDeploymentSpec({ file: 'model.yml', cwd: dir });
    assert.deepEqual(formatted(model).errors, [
      'model.yml:8:1 mini_batch_size: Only available on batch deployments without type.\n  hint: with type: model, move it under settings, or remove mini_batch_size',
    ]);
  });
});

test('bad batch settings are problems at their value: limits, enums, types, and the missing compute', async () => {
  const yaml = [
    'name: classifier',
    'endpoint_name: heart-batch',
    'model: {path: model/model.pkl}',
    'code_configuration: {code: code, scoring_script: batch_driver.py}',
    'environment: {image: python:3.11}',
    'mini_batch_size: 0',
    'output_action: append_rows',
    'error_threshold: -2',
    'retry_settings: {max_retries: "3"}',
    'logging_level: verbose',
  ];
  await withTree({ ...CODE, 'deployment.yml': yaml.join('\n') }, async (dir) => {
    const result = await loadBatchDeploymentSpec({ file: 'deployment.yml', cwd: dir });
    assert.deepEqual(formatted(result).errors, [
      'deployment.yml:1:1 compute: Missing required field.\n  hint: the compute cluster the jobs run on in Azure (azureml:<cluster-name>); oep runs them on this machine, whatever it names',
      'deployment.yml:6:18 mini_batch_size: Must be at least 1.\n  hint: files per run() call (default 10)',
      'deployment.yml:7:16 output_action: Must be one of: append_row, summary_only.\n  hint: did you mean "append_row"?',
      'deployment.yml:8:18 error_threshold: Must be at least -1.\n  hint: failed files allowed before the job stops; -1 (the default) allows any number',
      'deployment.yml:9:31 retry_settings.max_retries: Must be a whole number.\n  hint: tries again for a mini-batch that failed or timed out (default 3)',
      'deployment.yml:10:16 logging_level: Must be one of: warning, info, debug.\n  hint: warning, info (the default) or debug',
    ]);
  });
});

test('a custom model needs a scoring script; an MLflow model deploys without one', async () => {
  const custom = ['name: classifier', 'endpoint_name: heart-batch', 'model: {path: model}', 'compute: azureml:batch-cluster'];
  const mlflow = ['name: classifier', 'endpoint_name: heart-batch', 'model: {path: model, type: mlflow_model}', 'compute: azureml:batch-cluster'];
  await withTree({ ...CODE, 'custom.yml': custom.join('\n'), 'mlflow.yml': mlflow.join('\n') }, async (dir) => {
    const refused = await loadBatchDeploymentSpec({ file: 'custom.yml', cwd: dir });
    assert.deepEqual(formatted(refused).errors, [
      'custom.yml:3:1 model: A model that is not an MLflow model needs code_configuration: a scoring script with init() and run(mini_batch).\n  hint: add code_configuration: {code: <folder>, scoring_script: <file>}, or set model.type: mlflow_model for an MLflow model',
    ]);
    const loaded = await loadBatchDeploymentSpec({ file: 'mlflow.yml', cwd: dir });
    assert.deepEqual(formatted(loaded).errors, []);
    assert.deepEqual(loaded.value?.model, { path: join(dir, 'model'), type: 'mlflow_model' });
  });
});

test('names, -e and missing local paths are checked as for online deployments', async () => {
  const yaml = ['name: b', 'endpoint_name: heart-batch', 'model: azureml:heart@latest', 'code_configuration: {code: nowhere, scoring_script: score.py}', 'environment: azureml:sklearn-env:1', 'compute: azureml:batch-cluster'];
  await withTree({ 'deployment.yml': yaml.join('\n') }, async (dir) => {
    const result = await loadBatchDeploymentSpec({ file: 'deployment.yml', cwd: dir, endpointName: 'x' });
    assert.deepEqual(formatted(result).errors, [
      'deployment.yml:1:7 name: Invalid name "b": use 3-32 characters, not 1.',
      `deployment.yml:4:28 code_configuration.code: "nowhere" does not exist.\n  hint: resolved to ${join(dir, 'nowhere')} (relative paths start from the directory of deployment.yml)`,
      'deployment.yml endpoint_name: Invalid name "x": use 3-32 characters, not 1.\n  hint: the value comes from -e/--endpoint-name',
    ]);
  });
});

test('a stored batch deployment takes --set on its top-level settings (update without a file)', async () => {
  await withTree(CODE, async (dir) => {
    const stored = { name: 'classifier', endpoint_name: 'heart-batch', model: { path: join(dir, 'model/model.pkl') }, code_configuration: { code: join(dir, 'code'), scoring_script: 'batch_driver.py' }, environment: { image: 'python:3.11' }, compute: 'azureml:batch-cluster', tags: {}, ...AZURE_DEFAULTS };
    const result = validateBatchDeploymentObject(stored, 'batch deployment classifier', ['mini_batch_size=20', 'retry_settings.timeout=60']);
    assert.deepEqual(formatted(result).errors, []);
    assert.equal(result.value?.mini_batch_size, 20);
    assert.deepEqual(result.value?.retry_settings, { max_retries: 3, timeout: 60 });
    const bad = validateBatchDeploymentObject(stored, 'batch deployment classifier', ['output_action=summary']);
    assert.deepEqual(formatted(bad).errors, [
      'batch deployment classifier output_action: Must be one of: append_row, summary_only.\n  hint: the value comes from --set output_action=summary; append_row (run() results gathered into output_file_name, the default) or summary_only',
    ]);
  });
});

test('a data asset: uri_folder by default, its path absolute; uri_file needs a file', async () => {
  await withTree({ 'data/a.csv': '1\n', 'data.yml': 'name: heart-data\nversion: 2\npath: data\n', 'file.yml': 'name: heart-file\ntype: uri_file\npath: data\n' }, async (dir) => {
    const folder = await loadDataAsset({ file: 'data.yml', cwd: dir });
    assert.deepEqual(formatted(folder).errors, []);
    assert.deepEqual(folder.value, { name: 'heart-data', version: '2', type: 'uri_folder', path: join(dir, 'data') });
    const file = await loadDataAsset({ file: 'file.yml', cwd: dir });
    assert.deepEqual(formatted(file).errors, [
      `file.yml:3:7 path: "data" is a directory; expected a file.\n  hint: resolved to ${join(dir, 'data')} (relative paths start from the directory of file.yml); type uri_file takes one file; use type uri_folder for a folder`,
    ]);
  });
});

test('a data asset from flags alone; mltable and remote paths are refused', async () => {
  await withTree({ 'a.csv': '1\n' }, async (dir) => {
    const flags = await loadDataAsset({ cwd: dir, fields: { name: 'one', path: 'a.csv', type: 'uri_file' } });
    assert.deepEqual(flags.value, { name: 'one', type: 'uri_file', path: join(dir, 'a.csv') });
    const bad = await loadDataAsset({ cwd: dir, fields: { name: 'one', path: 'https://example.com/a.csv', type: 'mltable' } });
    assert.deepEqual(formatted(bad).errors, [
      'the command line type: Must be one of: uri_folder, uri_file.\n  hint: the value comes from --set type="mltable"; uri_folder (a folder, the default) or uri_file (one file); oep has no mltable',
      'the command line path: "https://example.com/a.csv" is in remote storage, which oep cannot read.\n  hint: the value comes from --set path="https://example.com/a.csv"; download the files and give their local path; oep keeps a copy of them in its local registry',
    ]);
  });
});
