import type { IssuedToken } from '../router/auth.js';
import type { ExportSource } from '../export/kubernetes.js';
import type { TrafficMap } from '../model/traffic.js';
import type { DebugSettings } from '../model/debug.js';
import type { PythonChoice } from '../model/process-interpreter.js';
import type { CompareReport, Tolerance } from '../model/compare.js';
import type { PairStats } from '../router/pairs.js';
import type { BakeResult } from '../runtimes/docker/bake.js';
import type { DeploymentSpec, EndpointSpec } from '../spec/types.js';
import type { BatchDeploymentSpec, BatchEndpointSpec } from '../spec/batch-types.js';
import type { JobInput } from '../registry/jobs.js';
import type { JobOverrides } from '../model/job-overrides.js';
import type { RuntimeChoice } from '../model/runtime-kind.js';
import type { TrafficView } from './views.js';
import type { KeeperInfo } from './keeper-protocol.js';

/**
 * The daemon's API: one entry per method, with what it takes and what it answers. The client
 * (src/daemon/client.ts) and the handlers (src/daemon/controller.ts) are both typed from this
 * table, so a method, a parameter or a result cannot drift between them.
 */
export interface DaemonApi {
  status: Method<NoParams, DaemonStatus>;
  shutdown: Method<NoParams, { stopping: boolean }>;
  /**
   * `oep daemon restart`: the keeper hands over to a new daemon (from `entry`: the calling oep's,
   * so an upgrade takes over); false when this daemon has no keeper (started by an older oep).
   */
  restart: Method<{ entry?: string }, { restarting: boolean; pid: number }>;

  'endpoint.list': Method<NoParams, EndpointListItem[]>;
  'endpoint.show': Method<{ name: string }, EndpointView>;
  'endpoint.traffic': Method<{ name: string }, TrafficView>;
  'endpoint.spec': Method<{ name: string }, EndpointSpec>;
  /** `tls` absent: the `tls` setting decides (HTTPS or HTTP). */
  'endpoint.create': Method<{ spec: EndpointSpec; tls?: boolean; local?: boolean }, EndpointView>;
  'endpoint.update': Method<EndpointUpdateParams, EndpointView>;
  /** Accepts (for --no-wait) once the endpoint is marked Deleting. */
  'endpoint.delete': Method<{ name: string; purge?: boolean }, null>;
  'endpoint.credentials': Method<{ name: string }, Credentials>;
  'endpoint.regenerateKeys': Method<{ name: string; keyType?: string }, null>;
  'endpoint.export': Method<{ name: string }, ExportSource>;
  /** The shadow comparison of the endpoint's recorded mirrored pairs (`oep traffic compare`). */
  'traffic.compare': Method<TrafficCompareParams, TrafficCompareResult>;
  /** The dashboard's URL (with the daemon's token), of one endpoint's page when named. */
  'dashboard.url': Method<{ endpoint?: string }, { url: string }>;

  'deployment.list': Method<{ endpoint: string }, DeploymentView[]>;
  'deployment.show': Method<{ endpoint: string; name: string }, DeploymentView>;
  'deployment.spec': Method<{ endpoint: string; name: string }, DeploymentSpec>;
  /** Accepts (for --no-wait) with the recorded deployment's view; answers once it is ready. */
  'deployment.create': Method<DeploymentApplyParams, DeploymentView>;
  'deployment.update': Method<DeploymentApplyParams, DeploymentView>;
  'deployment.delete': Method<{ endpoint: string; name: string; purge?: boolean }, null>;
  'deployment.build': Method<{ endpoint: string; name: string; tag: string; push?: boolean; bake_env?: boolean }, BakeResult>;
  /** The log's last lines; with `follow`, new lines arrive as log frames until the caller leaves. */
  'deployment.logs': Method<DeploymentLogsParams, string | null>;

  /** Batch endpoints and deployments (docs/batch.md): records until a job runs them; every change is immediate. */
  'batchEndpoint.list': Method<NoParams, BatchEndpointView[]>;
  'batchEndpoint.show': Method<{ name: string }, BatchEndpointView>;
  'batchEndpoint.spec': Method<{ name: string }, BatchEndpointSpec>;
  'batchEndpoint.create': Method<{ spec: BatchEndpointSpec }, BatchEndpointView>;
  /** The whole new spec (the CLI applies the file, --set and --defaults to it); defaults.deployment_name must name a deployment it has. */
  'batchEndpoint.update': Method<{ spec: BatchEndpointSpec }, BatchEndpointView>;
  /** Deletes the endpoint and its deployments. */
  'batchEndpoint.delete': Method<{ name: string }, null>;
  'batchDeployment.list': Method<{ endpoint: string }, BatchDeploymentView[]>;
  'batchDeployment.show': Method<{ endpoint: string; name: string }, BatchDeploymentView>;
  'batchDeployment.spec': Method<{ endpoint: string; name: string }, BatchDeploymentSpec>;
  /** `setDefault`: --set-default; the endpoint's first deployment becomes its default anyway. */
  'batchDeployment.create': Method<{ spec: BatchDeploymentSpec; setDefault?: boolean }, BatchDeploymentView>;
  'batchDeployment.update': Method<{ spec: BatchDeploymentSpec; setDefault?: boolean }, BatchDeploymentView>;
  'batchDeployment.delete': Method<{ endpoint: string; name: string }, null>;
  /** Starts a job on the deployment named (or the endpoint's default) and returns it Queued, at once. */
  'batchEndpoint.invoke': Method<BatchInvokeParams, BatchJobView>;
  'job.show': Method<{ name: string }, BatchJobView>;
  /** Newest first; only those of an endpoint (and deployment) when named. */
  'job.list': Method<{ endpoint?: string; deployment?: string }, BatchJobView[]>;
  'job.cancel': Method<{ name: string }, null>;
}

interface Method<Params, Result> {
  params: Params;
  result: Result;
}

export type NoParams = Record<string, never>;
export type MethodName = keyof DaemonApi;
export type ParamsOf<M extends MethodName> = DaemonApi[M]['params'];
export type ResultOf<M extends MethodName> = DaemonApi[M]['result'];

export interface DaemonStatus {
  pid: number;
  version: string;
  home: string;
  socket: string;
  endpoints: number;
  metrics_url: string | null;
  /** Ports that cannot be bound, deployments that cannot start: one sentence each. */
  problems: string[];
  /** The daemon's own file (an upgrade changes it). */
  entry: string;
  /** The process that restarts this daemon when it dies and holds the endpoints' ports; null: none. */
  keeper: (KeeperInfo & { connected: boolean }) | null;
}

/** What `endpoint show` prints: Azure's fields with local URLs (views.ts). */
export type EndpointView = Record<string, unknown>;
/** The few fields `endpoint list` shows per endpoint. */
export type EndpointListItem = Record<string, unknown>;
/** What `deployment show` prints: the spec as loaded, state, runtime and live replicas (views.ts). */
export type DeploymentView = Record<string, unknown>;

export interface BatchInvokeParams {
  endpoint: string;
  deployment?: string;
  /** A local path, absolute (the CLI resolves a data asset to its snapshot). */
  input: JobInput;
  jobName?: string;
  experimentName?: string;
  miniBatchSize?: number;
  instanceCount?: number;
  /** --set: the deployment settings this job changes. */
  overrides?: JobOverrides;
  /** --output-path as given (the output stays in the job's folder; recorded and shown). */
  outputPath?: string;
  /** Where the job's workers run; absent or auto: the `runtime` setting, as for online deployments. */
  runtime?: RuntimeChoice;
}

/** What `job show` prints (batch-job-views.ts). */
export type BatchJobView = Record<string, unknown>;

/** What `batch-endpoint show` prints (batch-views.ts). */
export type BatchEndpointView = Record<string, unknown>;
/** What `batch-deployment show` prints: the stored spec with its id and state (batch-views.ts). */
export type BatchDeploymentView = Record<string, unknown>;

/** Key endpoints: both keys; aml_token endpoints: a fresh token; aad_token endpoints: the developer's Entra-shaped token. */
export type Credentials = { primaryKey: string; secondaryKey: string } | IssuedToken | AadCredentials;

/** `get-credentials` of an aad_token endpoint, as az prints it: the token and its expiry (epoch seconds). */
export interface AadCredentials {
  accessToken: string;
  expiryTimeUtc: number;
}

export interface EndpointUpdateParams {
  name: string;
  spec?: EndpointSpec;
  traffic?: TrafficMap;
  mirror?: TrafficMap;
  /** The file did not name `traffic` (or `mirror_traffic`): keep the current allocation. */
  keepTraffic?: boolean;
  keepMirror?: boolean;
  /** --tls on|off: the listener is made again on the same port with that protocol; absent: unchanged. */
  tls?: boolean;
}

export interface DeploymentApplyParams {
  spec: DeploymentSpec;
  allTraffic?: boolean;
  /** docker, process or auto (the default runtime); checked by the daemon. */
  runtime?: string;
  pull?: boolean;
  gpu?: boolean;
  /** --debug: one replica under debugpy; absent: not debugged (an update without --debug ends it). */
  debug?: DebugSettings;
  /** The process runtime's interpreter as the command resolved it (absent with --runtime docker); recorded on the process runtime only. */
  python?: PythonChoice;
}

export interface TrafficCompareParams {
  name: string;
  /** Only pairs recorded in the last this many milliseconds. */
  sinceMs?: number;
  tolerance?: Tolerance;
}

export type TrafficCompareResult = CompareReport & { recording: PairStats };

export interface DeploymentLogsParams {
  endpoint: string;
  name: string;
  lines?: number;
  follow?: boolean;
  container?: string;
  replica?: number;
}
