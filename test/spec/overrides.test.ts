import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadDeploymentSpec, loadEndpointSpec } from '../../src/spec/index.js';
import { parseSetExpression } from '../../src/spec/overrides.js';
import { FIXTURES, ROOT, formatted } from './support.js';

const ENDPOINT = { file: `${FIXTURES}/valid/endpoint.yml`, cwd: ROOT };
const DEPLOYMENT = { file: `${FIXTURES}/valid/deployment.yml`, cwd: ROOT };

test('--set values are read like az reads them: JSON, YAML numbers and booleans, else text', () => {
  assert.deepEqual(parseSetExpression('instance_count=3'), { path: ['instance_count'], value: 3 });
  assert.deepEqual(parseSetExpression('tags.a=b'), { path: ['tags', 'a'], value: 'b' });
  assert.deepEqual(parseSetExpression('traffic.blue=100'), { path: ['traffic', 'blue'], value: 100 });
  assert.deepEqual(parseSetExpression('app_insights_enabled=True'), { path: ['app_insights_enabled'], value: true });
  assert.deepEqual(parseSetExpression('tags.v="1.0"'), { path: ['tags', 'v'], value: '1.0' });
  assert.deepEqual(parseSetExpression('tags={"a":"b"}'), { path: ['tags'], value: { a: 'b' } });
  assert.deepEqual(parseSetExpression('description=a=b: c'), { path: ['description'], value: 'a=b: c' });
  assert.deepEqual(parseSetExpression('identity.user_assigned_identities[0].resource_id=x'), {
    path: ['identity', 'user_assigned_identities', 0, 'resource_id'],
    value: 'x',
  });
});

test('-n overrides name and --set applies in order on an endpoint', async () => {
  const result = await loadEndpointSpec({
    ...ENDPOINT,
    name: 'other-endpoint',
    set: ['traffic.blue=90', 'traffic.green=10', 'tags.team=ml', 'auth_mode=aml_token', 'traffic.blue=80', 'traffic.green=20'],
  });
  assert.deepEqual(formatted(result).errors, []);
  assert.equal(result.value?.name, 'other-endpoint');
  assert.deepEqual(result.value?.traffic, { blue: 80, green: 20 });
  assert.deepEqual(result.value?.tags, { team: 'ml' });
  assert.equal(result.value?.auth_mode, 'aml_token');
});

test('--set compute=... makes the endpoint kubernetes', async () => {
  const result = await loadEndpointSpec({ ...ENDPOINT, set: ['compute=azureml:k8s'] });
  assert.equal(result.value?.kind, 'kubernetes');
});

test('-n and -e override a deployment, --set reaches nested keys', async () => {
  const result = await loadDeploymentSpec({
    ...DEPLOYMENT,
    name: 'green',
    endpointName: 'other-endpoint',
    set: ['instance_count=3', 'environment_variables.WORKERS="2"', 'request_settings.request_timeout_ms=90000'],
  });
  assert.deepEqual(formatted(result).errors, []);
  assert.equal(result.value?.name, 'green');
  assert.equal(result.value?.endpoint_name, 'other-endpoint');
  assert.equal(result.value?.instance_count, 3);
  assert.deepEqual(result.value?.environment_variables, { WORKERS: '2' });
  assert.equal(result.value?.request_settings.request_timeout_ms, 90000);
});

test('-e fills a missing endpoint_name', async () => {
  const result = await loadDeploymentSpec({
    file: `${FIXTURES}/invalid/deployment-missing-required.yml`,
    cwd: ROOT,
    endpointName: 'my-endpoint',
    set: ['instance_type=Standard_DS3_v2', 'request_settings={}'],
  });
  assert.deepEqual(formatted(result).errors, []);
  assert.equal(result.value?.endpoint_name, 'my-endpoint');
});

test('problems in flag values name the flag instead of a line, after the file\'s own', async () => {
  const result = await loadDeploymentSpec({
    ...DEPLOYMENT,
    name: 'x',
    set: ['instance_count=80', 'oops', 'model.path.extra=1', 'scale_settings.type=target_utilization'],
  });
  const f = `${FIXTURES}/valid/deployment.yml`;
  assert.deepEqual(formatted(result).errors, [
    `${f}: --set "oops" is not of the form key.path=value.\n  hint: for example --set instance_count=2 or --set tags.team=ml`,
    `${f} model.path: Cannot set model.path.extra: model.path is a string, not a map.\n  hint: the value comes from --set model.path.extra=1`,
    `${f} instance_count: Must be at most 50.\n  hint: the value comes from --set instance_count=80; a managed deployment runs 1 to 50 instances`,
    `${f} scale_settings.type: "target_utilization" is only available on kubernetes deployments.\n  hint: the value comes from --set scale_settings.type=target_utilization; set type: kubernetes, or use default`,
    `${f} name: Invalid name "x": use 3-32 characters, not 1.\n  hint: the value comes from -n/--name`,
  ]);
});
