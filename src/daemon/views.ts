import type { EndpointRecord, DeploymentRecord } from '../state/types.js';
import type { LiveReplica } from '../supervisor/supervisor.js';

/** What `endpoint show` prints: Azure's fields, with local URLs. */
export function endpointView(record: EndpointRecord): Record<string, unknown> {
  const { spec } = record;
  const base = `http://127.0.0.1:${record.port}`;
  const traffic: Record<string, number> = {};
  for (const name of Object.keys(record.deployments).sort()) traffic[name] = spec.traffic[name] ?? 0;
  const view: Record<string, unknown> = {
    auth_mode: spec.auth_mode,
    description: spec.description ?? null,
    id: `/oep/local/onlineEndpoints/${spec.name}`,
    kind: spec.kind === 'kubernetes' ? 'K8S' : 'Managed',
    location: 'local',
    mirror_traffic: { ...spec.mirror_traffic },
    name: spec.name,
    openapi_uri: `${base}/swagger.json`,
    properties: spec.properties ?? {},
    provisioning_state: record.provisioning_state,
    public_network_access: spec.public_network_access,
    scoring_uri: `${base}/score`,
    tags: spec.tags ?? {},
    traffic,
  };
  if (spec.compute) view.compute = spec.compute;
  if (spec.identity) view.identity = spec.identity;
  return view;
}

/** The fields `endpoint list` shows per item, as az does. */
export function endpointListItem(record: EndpointRecord): Record<string, unknown> {
  const view = endpointView(record);
  const traffic = Object.fromEntries(Object.entries(record.spec.traffic).filter(([, percent]) => (percent as number) > 0));
  return {
    kind: view.kind,
    location: view.location,
    mirror_traffic: view.mirror_traffic,
    name: view.name,
    provisioning_state: view.provisioning_state,
    tags: view.tags,
    traffic,
  };
}

/** What `deployment show` prints: the spec as loaded, plus state and the runtime in use. */
export function deploymentView(record: DeploymentRecord, replicas: readonly LiveReplica[], problem?: string): Record<string, unknown> {
  const view: Record<string, unknown> = {
    ...record.spec,
    provisioning_state: record.provisioning_state,
    runtime: record.runtime,
    replicas: replicas.map((replica) => ({ id: replica.id, origin: replica.origin, pid: replica.pid ?? null, ready: replica.ready, inflight: replica.inflight })),
  };
  if (record.failure) view.failure = record.failure;
  if (problem) view.problem = problem;
  return view;
}

export function deploymentListItem(record: DeploymentRecord): Record<string, unknown> {
  const { spec } = record;
  return {
    endpoint_name: spec.endpoint_name,
    instance_type: spec.instance_type ?? null,
    model: typeof spec.model === 'object' ? spec.model.path : spec.model ?? null,
    name: spec.name,
    provisioning_state: record.provisioning_state,
    type: spec.type === 'kubernetes' ? 'Kubernetes' : 'Managed',
  };
}
