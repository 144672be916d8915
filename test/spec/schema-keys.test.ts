import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  DEPLOYMENT_KEYS,
  ENDPOINT_KEYS,
  KUBERNETES_ONLY_DEPLOYMENT_KEYS,
  KUBERNETES_ONLY_ENDPOINT_KEYS,
  MANAGED_ONLY_DEPLOYMENT_KEYS,
  MANAGED_ONLY_ENDPOINT_KEYS,
} from '../../src/spec/index.js';
import { getValidator } from '../../src/spec/schemas.js';
import type { SchemaName } from '../../src/spec/schemas.js';
import { ROOT } from './support.js';

function topLevelKeys(name: SchemaName): string[] {
  const schema = JSON.parse(readFileSync(join(ROOT, 'schemas', `${name}.schema.json`), 'utf8')) as {
    properties: Record<string, unknown>;
  };
  return Object.keys(schema.properties).sort();
}

function without(keys: readonly string[], removed: readonly string[]): string[] {
  return keys.filter((key) => !removed.includes(key)).sort();
}

test('managed endpoint schema has every endpoint key but the kubernetes-only ones', () => {
  assert.deepEqual(topLevelKeys('endpoint.managed'), without(ENDPOINT_KEYS, KUBERNETES_ONLY_ENDPOINT_KEYS));
});

test('kubernetes endpoint schema has every endpoint key but the managed-only ones', () => {
  assert.deepEqual(topLevelKeys('endpoint.kubernetes'), without(ENDPOINT_KEYS, MANAGED_ONLY_ENDPOINT_KEYS));
});

test('managed deployment schema has every deployment key but the kubernetes-only ones', () => {
  assert.deepEqual(topLevelKeys('deployment.managed'), without(DEPLOYMENT_KEYS, KUBERNETES_ONLY_DEPLOYMENT_KEYS));
});

test('kubernetes deployment schema has every deployment key but the managed-only ones', () => {
  assert.deepEqual(topLevelKeys('deployment.kubernetes'), without(DEPLOYMENT_KEYS, MANAGED_ONLY_DEPLOYMENT_KEYS));
});

test('every schema compiles under ajv strict mode, once', () => {
  for (const name of ['endpoint.managed', 'endpoint.kubernetes', 'deployment.managed', 'deployment.kubernetes'] as const) {
    assert.equal(getValidator(name), getValidator(name), name);
  }
});
