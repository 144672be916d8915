import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadDeploymentSpec } from '../../src/spec/index.js';
import { FIXTURES, ROOT, formatted, withTree } from './support.js';

const DEFAULT_PROBE = { initial_delay: 10, period: 10, timeout: 2, success_threshold: 1, failure_threshold: 30 };

test('a valid deployment loads with absolute paths and every default applied', async () => {
  const result = await loadDeploymentSpec({ file: `${FIXTURES}/valid/deployment.yml`, cwd: ROOT });
  assert.deepEqual(formatted(result), { errors: [], warnings: [] });
  assert.deepEqual(result.value, {
    name: 'blue',
    endpoint_name: 'my-endpoint',
    type: 'managed',
    tags: {},
    model: { path: `${ROOT}/${FIXTURES}/model-1/model` },
    code_configuration: { code: `${ROOT}/${FIXTURES}/model-1/onlinescoring`, scoring_script: 'score.py' },
    environment: {
      conda_file: `${ROOT}/${FIXTURES}/model-1/environment/conda.yaml`,
      image: 'mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest',
    },
    environment_variables: {},
    instance_type: 'Standard_DS3_v2',
    instance_count: 1,
    app_insights_enabled: false,
    scale_settings: { type: 'default' },
    request_settings: { request_timeout_ms: 5000, max_concurrent_requests_per_instance: 1, max_queue_wait_ms: 500 },
    liveness_probe: DEFAULT_PROBE,
    readiness_probe: DEFAULT_PROBE,
  });
});

test('paths resolve against the YAML file, not the working directory', async () => {
  const files = {
    'deploy/blue.yml': [
      'name: blue',
      'endpoint_name: my-endpoint',
      'model: {path: ../model.pkl, version: 3}',
      'code_configuration: {code: ../src, scoring_script: app/score.py}',
      'environment: {build: {path: ../docker}, version: 1}',
      'instance_type: Standard_DS3_v2',
      'liveness_probe: {period: 5}',
    ].join('\n'),
    'model.pkl': 'x',
    'src/app/score.py': 'def init(): pass\n',
    'docker/Dockerfile': 'FROM python:3.11\n',
  };
  await withTree(files, async (dir) => {
    const result = await loadDeploymentSpec({ file: 'deploy/blue.yml', cwd: dir });
    assert.deepEqual(formatted(result).errors, []);
    assert.deepEqual(result.value?.model, { path: `${dir}/model.pkl`, version: '3' });
    assert.deepEqual(result.value?.code_configuration, { code: `${dir}/src`, scoring_script: 'app/score.py' });
    assert.deepEqual(result.value?.environment, { build: { path: `${dir}/docker`, dockerfile_path: 'Dockerfile' }, version: '1' });
    assert.deepEqual(result.value?.liveness_probe, { ...DEFAULT_PROBE, period: 5 });
  });
});

test('registered assets and remote paths are kept as written', async () => {
  const yaml = [
    'name: blue',
    'endpoint_name: my-endpoint',
    'model: azureml:my-model:1',
    'environment: azureml:my-env@latest',
    'instance_type: Standard_DS3_v2',
  ].join('\n');
  await withTree({ 'd.yml': yaml }, async (dir) => {
    const result = await loadDeploymentSpec({ file: 'd.yml', cwd: dir });
    assert.equal(result.value?.model, 'azureml:my-model:1');
    assert.equal(result.value?.environment, 'azureml:my-env@latest');
  });
});

test('a kubernetes deployment gets target_utilization defaults and string resources', async () => {
  const yaml = [
    'name: blue',
    'endpoint_name: my-endpoint',
    'type: kubernetes',
    'environment: {image: nginx:latest, inference_config: {liveness_route: {port: 80, path: /}, readiness_route: {port: 80, path: /}, scoring_route: {port: 80, path: /score}}}',
    'instance_count: 80',
    'scale_settings: {type: target_utilization, max_instances: 4}',
    'request_settings: {request_timeout_ms: 300000}',
    'resources: {requests: {cpu: 0.5, memory: 1Gi}, limits: {nvidia.com/gpu: 1}}',
  ].join('\n');
  await withTree({ 'd.yml': yaml }, async (dir) => {
    const result = await loadDeploymentSpec({ file: 'd.yml', cwd: dir });
    assert.deepEqual(formatted(result).errors, []);
    assert.equal(result.value?.type, 'kubernetes');
    assert.equal(result.value?.instance_count, 80);
    assert.equal(result.value?.request_settings.request_timeout_ms, 300000);
    assert.deepEqual(result.value?.scale_settings, {
      type: 'target_utilization',
      min_instances: 1,
      max_instances: 4,
      target_utilization_percentage: 70,
      polling_interval: 1,
    });
    assert.deepEqual(result.value?.resources, { requests: { cpu: '0.5', memory: '1Gi' }, limits: { 'nvidia.com/gpu': '1' } });
  });
});

test("data_collector gets sampling_rate 1 and reads Azure's enabled: 'True'", async () => {
  const yaml = [
    'name: blue',
    'endpoint_name: my-endpoint',
    'environment: {image: nginx:latest}',
    'instance_type: Standard_DS3_v2',
    'data_collector:',
    '  collections:',
    "    model_inputs: {enabled: 'True'}",
    "    model_outputs: {enabled: 'false'}",
  ].join('\n');
  await withTree({ 'd.yml': yaml }, async (dir) => {
    const result = await loadDeploymentSpec({ file: 'd.yml', cwd: dir });
    assert.deepEqual(result.value?.data_collector, {
      sampling_rate: 1,
      collections: { model_inputs: { enabled: true }, model_outputs: { enabled: false } },
    });
  });
});

test('max_queue_wait_ms loads with a deprecation warning', async () => {
  const yaml = [
    'name: blue',
    'endpoint_name: my-endpoint',
    'environment: {image: nginx:latest}',
    'instance_type: Standard_DS3_v2',
    'request_settings:',
    '  max_queue_wait_ms: 1000',
  ].join('\n');
  await withTree({ 'd.yml': yaml }, async (dir) => {
    const result = await loadDeploymentSpec({ file: 'd.yml', cwd: dir });
    assert.equal(result.value?.request_settings.max_queue_wait_ms, 1000);
    assert.deepEqual(formatted(result).warnings, [
      'd.yml:6:3 request_settings.max_queue_wait_ms: Deprecated: Azure ML no longer uses max_queue_wait_ms.\n  hint: remove it; request_timeout_ms bounds the whole request',
    ]);
  });
});

test('code that is a file, and a kubernetes min_instances above max_instances', async () => {
  const yaml = [
    'name: blue',
    'endpoint_name: my-endpoint',
    'type: kubernetes',
    'code_configuration: {code: score.py, scoring_script: score.py}',
    'environment: {image: nginx:latest}',
    'scale_settings: {type: target_utilization, min_instances: 5, max_instances: 2}',
  ].join('\n');
  await withTree({ 'd.yml': yaml, 'score.py': '' }, async (dir) => {
    const result = await loadDeploymentSpec({ file: 'd.yml', cwd: dir });
    assert.deepEqual(formatted(result).errors, [
      `d.yml:4:28 code_configuration.code: "score.py" is a file; expected a directory.\n  hint: resolved to ${dir}/score.py (relative paths start from the directory of d.yml)`,
      'd.yml:6:59 scale_settings.min_instances: Must not exceed max_instances (2).',
    ]);
  });
});
