import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { exportKubernetes, type ExportSource, type KubernetesObject } from '../../src/export/kubernetes.js';
import { renderFolder, renderList, renderStream } from '../../src/export/render.js';
import { REPO_ROOT } from '../e2e/harness.js';
import { prerequisiteSkip } from '../prerequisites.js';
import { deploymentSpec } from './docker-fixtures.js';
import { FIXTURE_KEYS, fixtureSource } from './export-source.js';
import { validateObject } from './export-validate.js';

/** The committed golden folder; OEP_UPDATE_GOLDEN=1 rewrites it from the current export. */
export const GOLDEN = join(REPO_ROOT, 'test', 'fixtures', 'export', 'kubernetes');
const OPTIONS = { registry: 'myacr.azurecr.io', gatewayClass: 'envoy-gateway', authPolicy: 'envoy-gateway' as const };

function objectsOf(source: ExportSource, options = OPTIONS): KubernetesObject[] {
  return exportKubernetes(source, options).files.flatMap((file) => file.objects);
}

function find<T = Record<string, any>>(objects: KubernetesObject[], kind: string, name: string): T {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  assert.ok(found, `${kind} ${name} in ${objects.map((object) => `${object.kind}/${object.metadata.name}`).join(', ')}`);
  return found as T;
}

function hasKubectl(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** For the `kubectl kustomize` tests: skips without kubectl, fails under CI=true. */
function kubectlSkip(): string | false {
  return prerequisiteSkip('kubectl kustomize checks', !hasKubectl() && 'kubectl is not installed (apt-get install kubernetes-client)');
}

describe('export to Kubernetes: blue 90%, green 10%, shadow mirrored 10%', async () => {
  const source = await fixtureSource();
  const exported = exportKubernetes(source, OPTIONS);
  const objects = exported.files.flatMap((file) => file.objects);
  const route = find(objects, 'HTTPRoute', 'export-e2e');

  it('is the committed golden folder, file for file', () => {
    const folder = renderFolder(exported);
    if (process.env.OEP_UPDATE_GOLDEN === '1') {
      rmSync(GOLDEN, { recursive: true, force: true });
      mkdirSync(GOLDEN, { recursive: true });
      for (const [name, text] of Object.entries(folder)) writeFileSync(join(GOLDEN, name), text);
    }
    assert.deepEqual(readdirSync(GOLDEN).sort(), Object.keys(folder).sort());
    for (const [name, text] of Object.entries(folder)) assert.equal(text, readFileSync(join(GOLDEN, name), 'utf8'), `${name} differs from the golden copy`);
  });

  it('validates against the Kubernetes and Gateway API schemas, with DNS-1123 names', () => {
    assert.deepEqual(
      objects.map((object) => `${object.kind}/${object.metadata.name}`),
      [
        'Secret/export-e2e-keys',
        'Secret/export-e2e-blue-env',
        'Deployment/export-e2e-blue',
        'Service/export-e2e-blue',
        'Deployment/export-e2e-green',
        'Service/export-e2e-green',
        'Deployment/export-e2e-shadow',
        'Service/export-e2e-shadow',
        'Gateway/export-e2e',
        'HTTPRoute/export-e2e',
        'SecurityPolicy/export-e2e-key-auth',
      ],
    );
    for (const object of objects) validateObject(object);
  });

  it('splits the traffic with the exact weights and mirrors exactly 10% to shadow', () => {
    const weighted = route.spec.rules[0];
    assert.deepEqual(weighted.matches, [{ path: { type: 'Exact', value: '/score' } }, { path: { type: 'Exact', value: '/swagger.json' } }]);
    assert.deepEqual(weighted.backendRefs, [
      { name: 'export-e2e-blue', port: 80, weight: 90 },
      { name: 'export-e2e-green', port: 80, weight: 10 },
    ]);
    assert.deepEqual(weighted.filters, [{ type: 'RequestMirror', requestMirror: { backendRef: { name: 'export-e2e-shadow', port: 80 }, percent: 10 } }]);
    // The longest timeout of the two it splits between (blue 5 s, green 3 s).
    assert.deepEqual(weighted.timeouts, { request: '5s' });
    assert.deepEqual(route.spec.parentRefs, [{ name: 'export-e2e' }]);
  });

  it('has one rule per deployment for the azureml-model-deployment header, never mirrored, with its own timeout', () => {
    const pins = route.spec.rules.slice(1);
    assert.deepEqual(
      pins.map((rule: any) => [rule.matches.map((match: any) => `${match.path.value} ${match.headers[0].name}=${match.headers[0].value}`), rule.backendRefs, rule.timeouts.request, rule.filters]),
      [
        [['/score azureml-model-deployment=blue', '/swagger.json azureml-model-deployment=blue'], [{ name: 'export-e2e-blue', port: 80 }], '5s', undefined],
        [['/score azureml-model-deployment=green', '/swagger.json azureml-model-deployment=green'], [{ name: 'export-e2e-green', port: 80 }], '3s', undefined],
        [['/score azureml-model-deployment=shadow', '/swagger.json azureml-model-deployment=shadow'], [{ name: 'export-e2e-shadow', port: 80 }], '5s', undefined],
      ],
    );
  });

  it("takes replicas, probes, resources and environment from each deployment's YAML", () => {
    const blue = find(objects, 'Deployment', 'export-e2e-blue');
    assert.equal(blue.spec.replicas, 2);
    assert.equal(find(objects, 'Deployment', 'export-e2e-green').spec.replicas, 1);
    const [container] = blue.spec.template.spec.containers;
    assert.equal(container.image, 'myacr.azurecr.io/export-e2e-blue:g1-20250102030405');
    assert.deepEqual(container.ports, [{ name: 'http', containerPort: 5001, protocol: 'TCP' }]);
    // examples/quickstart/blue-deployment.yml: readiness initial_delay 1, period 2; Azure's defaults otherwise.
    assert.deepEqual(container.readinessProbe, { httpGet: { path: '/', port: 'http' }, initialDelaySeconds: 1, periodSeconds: 2, timeoutSeconds: 2, successThreshold: 1, failureThreshold: 30 });
    assert.deepEqual(container.livenessProbe, { httpGet: { path: '/', port: 'http' }, initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 2, successThreshold: 1, failureThreshold: 30 });
    // Standard_DS3_v2: 4 vCPUs, 14 GiB.
    assert.deepEqual(container.resources, { requests: { cpu: '4', memory: '14Gi' }, limits: { cpu: '4', memory: '14Gi' } });
    assert.deepEqual(container.env, [
      { name: 'PYTHONUNBUFFERED', value: '1' },
      { name: 'PYTHONDONTWRITEBYTECODE', value: '1' },
      { name: 'AZUREML_MODEL_DIR', value: '/var/azureml-app/azureml-models/blue-model/1' },
      { name: 'AML_APP_ROOT', value: '/var/azureml-app/onlinescoring' },
      { name: 'AZUREML_ENTRY_SCRIPT', value: 'score.py' },
      // environment_variables: from the deployment's Secret, never written in the Deployment.
      { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'export-e2e-blue-env', key: 'DB_PASSWORD' } } },
    ]);
    assert.deepEqual(find(objects, 'Secret', 'export-e2e-blue-env').stringData, { DB_PASSWORD: 'hunter2-for-tests' });
    const folder = renderFolder(exported);
    assert.doesNotMatch(folder['export-e2e-blue.yaml']!, /hunter2/);
    assert.match(folder['secret.yaml']!, /DB_PASSWORD: hunter2-for-tests/);
    // green has no environment_variables: no Secret of its own.
    assert.equal(objects.some((object) => object.metadata.name === 'export-e2e-green-env'), false);
    const service = find(objects, 'Service', 'export-e2e-blue');
    assert.deepEqual(service.spec.selector, blue.spec.selector.matchLabels);
    assert.deepEqual(blue.spec.template.metadata.labels, blue.metadata.labels);
  });

  it("holds the endpoint's keys in a Secret that Envoy Gateway's SecurityPolicy checks on the endpoint's Gateway", () => {
    assert.deepEqual(find(objects, 'Secret', 'export-e2e-keys').stringData, { primaryKey: FIXTURE_KEYS.primary, secondaryKey: FIXTURE_KEYS.secondary });
    assert.deepEqual(find(objects, 'SecurityPolicy', 'export-e2e-key-auth').spec, {
      targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'export-e2e' }],
      apiKeyAuth: { credentialRefs: [{ group: '', kind: 'Secret', name: 'export-e2e-keys' }], extractFrom: [{ headers: ['Authorization'] }] },
    });
    assert.equal(find(objects, 'Gateway', 'export-e2e').spec.gatewayClassName, 'envoy-gateway');
    assert.deepEqual(exported.warnings, []);
  });

  it('renders as a YAML stream and a List with the same objects, and names the build commands', () => {
    const stream = parseAllDocuments(renderStream(exported)).map((document) => document.toJSON());
    assert.deepEqual(stream, objects);
    assert.deepEqual(JSON.parse(renderList(exported)), { apiVersion: 'v1', kind: 'List', items: objects });
    assert.deepEqual(exported.buildCommands, [
      'oep deployment build -n blue -e export-e2e --tag myacr.azurecr.io/export-e2e-blue:g1-20250102030405 --push',
      'oep deployment build -n green -e export-e2e --tag myacr.azurecr.io/export-e2e-green:g1-20250102030405 --push',
      'oep deployment build -n shadow -e export-e2e --tag myacr.azurecr.io/export-e2e-shadow:g1-20250102030405 --push',
    ]);
    assert.deepEqual(parse(renderFolder(exported)['kustomization.yaml']), {
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      resources: ['secret.yaml', 'export-e2e-blue.yaml', 'export-e2e-green.yaml', 'export-e2e-shadow.yaml', 'gateway.yaml', 'httproute.yaml', 'securitypolicy.yaml'],
    });
  });

  it('kubectl kustomize renders the golden folder (when kubectl is installed)', { skip: kubectlSkip() }, () => {
    const rendered = parseAllDocuments(execFileSync('kubectl', ['kustomize', GOLDEN], { encoding: 'utf8' })).map((document) => document.toJSON() as KubernetesObject);
    assert.deepEqual(rendered.map((object) => `${object.kind}/${object.metadata.name}`).sort(), objects.map((object) => `${object.kind}/${object.metadata.name}`).sort());
  });
});

describe('export to Kubernetes: other settings', async () => {
  const base = await fixtureSource();
  const only = (spec: ExportSource['deployments'][number]['spec'], traffic: Record<string, number> = { [spec.name]: 100 }): ExportSource => ({
    ...base,
    endpoint: { ...base.endpoint, traffic, mirror_traffic: {} },
    deployments: [{ spec, generation: 3, updated_at: '2025-06-07T08:09:10Z' }],
  });
  const blueSpec = base.deployments[0]!.spec;

  it('a kubernetes endpoint exports without the mirror; its deployments get their resources, or Azure default instance type', () => {
    const kubernetes = { ...base.endpoint, kind: 'kubernetes' as const, compute: 'azureml:k8s' };
    const withResources = { ...blueSpec, type: 'kubernetes' as const, resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '2Gi', 'nvidia.com/gpu': '1' } } };
    const green = { ...base.deployments[1]!.spec, type: 'kubernetes' as const };
    const source: ExportSource = {
      ...base,
      endpoint: kubernetes,
      deployments: [
        { ...base.deployments[0]!, spec: withResources },
        { ...base.deployments[1]!, spec: green },
        { ...base.deployments[2]!, spec: { ...base.deployments[2]!.spec, type: 'kubernetes' } },
      ],
    };
    const result = exportKubernetes(source, OPTIONS);
    const objects = result.files.flatMap((file) => file.objects);
    for (const object of objects) validateObject(object);
    const route = find(objects, 'HTTPRoute', 'export-e2e');
    assert.equal(route.spec.rules[0].filters, undefined);
    assert.deepEqual(result.warnings, ['endpoint export-e2e is a kubernetes endpoint: mirror_traffic is not exported (Azure mirrors managed endpoints only).']);
    const container = (name: string): any => find(objects, 'Deployment', name).spec.template.spec.containers[0];
    assert.deepEqual(container('export-e2e-blue').resources, { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '2Gi', 'nvidia.com/gpu': '1' } });
    assert.deepEqual(container('export-e2e-green').resources, { requests: { cpu: '100m', memory: '2Gi' }, limits: { cpu: '2', memory: '2Gi' } });
  });

  it('target_utilization scaling becomes an HPA; disabled egress a NetworkPolicy with no egress rule', () => {
    const spec = {
      ...blueSpec,
      type: 'kubernetes' as const,
      scale_settings: { type: 'target_utilization' as const, min_instances: 2, max_instances: 5, target_utilization_percentage: 60, polling_interval: 10 },
      egress_public_network_access: 'disabled' as const,
    };
    const objects = objectsOf(only(spec));
    for (const object of objects) validateObject(object);
    assert.deepEqual(find(objects, 'HorizontalPodAutoscaler', 'export-e2e-blue').spec, {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'export-e2e-blue' },
      minReplicas: 2,
      maxReplicas: 5,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } } }],
    });
    assert.deepEqual(find(objects, 'NetworkPolicy', 'export-e2e-blue-no-egress').spec, {
      podSelector: { matchLabels: { 'oep.endpoint': 'export-e2e', 'oep.deployment': 'blue' } },
      policyTypes: ['Egress'],
    });
  });

  it("a custom container keeps its port and routes: probes on its paths, /score rewritten to its scoring path", () => {
    const spec = {
      ...blueSpec,
      code_configuration: undefined,
      environment: {
        image: 'my/server:1',
        inference_config: {
          liveness_route: { port: 8080, path: '/health/live' },
          readiness_route: { port: 8080, path: '/health/ready' },
          scoring_route: { port: 8080, path: '/v1/predict' },
        },
      },
    };
    const objects = objectsOf(only(spec));
    for (const object of objects) validateObject(object);
    const container = find(objects, 'Deployment', 'export-e2e-blue').spec.template.spec.containers[0];
    assert.deepEqual(container.ports, [{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
    assert.equal(container.readinessProbe.httpGet.path, '/health/ready');
    assert.equal(container.livenessProbe.httpGet.path, '/health/live');
    const rules = find(objects, 'HTTPRoute', 'export-e2e').spec.rules;
    assert.deepEqual(rules[0].matches, [{ path: { type: 'Exact', value: '/score' } }]);
    assert.deepEqual(rules[0].backendRefs[0].filters, [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplaceFullPath', replaceFullPath: '/v1/predict' } } }]);
  });

  it('says what it cannot carry over: token auth, unknown instance types, liveness success_threshold, data collection', () => {
    const spec = {
      ...blueSpec,
      instance_type: 'Standard_Z99',
      liveness_probe: { ...blueSpec.liveness_probe, success_threshold: 3 },
      data_collector: { sampling_rate: 1 },
    };
    const result = exportKubernetes({ ...only(spec), endpoint: { ...only(spec).endpoint, auth_mode: 'aml_token' } }, { ...OPTIONS, authPolicy: 'none' });
    const objects = result.files.flatMap((file) => file.objects);
    for (const object of objects) validateObject(object);
    assert.deepEqual(result.warnings, [
      "auth_mode aml_token: a cluster has no Azure ML token service, so the export uses key auth with the endpoint's keys (oep endpoint get-credentials shows tokens, not these keys; they are in secret.yaml).",
      "deployment blue: instance_type Standard_Z99 is not in oep's table (docs/scale-out.md), so its pods have no resource requests; add them to the Deployment.",
      'deployment blue: liveness_probe.success_threshold 3 becomes 1 (Kubernetes allows no other value for liveness).',
      'deployment blue: data_collector has no equivalent in the export (see docs/scale-out.md); it is left out.',
      "--auth-policy none: nothing checks keys in front of the endpoint; add your Gateway implementation's policy (docs/scale-out.md).",
    ]);
    const container = find(objects, 'Deployment', 'export-e2e-blue').spec.template.spec.containers[0];
    assert.equal(container.resources, undefined);
    assert.equal(container.livenessProbe.successThreshold, 1);
    assert.equal(objects.some((object) => object.kind === 'SecurityPolicy'), false);
    assert.equal(container.image, 'myacr.azurecr.io/export-e2e-blue:g3-20250607080910');
  });

  it('no live traffic: only the pin rules, and a warning that other requests get 404', () => {
    const result = exportKubernetes(only(blueSpec, {}), OPTIONS);
    const rules = find(result.files.flatMap((file) => file.objects), 'HTTPRoute', 'export-e2e').spec.rules;
    assert.equal(rules.length, 1);
    assert.equal(rules[0].matches[0].headers[0].value, 'blue');
    assert.match(result.warnings[0]!, /no live traffic/);
  });

  it('an endpoint without deployments exports its Secret, Gateway and key auth, and no HTTPRoute', () => {
    const result = exportKubernetes({ ...base, endpoint: { ...base.endpoint, traffic: {}, mirror_traffic: {} }, deployments: [] }, OPTIONS);
    assert.deepEqual(result.files.map((file) => file.name), ['secret.yaml', 'gateway.yaml', 'securitypolicy.yaml']);
    assert.deepEqual(result.buildCommands, []);
    for (const object of result.files.flatMap((file) => file.objects)) validateObject(object);
  });

  it('more deployments than one HTTPRoute holds (16 rules) spill into a second route on the same Gateway', () => {
    const deployments = Array.from({ length: 20 }, (_, index) => ({ spec: deploymentSpec({ name: `d${String(index).padStart(2, '0')}`, endpoint_name: 'export-e2e' }), generation: 1, updated_at: '2025-01-01T00:00:00Z' }));
    const source: ExportSource = { ...base, endpoint: { ...base.endpoint, traffic: { d00: 50, d01: 50 }, mirror_traffic: {} }, deployments };
    const routes = objectsOf(source).filter((object) => object.kind === 'HTTPRoute') as any[];
    for (const route of routes) validateObject(route);
    assert.deepEqual(routes.map((route) => [route.metadata.name, route.spec.rules.length, route.spec.parentRefs[0].name]), [
      ['export-e2e', 16, 'export-e2e'],
      ['export-e2e-2', 5, 'export-e2e'],
    ]);
  });

  it('a folder with only YAML: kubectl kustomize takes a fresh export with the registry left out', { skip: kubectlSkip() }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'oep-export-'));
    try {
      const folder = renderFolder(exportKubernetes(base, { ...OPTIONS, registry: undefined }));
      for (const [name, text] of Object.entries(folder)) writeFileSync(join(dir, name), text);
      const rendered = parseAllDocuments(execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' })).map((document) => document.toJSON() as any);
      const images = rendered.filter((object) => object.kind === 'Deployment').map((object) => object.spec.template.spec.containers[0].image);
      assert.deepEqual(images, ['export-e2e-blue:g1-20250102030405', 'export-e2e-green:g1-20250102030405', 'export-e2e-shadow:g1-20250102030405']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
