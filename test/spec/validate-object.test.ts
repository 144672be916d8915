import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  loadDeploymentSpec,
  loadEndpointSpec,
  unwrapSpec,
  validateDeploymentObject,
  validateEndpointObject,
} from '../../src/spec/index.js';
import { FIXTURES, ROOT, formatted } from './support.js';

test('a stored endpoint validates again unchanged, and --set updates it', async () => {
  const stored = unwrapSpec(await loadEndpointSpec({ file: `${FIXTURES}/valid/endpoint.yml`, cwd: ROOT }));
  assert.deepEqual(validateEndpointObject(stored, 'endpoint my-endpoint'), { value: stored, warnings: [], errors: [] });
  const updated = validateEndpointObject(stored, 'endpoint my-endpoint', ['traffic.blue=90', 'traffic.green=10']);
  assert.deepEqual(updated.value?.traffic, { blue: 90, green: 10 });
  assert.deepEqual(stored.traffic, { blue: 100 }, 'the input object is not modified');
});

test('a stored deployment validates again unchanged, without deprecation warnings', async () => {
  const stored = unwrapSpec(await loadDeploymentSpec({ file: `${FIXTURES}/valid/deployment.yml`, cwd: ROOT }));
  assert.deepEqual(validateDeploymentObject(stored, 'deployment blue'), { value: stored, warnings: [], errors: [] });
  const updated = validateDeploymentObject(stored, 'deployment blue', ['instance_count=2']);
  assert.equal(updated.value?.instance_count, 2);
});

test('problems in an object carry the source label and no position', async () => {
  const stored = unwrapSpec(await loadDeploymentSpec({ file: `${FIXTURES}/valid/deployment.yml`, cwd: ROOT }));
  const result = validateDeploymentObject({ ...stored, model: { path: '/nowhere/model' }, instanse_count: 2 }, 'deployment blue');
  assert.deepEqual(formatted(result).errors, [
    'deployment blue instanse_count: Unknown field.\n  hint: did you mean "instance_count"?',
    'deployment blue model.path: "/nowhere/model" does not exist.',
  ]);
  assert.equal(result.errors[0].line, 0);
  assert.equal(result.errors[0].col, 0);
});

test('an object that is not a map is one problem', () => {
  assert.deepEqual(formatted(validateEndpointObject(undefined, 'endpoint x')).errors, [
    'endpoint x: The spec is empty.\n  hint: an endpoint YAML is a map of keys, at least name: <endpoint-name>',
  ]);
});
