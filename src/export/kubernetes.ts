import { createHash } from 'node:crypto';
import { isSecretReferenceValue, referenceValueCommand } from '../model/secret-references.js';
import type { DeploymentSpec, EndpointSpec, Probe, ResourceQuantities } from '../spec/types.js';
import type { EndpointRecord } from '../state/types.js';
import { imagePlan, type ImageRoutes } from './image.js';
import { instanceSize, sizeQuantities } from './instance-types.js';
import { deploymentObjectNames, kubernetesName } from './names.js';

/** What an export reads: an endpoint, its keys, and its deployments (by name). */
export interface ExportSource {
  endpoint: EndpointSpec;
  keys: { primary: string; secondary: string };
  deployments: ExportDeployment[];
}

export interface ExportDeployment {
  spec: DeploymentSpec;
  /** Bumped by every create and update; part of the image tag, with updated_at. */
  generation: number;
  updated_at: string;
}

/** The part of an endpoint record an export needs (no token secret, no runtime state). */
export function exportSourceOf(record: EndpointRecord): ExportSource {
  return {
    endpoint: record.spec,
    keys: { primary: record.keys.primary, secondary: record.keys.secondary },
    deployments: Object.keys(record.deployments)
      .sort()
      .map((name) => {
        const deployment = record.deployments[name]!;
        return { spec: deployment.spec, generation: deployment.generation, updated_at: deployment.updated_at };
      }),
  };
}

/** Whose key-auth policy the export emits (key auth is not part of core Gateway API). */
export const AUTH_POLICIES = ['envoy-gateway', 'none'] as const;
export type AuthPolicy = (typeof AUTH_POLICIES)[number];

export interface KubernetesExportOptions {
  /** Registry (and path) the images are pushed to, e.g. myacr.azurecr.io; none: local names. */
  registry?: string;
  /** The GatewayClass of the Gateway. */
  gatewayClass: string;
  authPolicy: AuthPolicy;
}

/** A Kubernetes object as plain data. */
export type KubernetesObject = { apiVersion: string; kind: string; metadata: { name: string } & Record<string, unknown> } & Record<string, unknown>;

export interface ExportFile {
  name: string;
  /** Comment lines at the top of the file (without "# "). */
  comment: string[];
  objects: KubernetesObject[];
}

export interface ExportedImage {
  deployment: string;
  image: string;
}

export interface KubernetesExport {
  endpoint: string;
  /** The resource files, in the order kustomization.yaml lists them. */
  files: ExportFile[];
  kustomization: Record<string, unknown>;
  /** The image each deployment's pods run: what `oep deployment build --tag ... --push` must make. */
  images: ExportedImage[];
  /** The commands that build (and push) those images. */
  buildCommands: string[];
  /** Settings with no Kubernetes equivalent, and what the export did instead, one line each. */
  warnings: string[];
}

/**
 * The pin header (docs/contract.md section 6): a request carrying it goes to that deployment
 * only.
 */
export const PIN_HEADER = 'azureml-model-deployment';
/** The endpoint paths the local router answers: the scoring URI and the openapi URI. */
const ENDPOINT_PATHS = ['/score', '/swagger.json'];
const SERVICE_PORT = 80;
const CONTAINER_NAME = 'inference-server';
/** Azure's `defaultinstancetype` on Kubernetes compute: what a kubernetes deployment without resources gets. */
export const DEFAULT_INSTANCE_TYPE = { requests: { cpu: '100m', memory: '2Gi' }, limits: { cpu: '2', memory: '2Gi' } };
const GATEWAY_API = 'gateway.networking.k8s.io/v1';

/**
 * An endpoint as Kubernetes objects for `kubectl apply -k`: per deployment a Deployment and a
 * Service (plus an HPA for target_utilization scaling and a NetworkPolicy for disabled egress),
 * a Secret with the endpoint's keys, a Gateway, an HTTPRoute carrying the traffic rules and the
 * key-auth policy of the chosen implementation. Pure: same input, same documents.
 */
export function exportKubernetes(source: ExportSource, options: KubernetesExportOptions): KubernetesExport {
  const { endpoint } = source;
  const warnings: string[] = [];
  const endpointName = kubernetesName(endpoint.name);
  const names = deploymentObjectNames(
    endpoint.name,
    source.deployments.map((deployment) => deployment.spec.name),
  );
  const common = { 'app.kubernetes.io/managed-by': 'oep', 'oep.endpoint': endpoint.name };
  const files: ExportFile[] = [];
  const images: ExportedImage[] = [];
  const routesOf = new Map<string, ImageRoutes>();

  if (endpoint.auth_mode !== 'key') {
    warnings.push(
      `auth_mode ${endpoint.auth_mode}: a cluster has no Azure ML token service, so the export uses key auth with the endpoint's keys (oep endpoint get-credentials shows tokens, not these keys; they are in secret.yaml).`,
    );
  }

  const secretName = kubernetesName(endpoint.name, 'keys');
  const secrets: ExportFile = {
    name: 'secret.yaml',
    comment: ["The endpoint's keys (Authorization: Bearer <key>). Keep this file out of version control."],
    objects: [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: secretName, labels: common },
        type: 'Opaque',
        stringData: { primaryKey: source.keys.primary, secondaryKey: source.keys.secondary },
      },
    ],
  };
  files.push(secrets);

  for (const deployment of source.deployments) {
    const { spec } = deployment;
    const name = names[spec.name]!;
    const labels = { ...common, 'oep.deployment': spec.name };
    const selector = { 'oep.endpoint': endpoint.name, 'oep.deployment': spec.name };
    const plan = imagePlan(spec, 'python3');
    routesOf.set(spec.name, plan.routes);
    const image = imageName(options.registry, name, deployment);
    images.push({ deployment: spec.name, image });
    const resources = resourcesOf(spec, warnings);
    if (spec.liveness_probe.success_threshold !== 1) {
      warnings.push(`deployment ${spec.name}: liveness_probe.success_threshold ${spec.liveness_probe.success_threshold} becomes 1 (Kubernetes allows no other value for liveness).`);
    }
    for (const [key, set] of [
      ['data_collector', spec.data_collector !== undefined],
      ['app_insights_enabled', spec.app_insights_enabled],
    ] as const) {
      if (set) warnings.push(`deployment ${spec.name}: ${key} has no equivalent in the export (see docs/scale-out.md); it is left out.`);
    }
    // environment_variables (passwords, connection strings...) go in a Secret, in secret.yaml
    // (0600), which the container reads them from: never in the Deployment's file.
    const runSecret = kubernetesName(name, 'env');
    // Secret references (secret injection) are resolved by oep, never exported: neither their
    // values nor the references go in a Secret; the container reads them from one the cluster's
    // owner makes (its name and a command per value in the warning).
    const references = Object.fromEntries(Object.entries(plan.runEnvironment).filter(([, value]) => isSecretReferenceValue(value)));
    const injectedSecret = kubernetesName(name, 'injected');
    const values = Object.fromEntries(Object.entries(plan.runEnvironment).filter(([envName]) => !Object.hasOwn(references, envName)));
    if (Object.keys(references).length > 0) warnings.push(injectedSecretWarning(spec.name, injectedSecret, references));
    if (Object.keys(values).length > 0) {
      if (secrets.comment.length === 1) secrets.comment = ["The endpoint's keys (Authorization: Bearer <key>), and the deployments' environment_variables. Keep this file out of version control."];
      secrets.objects.push({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: runSecret, labels },
        type: 'Opaque',
        stringData: Object.fromEntries(Object.entries(values).map(([envName, value]) => [secretKey(envName), value])),
      });
    }
    const container: Record<string, unknown> = {
      name: CONTAINER_NAME,
      image,
      ports: [{ name: 'http', containerPort: plan.routes.port, protocol: 'TCP' }],
      env: containerEnvironment(plan.environment, plan.runEnvironment, (envName) => (Object.hasOwn(references, envName) ? injectedSecret : runSecret)),
      ...(resources && { resources }),
      readinessProbe: probeOf(spec.readiness_probe, plan.routes.readiness, false),
      livenessProbe: probeOf(spec.liveness_probe, plan.routes.liveness, true),
    };
    const objects: KubernetesObject[] = [
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name, labels },
        spec: {
          replicas: spec.instance_count,
          selector: { matchLabels: selector },
          template: { metadata: { labels }, spec: { containers: [container] } },
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, labels },
        spec: { selector, ports: [{ name: 'http', port: SERVICE_PORT, targetPort: 'http', protocol: 'TCP' }] },
      },
    ];
    if (spec.scale_settings.type === 'target_utilization') {
      const scale = spec.scale_settings;
      objects.push({
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name, labels },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
          minReplicas: scale.min_instances,
          maxReplicas: scale.max_instances,
          metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: scale.target_utilization_percentage } } }],
        },
      });
    }
    if (spec.egress_public_network_access === 'disabled') {
      objects.push({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: kubernetesName(name, 'no-egress'), labels },
        // No egress rule at all: the pods reach nothing outside, as egress_public_network_access: disabled.
        spec: { podSelector: { matchLabels: selector }, policyTypes: ['Egress'] },
      });
    }
    files.push({ name: `${name}.yaml`, comment: [`Deployment ${spec.name} of endpoint ${endpoint.name}.`], objects });
  }

  files.push({
    name: 'gateway.yaml',
    comment: [`The front door of endpoint ${endpoint.name} (GatewayClass ${options.gatewayClass}).`],
    objects: [
      {
        apiVersion: GATEWAY_API,
        kind: 'Gateway',
        metadata: { name: endpointName, labels: common },
        spec: {
          gatewayClassName: options.gatewayClass,
          listeners: [{ name: 'http', protocol: 'HTTP', port: 80, allowedRoutes: { namespaces: { from: 'Same' } } }],
        },
      },
    ],
  });
  const routes = httpRoutes(source, endpointName, names, routesOf, common, warnings);
  // No deployments, no rules: the Gateway answers 404 to everything until the next export.
  if (routes.length > 0) {
    files.push({
      name: 'httproute.yaml',
      comment: [`Traffic of endpoint ${endpoint.name}: the weighted split and the mirror, then one rule per deployment for the ${PIN_HEADER} header.`],
      objects: routes,
    });
  }
  if (options.authPolicy === 'envoy-gateway') {
    files.push({
      name: 'securitypolicy.yaml',
      comment: ["Key auth with Envoy Gateway's SecurityPolicy (API keys from secret.yaml, sent as Authorization: Bearer <key>).", 'Another Gateway implementation: see docs/scale-out.md.'],
      objects: [
        {
          apiVersion: 'gateway.envoyproxy.io/v1alpha1',
          kind: 'SecurityPolicy',
          metadata: { name: kubernetesName(endpoint.name, 'key-auth'), labels: common },
          spec: {
            // The Gateway is the endpoint's own: every route through it needs a key.
            targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: endpointName }],
            apiKeyAuth: {
              credentialRefs: [{ group: '', kind: 'Secret', name: secretName }],
              extractFrom: [{ headers: ['Authorization'] }],
            },
          },
        },
      ],
    });
  } else {
    warnings.push('--auth-policy none: nothing checks keys in front of the endpoint; add your Gateway implementation\'s policy (docs/scale-out.md).');
  }

  return {
    endpoint: endpoint.name,
    files,
    kustomization: {
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      resources: files.map((file) => file.name),
    },
    images,
    buildCommands: images.map(({ deployment, image }) => `oep deployment build -n ${deployment} -e ${endpoint.name} --tag ${image}${options.registry ? ' --push' : ''}`),
    warnings,
  };
}

/**
 * `<registry>/<endpoint>-<deployment>:g<generation>-<updated_at>`: each create or update of the
 * deployment gives a new tag, so pods roll to the new image and never run a stale one.
 */
function imageName(registry: string | undefined, name: string, deployment: ExportDeployment): string {
  const stamp = deployment.updated_at.replace(/\.\d+/, '').replace(/[^0-9]/g, '');
  const repository = registry ? `${registry.replace(/\/+$/, '')}/${name}` : name;
  return `${repository}:g${deployment.generation}-${stamp}`;
}

/**
 * The container's `env`: the layout's variables as values, then the deployment's
 * environment_variables from its Secret (`secretKeyRef`), which take the place of a layout
 * variable of the same name, as they override it under oep.
 */
function containerEnvironment(environment: Record<string, string>, runEnvironment: Record<string, string>, secretOf: (envName: string) => string): Record<string, unknown>[] {
  return [
    ...Object.entries(environment)
      .filter(([envName]) => !Object.hasOwn(runEnvironment, envName))
      .map(([envName, value]) => ({ name: envName, value })),
    ...Object.keys(runEnvironment).map((envName) => ({ name: envName, valueFrom: { secretKeyRef: { name: secretOf(envName), key: secretKey(envName) } } })),
  ];
}

/**
 * What to do about a deployment's secret references: the Secret to make before `kubectl apply`
 * (the pods wait for it), with the oep command that prints each value.
 */
function injectedSecretWarning(deployment: string, secret: string, references: Record<string, string>): string {
  const literals = Object.entries(references).map(([envName, written]) => {
    const command = referenceValueCommand(written);
    return `--from-literal=${secretKey(envName)}="${command ? `$(${command})` : `<${written.trim()}>`}"`;
  });
  return (
    `deployment ${deployment}: ${Object.keys(references).join(', ')} are secret references (secret injection): oep resolves them and never exports their values; ` +
    `create the Secret ${secret} before applying (its pods wait for it): kubectl create secret generic ${secret} ${literals.join(' ')}`
  );
}

/** A Secret's keys are `[-._a-zA-Z0-9]+`: a variable's name when it is one, else one made from it. */
function secretKey(envName: string): string {
  if (/^[-._a-zA-Z0-9]{1,253}$/.test(envName)) return envName;
  return `env-${createHash('sha256').update(envName).digest('hex').slice(0, 16)}`;
}

function probeOf(probe: Probe, path: string, liveness: boolean): Record<string, unknown> {
  return {
    httpGet: { path, port: 'http' },
    initialDelaySeconds: probe.initial_delay,
    periodSeconds: probe.period,
    timeoutSeconds: probe.timeout,
    successThreshold: liveness ? 1 : probe.success_threshold,
    failureThreshold: probe.failure_threshold,
  };
}

/**
 * kubernetes deployments: their `resources`, else Azure's default instance type. Managed
 * deployments: one instance of their instance_type (docs/scale-out.md has the table).
 */
function resourcesOf(spec: DeploymentSpec, warnings: string[]): Record<string, Record<string, string>> | undefined {
  if (spec.type === 'kubernetes') {
    if (spec.resources && (spec.resources.requests || spec.resources.limits)) {
      return {
        ...(spec.resources.requests && { requests: quantities(spec.resources.requests) }),
        ...(spec.resources.limits && { limits: quantities(spec.resources.limits) }),
      };
    }
    return { requests: { ...DEFAULT_INSTANCE_TYPE.requests }, limits: { ...DEFAULT_INSTANCE_TYPE.limits } };
  }
  if (!spec.instance_type) return undefined;
  const size = instanceSize(spec.instance_type);
  if (!size) {
    warnings.push(`deployment ${spec.name}: instance_type ${spec.instance_type} is not in oep's table (docs/scale-out.md), so its pods have no resource requests; add them to the Deployment.`);
    return undefined;
  }
  const amounts = sizeQuantities(size);
  return { requests: { ...amounts }, limits: { ...amounts } };
}

function quantities(given: ResourceQuantities): Record<string, string> {
  return Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined).map(([key, value]) => [key, String(value)]));
}

/** Gateway API durations: whole seconds as "5s", else milliseconds ("1500ms"). */
export function gatewayDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** Gateway API allows 16 rules per HTTPRoute: more deployments spill into further routes on the same Gateway. */
const MAX_RULES = 16;

function httpRoutes(
  source: ExportSource,
  name: string,
  names: Record<string, string>,
  routes: Map<string, ImageRoutes>,
  labels: Record<string, string>,
  warnings: string[],
): KubernetesObject[] {
  const { endpoint } = source;
  const specs = new Map(source.deployments.map((deployment) => [deployment.spec.name, deployment.spec]));
  const backend = (deployment: string, weight?: number): Record<string, unknown> => {
    const ref: Record<string, unknown> = { name: names[deployment]!, port: SERVICE_PORT, ...(weight !== undefined && { weight }) };
    const scoring = routes.get(deployment)!.scoring;
    // A custom container scores on its own path: /score is rewritten to it on the way in.
    if (scoring !== '/score') ref.filters = [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplaceFullPath', replaceFullPath: scoring } } }];
    return ref;
  };
  // A custom container's rewrite would turn /swagger.json into a scoring request: its rules match /score only.
  const paths = (deployments: string[]): string[] => (deployments.some((deployment) => routes.get(deployment)!.scoring !== '/score') ? ['/score'] : ENDPOINT_PATHS);
  const timeout = (deployments: string[]): string => gatewayDuration(Math.max(...deployments.map((deployment) => specs.get(deployment)!.request_settings.request_timeout_ms)));

  const rules: Record<string, unknown>[] = [];
  for (const deployment of source.deployments.map((item) => item.spec.name)) {
    rules.push({
      matches: paths([deployment]).map((path) => ({
        path: { type: 'Exact', value: path },
        headers: [{ type: 'Exact', name: PIN_HEADER, value: deployment }],
      })),
      backendRefs: [backend(deployment)],
      timeouts: { request: timeout([deployment]) },
    });
  }
  const live = Object.keys(endpoint.traffic)
    .filter((deployment) => (endpoint.traffic[deployment] ?? 0) > 0 && specs.has(deployment))
    .sort();
  if (live.length === 0) {
    warnings.push(`endpoint ${endpoint.name} has no live traffic: requests without the ${PIN_HEADER} header match no rule and get 404 from the gateway, as on Azure.`);
    return routeObjects(name, labels, rules);
  }
  const filters: Record<string, unknown>[] = [];
  const mirrored = Object.entries(endpoint.mirror_traffic).filter(([deployment, percent]) => percent > 0 && specs.has(deployment));
  if (mirrored.length > 0 && endpoint.kind === 'kubernetes') {
    warnings.push(`endpoint ${endpoint.name} is a kubernetes endpoint: mirror_traffic is not exported (Azure mirrors managed endpoints only).`);
  } else {
    for (const [deployment, percent] of mirrored) {
      filters.push({ type: 'RequestMirror', requestMirror: { backendRef: { name: names[deployment]!, port: SERVICE_PORT }, percent } });
    }
  }
  rules.unshift({
    matches: paths(live).map((path) => ({ path: { type: 'Exact', value: path } })),
    ...(filters.length > 0 && { filters }),
    backendRefs: live.map((deployment) => backend(deployment, endpoint.traffic[deployment]!)),
    // One timeout per rule: the longest of the deployments the rule splits between.
    timeouts: { request: timeout(live) },
  });
  return routeObjects(name, labels, rules);
}

/** The rules in HTTPRoutes of at most MAX_RULES each: `<endpoint>`, then `<endpoint>-2`, ... */
function routeObjects(gateway: string, labels: Record<string, string>, rules: Record<string, unknown>[]): KubernetesObject[] {
  const routes: KubernetesObject[] = [];
  for (let start = 0; start < rules.length; start += MAX_RULES) {
    const index = start / MAX_RULES;
    routes.push({
      apiVersion: GATEWAY_API,
      kind: 'HTTPRoute',
      metadata: { name: index === 0 ? gateway : kubernetesName(gateway, String(index + 1)), labels },
      spec: { parentRefs: [{ name: gateway }], rules: rules.slice(start, start + MAX_RULES) },
    });
  }
  return routes;
}
