import { join } from 'node:path';
import type { EndpointRecord, DeploymentRecord } from '../state/types.js';
import type { DeploymentRoute, DeploymentTrafficStats, EndpointRoute } from '../router/router.js';
import type { LiveReplica } from '../supervisor/reconciler.js';
import { deploymentProperties, endpointProperties, onlineDeploymentResourceId, onlineEndpointResourceId } from '../model/arm-id.js';
import { initialReplicas, maxReplicas, targetUtilizationOf } from '../model/autoscale.js';
import { collectsData, payloadLoggingOf } from '../model/data-collection.js';
import { attachConfiguration, DEBUG_HOST, type DebugView } from '../model/debug.js';
import { identityView } from '../model/identity.js';
import { computeLayout } from '../model/layout.js';
import { scoringPlan } from '../model/scoring-plan.js';
import { dataCollectorDir, deploymentRunDir, PACKAGE_ROOT, type OepPaths } from '../state/paths.js';
import type { KeyPair } from '../tls/certificates.js';
import { localTraffic } from '../model/local-endpoint.js';

/**
 * What the views read from the daemon's home, passed in so the views stay pure: the home's
 * folders, the secrets derived from it and the certificates of its local CA
 * (src/daemon/view-sources.ts makes the daemon's own).
 */
export interface ViewSources {
  paths: OepPaths;
  /** The secret oep's scoring server checks on every request the router sends a replica. */
  replicaSecret: (endpoint: string, deployment: string) => string;
  /** An HTTPS endpoint's certificate (made once by the local CA, renewed near its end). */
  certificate: (endpoint: string) => KeyPair;
  /** Who created endpoints, for their `createdBy` property: the daemon runs as the home's user. */
  userName: string;
}

/** The endpoint's stable local URL (its router listener): https when the endpoint has TLS on. */
function endpointOrigin(record: EndpointRecord): string {
  return `${record.tls ? 'https' : 'http'}://127.0.0.1:${record.port}`;
}

/** What `endpoint show` prints: Azure's fields, with local URLs. */
export function endpointView(record: EndpointRecord, sources: Pick<ViewSources, 'userName'>): Record<string, unknown> {
  const { spec } = record;
  const base = endpointOrigin(record);
  const traffic: Record<string, number> = {};
  // --local: all traffic goes to the one deployment, whatever was set (model/local-endpoint.ts).
  const routed = record.local ? localTraffic(Object.keys(record.deployments)) : spec.traffic;
  for (const name of Object.keys(record.deployments).sort()) traffic[name] = routed[name] ?? 0;
  const view: Record<string, unknown> = {
    auth_mode: spec.auth_mode,
    description: spec.description ?? null,
    id: onlineEndpointResourceId(spec.name),
    kind: spec.kind === 'kubernetes' ? 'K8S' : 'Managed',
    location: 'local',
    mirror_traffic: { ...spec.mirror_traffic },
    name: spec.name,
    openapi_uri: `${base}/swagger.json`,
    properties: endpointProperties(spec.properties, { endpoint: spec.name, createdAt: record.created_at, lastModifiedAt: record.updated_at, createdBy: sources.userName }),
    provisioning_state: record.provisioning_state,
    public_network_access: spec.public_network_access,
    scoring_uri: `${base}/score`,
    tags: spec.tags ?? {},
    traffic,
  };
  if (spec.compute) view.compute = spec.compute;
  if (record.local) view.local = true;
  // Older state (before identities) has none until the daemon's start fills it in.
  if (record.identity) view.identity = identityView(record.identity);
  return view;
}

/** The fields `endpoint list` shows per item, as az does. */
export function endpointListItem(record: EndpointRecord, sources: Pick<ViewSources, 'userName'>): Record<string, unknown> {
  const view = endpointView(record, sources);
  const traffic = Object.fromEntries(Object.entries(record.spec.traffic).filter(([, percent]) => (percent as number) > 0));
  return {
    kind: view.kind,
    location: view.location,
    mirror_traffic: view.mirror_traffic,
    name: view.name,
    provisioning_state: view.provisioning_state,
    scoring_uri: view.scoring_uri,
    tags: view.tags,
    traffic,
  };
}

/** What the daemon knows live about a deployment, beyond its record. */
export interface DeploymentLive {
  replicas: readonly LiveReplica[];
  /** Why it should run but has no ready replica (e.g. no Docker engine yet). */
  problem?: string;
  /** How many replicas its configuration runs now (differs from instance_count when autoscaled). */
  replicaCount?: number;
  /** Requests a replica is answering now (the router's count). */
  inflightOf?: (replica: LiveReplica) => number;
}

/** What `deployment show` prints: the spec as loaded, plus state and the runtime in use. */
export function deploymentView(record: DeploymentRecord, live: DeploymentLive, paths: OepPaths): Record<string, unknown> {
  const view: Record<string, unknown> = {
    ...record.spec,
    id: onlineDeploymentResourceId(record.spec.endpoint_name, record.spec.name),
    properties: deploymentProperties(record.spec.properties),
    provisioning_state: record.provisioning_state,
    runtime: record.runtime,
    // Process runtime: the interpreter its replicas run (recorded by the last create or update).
    ...(record.python && { python: record.python.path }),
    replicas: live.replicas.map((replica) => ({ id: replica.id, origin: replica.origin, pid: replica.pid ?? null, ready: replica.ready, inflight: live.inflightOf?.(replica) ?? 0 })),
  };
  if (record.failure) view.failure = record.failure;
  if (live.problem) view.problem = live.problem;
  // Autoscaled (target_utilization): how many replicas run now, between min_instances and max_instances.
  if (targetUtilizationOf(record.spec)) view.current_instance_count = live.replicaCount ?? initialReplicas(record.spec);
  if (collectsData(record.spec)) view.data_collector_folder = dataCollectorDir(paths, record.spec.endpoint_name, record.spec.name);
  if (record.debug) view.debug = debugView(record, paths);
  return view;
}

/** --debug: where debugpy listens, and the attach configuration a debugger needs. */
export function debugView(record: DeploymentRecord, paths: OepPaths): DebugView | undefined {
  if (!record.debug) return undefined;
  const { spec } = record;
  const model = computeLayout(spec).model;
  const runDir = deploymentRunDir(paths, spec.endpoint_name, spec.name);
  return {
    host: DEBUG_HOST,
    port: record.debug.port,
    wait: record.debug.wait,
    access: record.debug.open === undefined ? 'user' : 'open',
    ...(record.debug.open !== undefined && { open_reason: record.debug.open }),
    attach: attachConfiguration(spec, record.runtime, record.debug, {
      serverDir: join(PACKAGE_ROOT, 'server'),
      // The process runtime's link tree (src/runtimes/process/process-runtime.ts).
      ...(model && { processModelDir: join(runDir, 'azureml-models', model.name, model.version) }),
    }),
  };
}

export interface TrafficRow {
  name: string;
  traffic: number;
  mirror_traffic: number;
  provisioning_state: string;
  ready_replicas: number;
  instance_count: number;
  requests: number;
  mirrored: number;
  inflight: number;
  /** Why the deployment has no replicas although it should run (e.g. no Docker engine yet), or null. */
  problem: string | null;
}

/** What `traffic show` draws (and `invoke` reads): the allocation with live counts and problems. */
export interface TrafficView {
  endpoint: string;
  scoring_uri: string;
  /** Why the endpoint's URL does not answer (its port is held by another program), or null. */
  problem: string | null;
  traffic: Record<string, number>;
  mirror_traffic: Record<string, number>;
  deployments: TrafficRow[];
}

/** What the daemon knows live about an endpoint, beyond its record. */
export interface TrafficLive {
  stats: Record<string, DeploymentTrafficStats>;
  replicas: (deployment: string) => readonly LiveReplica[];
  /** How many replicas a deployment runs now, when the daemon decides (autoscaling). */
  replicaCount?: (deployment: string) => number | undefined;
  listenProblem?: string;
  deploymentProblem: (deployment: string) => string | undefined;
}

export function trafficView(record: EndpointRecord, live: TrafficLive): TrafficView {
  const { spec } = record;
  return {
    endpoint: spec.name,
    scoring_uri: `${endpointOrigin(record)}/score`,
    problem: live.listenProblem ?? null,
    traffic: spec.traffic,
    mirror_traffic: spec.mirror_traffic,
    deployments: Object.keys(record.deployments)
      .sort()
      .map((name) => {
        const stats = live.stats[name];
        return {
          name,
          traffic: spec.traffic[name] ?? 0,
          mirror_traffic: spec.mirror_traffic[name] ?? 0,
          provisioning_state: record.deployments[name]!.provisioning_state,
          ready_replicas: live.replicas(name).filter((replica) => replica.ready).length,
          instance_count: live.replicaCount?.(name) ?? record.deployments[name]!.spec.instance_count,
          requests: stats?.requests ?? 0,
          mirrored: stats?.mirrored ?? 0,
          inflight: stats?.inflight ?? 0,
          problem: live.deploymentProblem(name) ?? null,
        };
      }),
  };
}

/** The entries of a map keyed by deployment name whose deployment is not being deleted. */
function withoutDeleting<T>(byDeployment: Record<string, T>, record: EndpointRecord): Record<string, T> {
  return Object.fromEntries(Object.entries(byDeployment).filter(([name]) => record.deployments[name]?.provisioning_state !== 'Deleting'));
}

/** The router's view of an endpoint record. */
export function routeOf(record: EndpointRecord, sources: Omit<ViewSources, 'userName'>): EndpointRoute {
  return {
    name: record.spec.name,
    port: record.port,
    // --local: no auth and all traffic to the one deployment, as Azure's local endpoints (model/local-endpoint.ts).
    authMode: record.local ? 'none' : record.spec.auth_mode,
    kind: record.spec.kind,
    keys: record.keys,
    tokenSecret: record.token_secret,
    traffic: record.local ? localTraffic(Object.keys(withoutDeleting(record.deployments, record))) : record.spec.traffic,
    mirror: record.local ? {} : withoutDeleting(record.spec.mirror_traffic, record),
    // HTTPS: the certificate on disk, or a new one from the local CA (made once, renewed near its end).
    ...(record.tls && { tls: sources.certificate(record.spec.name) }),
    // A deployment being deleted gets no request (a pinned one is answered as for an unknown deployment).
    deployments: Object.fromEntries(
      Object.entries(withoutDeleting(record.deployments, record)).map(([name, deployment]) => {
        const dataCollector = collectsData(deployment.spec) ? payloadLoggingOf(deployment.spec, dataCollectorDir(sources.paths, record.spec.name, name)) : undefined;
        const route: DeploymentRoute = {
          requestTimeoutMs: deployment.spec.request_settings.request_timeout_ms,
          // --debug: a request may sit at a breakpoint; the router gives it no deadline.
          ...(deployment.debug && { debugging: true }),
          maxConcurrentPerInstance: deployment.spec.request_settings.max_concurrent_requests_per_instance,
          // Autoscaled deployments may grow to max_instances: the 429 limit counts those.
          instanceCount: maxReplicas(deployment.spec),
          ...(dataCollector && { dataCollector }),
          // oep's server checks it; a custom container runs the user's own server, which cannot.
          ...(scoringPlan(deployment.spec).kind !== 'container' && { replicaSecret: sources.replicaSecret(record.spec.name, name) }),
        };
        return [name, route];
      }),
    ),
  };
}
