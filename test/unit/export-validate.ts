import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { HTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';
import { Gateway } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/Gateway';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { DNS_1123_LABEL } from '../../src/export/names.js';
import { REPO_ROOT } from '../e2e/harness.js';

/**
 * Validates exported objects against the official schemas that kubernetes-models and
 * @kubernetes-models/gateway-api ship (Kubernetes' OpenAPI and Gateway API's CRDs), plus what those
 * schemas leave out: object names are DNS-1123 labels and label values are valid. Envoy Gateway's
 * SecurityPolicy has no such package: its spec is checked against the part of Envoy Gateway's CRD
 * schema the export uses (test/fixtures/export/envoy-gateway-securitypolicy-spec.schema.json), and
 * the CEL rules that apply by hand.
 */
const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'v1/Service': Service,
  'v1/Secret': Secret,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'gateway.networking.k8s.io/v1/Gateway': Gateway,
  'gateway.networking.k8s.io/v1/HTTPRoute': HTTPRoute,
};

const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

export function validateObject(object: { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> } }): void {
  const where = `${object.kind} ${object.metadata.name}`;
  assert.match(object.metadata.name, DNS_1123_LABEL, `${where}: a DNS-1123 name`);
  assert.ok(object.metadata.name.length <= 63, `${where}: at most 63 characters`);
  for (const [key, value] of Object.entries(object.metadata.labels ?? {})) {
    assert.match(key, LABEL_KEY, `${where}: label key ${key}`);
    assert.match(value, LABEL_VALUE, `${where}: label ${key}=${value}`);
  }
  if (object.apiVersion === 'gateway.envoyproxy.io/v1alpha1' && object.kind === 'SecurityPolicy') {
    validateSecurityPolicy(object as unknown as SecurityPolicy);
    return;
  }
  const Model = MODELS[`${object.apiVersion}/${object.kind}`];
  assert.ok(Model, `${where}: no schema for ${object.apiVersion} ${object.kind}`);
  new Model(object).validate();
}

interface SecurityPolicy {
  spec: {
    targetRefs: { group: string; kind: string; name: string }[];
    apiKeyAuth: { credentialRefs: { group?: string; kind?: string; name: string }[]; extractFrom: { headers?: string[]; params?: string[]; cookies?: string[] }[] };
  } & Record<string, unknown>;
}

/**
 * Unknown fields are errors, as kubectl's strict field validation (its default) makes them: every
 * object schema with properties gets additionalProperties: false.
 */
function strict(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strict);
  if (typeof schema !== 'object' || schema === null) return schema;
  const copy = Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, strict(value)]));
  if (copy.type === 'object' && copy.properties && copy.additionalProperties === undefined) copy.additionalProperties = false;
  return copy;
}

const securityPolicySpec = new Ajv({ strict: false, allErrors: true }).compile(
  strict(JSON.parse(readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'export', 'envoy-gateway-securitypolicy-spec.schema.json'), 'utf8'))) as object,
);

function validateSecurityPolicy(policy: SecurityPolicy): void {
  assert.ok(securityPolicySpec(policy.spec), `SecurityPolicy spec: ${JSON.stringify(securityPolicySpec.errors)}`);
  for (const ref of policy.spec.targetRefs) {
    // CEL: a SecurityPolicy targets a Gateway or a route of gateway.networking.k8s.io.
    assert.equal(ref.group, 'gateway.networking.k8s.io');
    assert.ok(['Gateway', 'HTTPRoute', 'GRPCRoute'].includes(ref.kind));
  }
  for (const source of policy.spec.apiKeyAuth.extractFrom) {
    // CEL: exactly one of headers, params, or cookies must be specified.
    assert.equal([source.headers, source.params, source.cookies].filter((list) => list !== undefined).length, 1, 'exactly one of headers, params, or cookies');
  }
}
