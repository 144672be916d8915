import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { OepError } from '../../src/errors.js';
import { loadEndpointSpec } from '../../src/spec/index.js';
import { FIXTURES, ROOT, formatted, withTree } from './support.js';

test('a valid endpoint loads with every default applied', async () => {
  const result = await loadEndpointSpec({ file: `${FIXTURES}/valid/endpoint.yml`, cwd: ROOT });
  assert.deepEqual(formatted(result), { errors: [], warnings: [] });
  assert.deepEqual(result.value, {
    name: 'my-endpoint',
    auth_mode: 'key',
    tags: {},
    traffic: { blue: 100 },
    mirror_traffic: {},
    public_network_access: 'enabled',
    kind: 'managed',
  });
});

test('auth_mode casing variants load as the snake_case modes', async () => {
  for (const [written, mode] of [['Key', 'key'], ['AMLToken', 'aml_token'], ['AADToken', 'aad_token']]) {
    await withTree({ 'ep.yml': `name: my-endpoint\nauth_mode: ${written}\n` }, async (dir) => {
      const result = await loadEndpointSpec({ file: 'ep.yml', cwd: dir });
      assert.equal(result.value?.auth_mode, mode, written);
    });
  }
});

test('traffic entries of 0 are dropped, and read-only keys from `show` output are accepted and dropped', async () => {
  const yaml = [
    'name: my-endpoint',
    'id: /subscriptions/x/endpoints/my-endpoint',
    'provisioning_state: Succeeded',
    'scoring_uri: http://127.0.0.1:8080/score',
    'openapi_uri: http://127.0.0.1:8080/swagger.json',
    'location: local',
    'kind: Managed',
    'traffic: {blue: 100, green: 0}',
    'mirror_traffic: {green: 0}',
    'tags: {team: ml}',
  ].join('\n');
  await withTree({ 'ep.yml': yaml }, async (dir) => {
    const result = await loadEndpointSpec({ file: 'ep.yml', cwd: dir });
    assert.deepEqual(result.value, {
      name: 'my-endpoint',
      auth_mode: 'key',
      tags: { team: 'ml' },
      traffic: { blue: 100 },
      mirror_traffic: {},
      public_network_access: 'enabled',
      kind: 'managed',
    });
  });
});

test('an endpoint with compute is a kubernetes endpoint', async () => {
  await withTree({ 'ep.yml': 'name: k8s-endpoint\ncompute: azureml:k8s-compute\nauth_mode: aml_token\n' }, async (dir) => {
    const result = await loadEndpointSpec({ file: 'ep.yml', cwd: dir });
    assert.equal(result.value?.kind, 'kubernetes');
    assert.equal(result.value?.compute, 'azureml:k8s-compute');
    assert.equal(result.value?.auth_mode, 'aml_token');
  });
});

test('mirror_traffic to a deployment without live traffic is kept', async () => {
  await withTree({ 'ep.yml': 'name: my-endpoint\ntraffic: {blue: 100}\nmirror_traffic: {green: 20}\n' }, async (dir) => {
    const result = await loadEndpointSpec({ file: 'ep.yml', cwd: dir });
    assert.deepEqual(result.value?.mirror_traffic, { green: 20 });
  });
});

test('a missing file throws OEP_ERR_FILE_NOT_FOUND naming the file as typed', async () => {
  await assert.rejects(loadEndpointSpec({ file: 'missing.yml', cwd: ROOT }), (error: unknown) => {
    assert.ok(error instanceof OepError);
    assert.equal(error.code, 'OEP_ERR_FILE_NOT_FOUND');
    assert.equal(error.message, 'File not found: missing.yml');
    assert.equal(error.hint, `looked for ${join(ROOT, 'missing.yml')}`);
    return true;
  });
});

test('an empty file and a file that is not a map are problems at 1:1', async () => {
  await withTree({ 'empty.yml': '', 'list.yml': '- name: my-endpoint\n' }, async (dir) => {
    assert.deepEqual(formatted(await loadEndpointSpec({ file: 'empty.yml', cwd: dir })).errors, [
      'empty.yml:1:1: The file is empty.\n  hint: an endpoint YAML is a map of keys, at least name: <endpoint-name>',
    ]);
    assert.deepEqual(formatted(await loadEndpointSpec({ file: 'list.yml', cwd: dir })).errors, [
      'list.yml:1:1: Must be a map, not a list.\n  hint: an endpoint YAML is a map of keys, at least name: <endpoint-name>',
    ]);
  });
});

test('duplicate keys are YAML syntax problems', async () => {
  await withTree({ 'ep.yml': 'name: my-endpoint\nname: other\n' }, async (dir) => {
    assert.deepEqual(formatted(await loadEndpointSpec({ file: 'ep.yml', cwd: dir })).errors, [
      'ep.yml:2:1: YAML syntax: Map keys must be unique.',
    ]);
  });
});
